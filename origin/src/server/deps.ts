/**
 * What the origin app needs from its composition root. Everything is injected (no runtime
 * imports), so unit tests run the app with `app.request()`, a scripted test engine and in-memory
 * ports, and `main.ts` wires the real ones.
 */
import type { ReplayWindow } from '#shared/signing.ts';
import type { Engine } from '../engine/types.ts';
import type { Clock, EnginePin, Lifecycle, UsageSink } from '../ports.ts';
import type { Admission } from './admission.ts';
import type { OriginMetrics } from './metrics.ts';

export interface ReplicaInfo {
  /** Stamped on every usage record (the ledger dedups on replica + request id). */
  replicaId: string;
  nodeId: string;
}

export interface OriginLimits {
  /** Largest accepted request body, bytes. */
  maxBodyBytes: number;
  /** How long `/admin/drain` waits for running requests before answering, ms. */
  drainWaitMs: number;
}

export const DEFAULT_LIMITS: OriginLimits = { maxBodyBytes: 4 * 1024 * 1024, drainWaitMs: 30_000 };

export type MetricsAccess = { token: string } | 'public';

export interface OriginDeps {
  engine: Engine;
  /** kid → secret; every kid is accepted. */
  keyring: ReadonlyMap<string, string>;
  replayGuard: ReplayWindow;
  usage: UsageSink;
  clock: Clock;
  replica: ReplicaInfo;
  admission: Admission;
  lifecycle: Lifecycle;
  metrics: OriginMetrics;
  limits?: Partial<OriginLimits>;
  /**
   * Pin the engine a request runs on until it settles (set when engines are swapped at run time);
   * without it every request uses `engine`.
   */
  pinEngine?: () => EnginePin;
  /**
   * Who may read /metrics: a scraper presenting this bearer token, or anyone (`'public'`, for a
   * scrape inside a trusted network). Unset = nobody (403): the port may be reachable by more
   * than the scraper.
   */
  metricsAccess?: MetricsAccess;
  /** More Prometheus exposition text appended to /metrics (e.g. the rollout's families). */
  extraMetrics?: () => string;
  /** Undelivered usage records (for /metrics), when the outbox can count them. */
  outboxBacklog?: () => number;
  /** False while usage cannot be recorded (disk full): new generation requests get a retryable 503. */
  usageWritable?: () => boolean;
  log?: (line: string) => void;
}

/** Fail at startup on a miswired root rather than on the first request. */
export function checkDeps(deps: OriginDeps): OriginLimits {
  if (deps.keyring.size === 0) throw new Error('origin app: the keyring is empty (set MOTIF_ORIGIN_SECRET)');
  for (const [kid, secret] of deps.keyring) {
    if (secret.length < 16) throw new Error(`origin app: secret of key ${kid} is shorter than 16 characters`);
  }
  if (!deps.replica.replicaId || !deps.replica.nodeId) throw new Error('origin app: replica and node id are required');
  const access = deps.metricsAccess;
  if (access !== undefined && access !== 'public' && !(access.token.length >= 16)) {
    throw new Error('origin app: the metrics token must be at least 16 characters');
  }
  const limits = { ...DEFAULT_LIMITS, ...deps.limits };
  if (!(limits.maxBodyBytes > 0) || !(limits.drainWaitMs >= 0)) throw new Error('origin app: invalid limits');
  return limits;
}
