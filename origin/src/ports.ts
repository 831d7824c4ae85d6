/**
 * The origin's ports (DESIGN §2, §6, §8): what its core (server, rollout, usage) needs from the
 * outside, as small interfaces. Adapters implement them (adapters/node: SQLite outbox and journal,
 * the weights store's revisions and swap lock); tests and runs without a data dir use in-memory
 * versions (usage/outbox.ts, usage/journal-store.ts, rollout/test-support.ts). Only the
 * composition roots (main.ts, cli/) choose adapters. Nothing here imports a runtime.
 */
import type { ReplicaState } from '#shared/protocol.ts';
import type { UsageRecord } from '#shared/usage.ts';
import type { Engine } from './engine/types.ts';

/** Who a usage record belongs to: set when a request starts, before any token is counted. */
export interface UsageMeta {
  requestId: string;
  replicaId: string;
  tenantId: string;
  keyId: string;
  model: string;
  revision: string;
  endpoint: UsageRecord['endpoint'];
}

export type { Clock } from '#shared/clock.ts';

// ── Replica ────────────────────────────────────────────────────────────────────────────────

/**
 * The replica's lifecycle: `starting` (weights/engine loading) → `ready` → `draining`. One object
 * shared by the server (/readyz, admission, /admin/drain), the heartbeat (its state field), the
 * rollout (a drain-first swap) and the composition root (SIGTERM). server/lifecycle.ts has it.
 */
export interface Lifecycle {
  readonly state: ReplicaState;
  /** The engine is loaded; start serving (ignored once draining). */
  markReady(): void;
  /**
   * Enter draining and run `steps` once; every call (admin drain, SIGTERM) gets the same promise,
   * which resolves when the steps have.
   */
  drain(steps: () => Promise<void>): Promise<void>;
  /** Report `draining` until `resume()` (an engine swap); false, and no change, unless ready. */
  suspend(): boolean;
  /** End a `suspend()`: back to `ready`, unless a real drain began meanwhile. */
  resume(): void;
}

// ── Engine ─────────────────────────────────────────────────────────────────────────────────

/** The engine one request runs on, held until the request settles (rolling updates swap engines). */
export interface EnginePin {
  readonly engine: Engine;
  /** Idempotent. */
  release(): void;
}

// ── Weights (DESIGN §6) ────────────────────────────────────────────────────────────────────

/** The weights a replica serves: a verified snapshot dir and its revision. */
export interface ServedWeights {
  dir: string;
  /** Manifest revision id, or `local` for a plain directory. */
  revision: string;
}

/**
 * What a rolling update needs from the node: the local weights store (stage a revision without
 * activating it, lease it, activate it, collect garbage) and a node-wide swap lock, so the
 * replicas of one node (one per GCD) never swap at the same time.
 */
export interface StagedRevision {
  revision: string;
  /** The verified snapshot (an HF-style model dir) the new engine loads. */
  dir: string;
  /** Bytes of weight files, for the overlap-or-drain-first decision. */
  weightBytes: number;
}

export interface RevisionLease {
  /** Idempotent. */
  release(): Promise<void>;
}

export interface RevisionStore {
  /**
   * Download what the store lacks and verify every file (sha256, safetensors header), without
   * moving the node's `current`. Rejects (ApiError) when a file does not verify.
   */
  stage(revision: string, signal: AbortSignal): Promise<StagedRevision>;
  /** Keep `revision` from garbage collection while this replica may serve it. */
  lease(revision: string): Promise<RevisionLease>;
  /** Make `revision` the node's `current` (what a restart serves while S3 is down). */
  activate(revision: string): Promise<void>;
  /** Remove revisions that are neither current nor leased by a live replica. */
  collect(): Promise<void>;
}

export interface SwapLock {
  /** Run `fn` while holding the node's swap lock; waits while another replica holds it. */
  run<T>(fn: () => Promise<T>, signal: AbortSignal): Promise<T>;
}

// ── Usage (DESIGN §1: the origin is the billing authority) ─────────────────────────────────

/** A record waiting for delivery; `id` is the outbox's own sequence number. */
export interface OutboxEntry {
  id: number;
  record: UsageRecord;
}

export interface UsageOutbox {
  /**
   * Store a record durably. A second record with the same (replica_id, request_id) is ignored:
   * the first one wins, exactly as the ledger deduplicates.
   */
  append(rec: UsageRecord): Promise<void>;
  /** Oldest undelivered records first, at most `limit`. */
  pending(limit: number): Promise<OutboxEntry[]>;
  /** Mark entries as acknowledged by the ledger; unknown ids are ignored. */
  markDelivered(ids: readonly number[]): Promise<void>;
}

/** Where the server puts finished usage records (usually an outbox that also wakes the deliverer). */
export interface UsageSink {
  append(rec: UsageRecord): Promise<void>;
  /**
   * Optional crash journal (`usage/journal.ts`): when present, every run is registered here when it
   * starts, and its record goes through the returned handle instead of `append`.
   */
  begin?(meta: UsageMeta, startedAt: number, tokens: JournalTokens): RunJournal;
}

/** One running request as the journal last saw it. */
export interface JournalRow {
  replicaId: string;
  requestId: string;
  tenantId: string;
  keyId: string;
  model: string;
  revision: string;
  endpoint: UsageRecord['endpoint'];
  promptTokens: number;
  cachedTokens: number;
  /** Completion tokens handed to the client when this row was written. */
  completionTokens: number;
  startedAt: number;
  /** When this row was last written: the last moment the writer is known to have been alive. */
  checkpointedAt: number;
}

export interface JournalStore {
  /**
   * Insert or update these rows (keyed by replica + request id), all in one transaction. The
   * write must survive a crash of this process (kill -9, OOM); it need not survive a power cut,
   * which would cost an fsync per write (the final records are the fsynced, power-safe part).
   */
  write(rows: readonly JournalRow[]): Promise<void>;
  /**
   * Append the final record to the outbox and delete the journal row with the same key, in one
   * transaction. Resolves false when the outbox already held a record for that key (first wins).
   */
  complete(rec: UsageRecord): Promise<boolean>;
  /**
   * Move the rows of writers that are gone (earlier processes) to the outbox, each as the record
   * `finalize` builds, in one transaction; rows of live writers (this one, or a sibling process
   * sharing the data dir) are left alone. Resolves with the records appended.
   */
  recover(finalize: (row: JournalRow) => UsageRecord): Promise<UsageRecord[]>;
}

/** Prompt counts of a run, read live (the usage tracker's `tokens`). */
export interface JournalTokens {
  readonly prompt: number;
  readonly cached: number;
}

/** One run's view of the journal. */
export interface RunJournal {
  /** The engine admitted the prompt (its `start` event): store the row soon, batched. */
  admitted(): void;
  /**
   * Hand `tokens` more completion tokens to the client by calling `send`. Runs `send` at once,
   * or — when the row is missing or would fall more than the bound behind — after a checkpoint,
   * returning that promise.
   */
  deliver(tokens: number, send: () => void): Promise<void> | undefined;
  /** The final record replaces the row (one transaction). */
  complete(rec: UsageRecord): Promise<void>;
}
