/**
 * The edge ↔ origin protocol (DESIGN §4): forwarded-request headers, the heartbeat a replica
 * pushes to the edge's pool registry, and the usage record an origin delivers to the ledger.
 */
import { z } from 'zod';

export const HEADERS = {
  requestId: 'x-request-id',
  tenantId: 'x-tenant-id',
  keyId: 'x-key-id',
  deadline: 'x-deadline',
  /** Set by the edge when the client did not ask for usage in the stream (edge strips it). */
  clientWantsUsage: 'x-motif-client-usage',
} as const;

/** Internal endpoints on the edge that origins call (signed like forwarded requests). */
export const INTERNAL_PATHS = {
  heartbeat: '/internal/pool/heartbeat',
  usage: '/internal/usage',
} as const;

export const ReplicaState = z.enum(['starting', 'ready', 'draining']);
export type ReplicaState = z.infer<typeof ReplicaState>;

export const Heartbeat = z.object({
  replica_id: z.string().min(1).max(128),
  node_id: z.string().min(1).max(128),
  url: z.url(),
  model: z.string().min(1),
  revision: z.string(),
  state: ReplicaState,
  waiting: z.number().int().min(0),
  running: z.number().int().min(0),
  max_running: z.number().int().min(0),
  kv_usage: z.number().min(0).max(1),
  tokens_per_s: z.number().min(0),
  ts: z.number().int(),
});
export type Heartbeat = z.infer<typeof Heartbeat>;

/** How many ms after its last heartbeat a replica leaves rotation. */
export const HEARTBEAT_TTL_MS = 3_000;

/**
 * Whether a heartbeat is a late copy of an earlier state (to be ignored) rather than the newest
 * one: its origin `ts` is older than the stored beat's, by less than the TTL. Beats go out once a
 * second, so one overtaken in flight is a few seconds older at most. A beat older by more is a
 * fresh one from a clock that stepped back (NTP): ignoring it would keep a healthy replica out of
 * rotation for as long as the step.
 */
export function isLateHeartbeat(storedTs: number, incomingTs: number): boolean {
  return incomingTs < storedTs && storedTs - incomingTs <= HEARTBEAT_TTL_MS;
}
