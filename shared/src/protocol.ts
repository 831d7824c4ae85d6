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

/**
 * The longest prompt a replica could still fit in its context, in UTF-8 bytes of the prompt's text
 * as prompt-size.ts measures it, by request field: `prompt` (completions) and `messages` (chat). A
 * field is absent when no byte length bounds it (a longer text may still encode to fewer tokens).
 */
export const PromptByteBounds = z.object({ prompt: z.number().int().min(0).optional(), messages: z.number().int().min(0).optional() });
export type PromptByteBounds = z.infer<typeof PromptByteBounds>;

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
  /** How many requests the replica queues beyond `max_running` before it answers 503 busy; absent from older origins. */
  max_waiting: z.number().int().min(0).optional(),
  kv_usage: z.number().min(0).max(1),
  tokens_per_s: z.number().min(0),
  ts: z.number().int(),
  /** Optional: origins that predate it send none, and their replicas get every prompt. */
  max_prompt_bytes: PromptByteBounds.optional(),
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
