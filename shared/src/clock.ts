/**
 * The time source both deployables inject (the edge's heartbeat expiry and rate limits, the
 * origin's signature skew, deadlines and usage timestamps), so tests can move time without
 * sleeping. One definition here keeps the two sides from drifting apart.
 */

/** Time source; injected so time-dependent behaviour is testable without sleeping. */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}
