/**
 * A per-replica circuit breaker (DESIGN §5). Closed: requests flow, and `failureThreshold`
 * consecutive failures open it. Open: no request goes to the replica for a cooldown. Then
 * half-open: exactly one request (the probe) goes through; its success closes the circuit, its
 * failure opens it again for twice the previous cooldown (capped at `maxCooldownMs`).
 *
 * A failure is what says the replica cannot serve (a connection error, a 5xx, a 503 without retry-after)
 * before the first byte; a client's 4xx is an answer, so a success here, and our own abort (client
 * gone, deadline) is neither. The state lives in this edge's memory, one breaker per process on
 * Node and per isolate on Workers: each isolate learns about a failing replica on its own, with
 * no store round trip on the request path. Only replicas with recent failures take memory: a
 * closed circuit without failures is no entry, and entries untouched for `forgetAfterMs` go.
 */

export const CIRCUIT_STATES = ['closed', 'open', 'half-open'] as const;
export type CircuitState = (typeof CIRCUIT_STATES)[number];

export interface CircuitBreakerOptions {
  /** Consecutive failures that open a closed circuit (default 5). */
  failureThreshold?: number;
  /** How long a circuit stays open the first time (default 5 s). */
  cooldownMs?: number;
  /** Cap of the cooldown, which doubles on every failed probe (default 60 s). */
  maxCooldownMs?: number;
  /** A probe unanswered this long no longer holds the half-open slot (default 30 s). */
  probeTimeoutMs?: number;
  /** Entries untouched this long are forgotten; at least `maxCooldownMs` (default 10 min). */
  forgetAfterMs?: number;
  /** At most this many replicas are remembered, the least recently touched go first (default 10 000). */
  maxEntries?: number;
}

/** The right to send one request to a replica; settle it once (later calls are ignored). */
export interface CircuitPermit {
  success(): void;
  failure(): void;
  /** No verdict (our own abort): a probe gives its slot back, the circuit is unchanged. */
  release(): void;
}

export interface CircuitBreaker {
  state(replicaId: string): CircuitState;
  /** Ms until the circuit lets a request through; 0 when it would now. */
  waitMs(replicaId: string): number;
  /** A permit when a request may go to the replica now; undefined when its circuit holds it back. */
  acquire(replicaId: string): CircuitPermit | undefined;
}

interface Circuit {
  failures: number;
  /** Set while open or half-open: when the cooldown ends. */
  openUntil?: number;
  cooldownMs: number;
  /** The outstanding probe's number and start, if one is out. */
  probe?: { seq: number; startedAt: number };
  touchedAt: number;
}

const DEFAULTS = {
  failureThreshold: 5,
  cooldownMs: 5000,
  maxCooldownMs: 60_000,
  probeTimeoutMs: 30_000,
  forgetAfterMs: 600_000,
  maxEntries: 10_000,
} satisfies Required<CircuitBreakerOptions>;

/** Create a breaker on the clock `now` (epoch ms); throws on invalid options. */
export function circuitBreaker(opts: CircuitBreakerOptions, now: () => number): CircuitBreaker {
  const o = { ...DEFAULTS, ...opts };
  for (const [k, v] of Object.entries(o)) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`circuitBreaker: ${k} must be a positive integer`);
  }
  if (o.maxCooldownMs < o.cooldownMs) throw new Error('circuitBreaker: maxCooldownMs must be at least cooldownMs');
  if (o.forgetAfterMs < o.maxCooldownMs) throw new Error('circuitBreaker: forgetAfterMs must be at least maxCooldownMs');
  // Map order is touch order (an entry is re-inserted when touched), so the oldest come first.
  const circuits = new Map<string, Circuit>();
  let probeSeq = 0;

  function lookup(id: string, t: number): Circuit | undefined {
    const c = circuits.get(id);
    if (c && t - c.touchedAt > o.forgetAfterMs) {
      circuits.delete(id);
      return undefined;
    }
    return c;
  }

  function touch(id: string, c: Circuit, t: number): void {
    c.touchedAt = t;
    circuits.delete(id);
    circuits.set(id, c);
    for (const [oldId, old] of circuits) {
      if (circuits.size <= o.maxEntries && t - old.touchedAt <= o.forgetAfterMs) break;
      circuits.delete(oldId);
    }
  }

  function stateOf(c: Circuit | undefined, t: number): CircuitState {
    if (c?.openUntil === undefined) return 'closed';
    return t < c.openUntil ? 'open' : 'half-open';
  }

  const probeOut = (c: Circuit, t: number) => c.probe !== undefined && t - c.probe.startedAt < o.probeTimeoutMs;

  function open(id: string, c: Circuit, t: number, cooldownMs: number): void {
    c.cooldownMs = cooldownMs;
    c.openUntil = t + cooldownMs;
    c.probe = undefined;
    touch(id, c, t);
  }

  function closedPermit(id: string): CircuitPermit {
    return settleOnce({
      // A closed circuit without failures is no entry. A request that started before the circuit
      // opened does not decide it: only the probe does.
      success: () => {
        const c = lookup(id, now());
        if (c && c.openUntil === undefined) circuits.delete(id);
      },
      failure: () => {
        const t = now();
        const c = lookup(id, t) ?? { failures: 0, cooldownMs: o.cooldownMs, touchedAt: t };
        if (c.openUntil !== undefined) return;
        c.failures += 1;
        if (c.failures >= o.failureThreshold) open(id, c, t, o.cooldownMs);
        else touch(id, c, t);
      },
      release: () => {},
    });
  }

  function probePermit(id: string, c: Circuit, seq: number): CircuitPermit {
    const current = () => circuits.get(id) === c && c.probe?.seq === seq;
    return settleOnce({
      success: () => {
        if (current()) circuits.delete(id);
      },
      failure: () => {
        if (current()) open(id, c, now(), Math.min(c.cooldownMs * 2, o.maxCooldownMs));
      },
      release: () => {
        if (current()) c.probe = undefined;
      },
    });
  }

  return {
    state: (id) => stateOf(lookup(id, now()), now()),
    waitMs(id) {
      const t = now();
      const c = lookup(id, t);
      if (c?.openUntil === undefined) return 0;
      if (t < c.openUntil) return c.openUntil - t;
      // Half-open with its probe out: its answer usually comes well before it would time out, and a
      // failed probe reopens the circuit anyway, so a client is told to wait one base cooldown.
      return c.probe && probeOut(c, t) ? Math.min(o.cooldownMs, c.probe.startedAt + o.probeTimeoutMs - t) : 0;
    },
    acquire(id) {
      const t = now();
      const c = lookup(id, t);
      const state = stateOf(c, t);
      if (!c || state === 'closed') return closedPermit(id);
      if (state === 'open' || probeOut(c, t)) return undefined;
      probeSeq += 1;
      c.probe = { seq: probeSeq, startedAt: t };
      touch(id, c, t);
      return probePermit(id, c, probeSeq);
    },
  };
}

function settleOnce(p: CircuitPermit): CircuitPermit {
  let settled = false;
  const once = (f: () => void) => () => {
    if (settled) return;
    settled = true;
    f();
  };
  return { success: once(p.success), failure: once(p.failure), release: once(p.release) };
}
