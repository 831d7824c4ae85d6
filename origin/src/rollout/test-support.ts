/**
 * Test support for rollout tests (imported by *.test.ts only): an Engine double per revision whose
 * requests finish when the test says so and which records its load/drain/close calls, and
 * in-memory ports (revision store, shared event log).
 */
import { ApiError } from '#shared/errors.ts';
import type { Engine, EngineEvent, EngineInfo, EngineStats, GenerateRequest } from '../engine/types.ts';
import type { RevisionLease, RevisionStore, StagedRevision, SwapLock } from '../ports.ts';

/** Everything the doubles did, in order ("load b", "close a", "stage b" …). */
export type EventLog = string[];

export class GatedEngine implements Engine {
  loaded = false;
  closed = false;
  drained = false;
  running = 0;
  private readonly releases: (() => void)[] = [];

  constructor(
    readonly revision: string,
    private readonly events: EventLog,
    private readonly opts: { failLoad?: Error } = {},
  ) {}

  info(): EngineInfo {
    return { backend: 'native', model: 'motif-test', revision: this.revision, maxContextTokens: this.loaded ? 128 : 0 };
  }
  async load(): Promise<void> {
    this.events.push(`load ${this.revision}`);
    if (this.opts.failLoad) throw this.opts.failLoad;
    this.loaded = true;
  }
  async drain(): Promise<void> {
    this.events.push(`drain ${this.revision}`);
    this.drained = true;
  }
  async close(): Promise<void> {
    this.events.push(`close ${this.revision}`);
    this.closed = true;
    for (const r of this.releases.splice(0)) r();
  }
  stats(): EngineStats {
    return {
      waiting: 0,
      running: this.running,
      maxRunning: 4,
      kvUsage: 0.5,
      tokensPerSecond: 1,
      promptTokensTotal: 10,
      generationTokensTotal: 20,
      prefixCacheQueries: 0,
      prefixCacheHits: 0,
    };
  }
  /** Let every running request finish. */
  finishAll(): void {
    for (const r of this.releases.splice(0)) r();
  }

  /** `start`, then waits for `finishAll()`, then one delta naming the revision and `finish`. */
  async *generate(req: GenerateRequest, signal: AbortSignal): AsyncGenerator<EngineEvent> {
    if (this.closed) throw new ApiError('engine_unavailable', `engine ${this.revision} is closed`);
    if (!this.loaded) throw new ApiError('engine_unavailable', `engine ${this.revision} is not loaded`);
    if (this.drained) throw new ApiError('engine_unavailable', `engine ${this.revision} is draining`);
    this.running++;
    try {
      yield { type: 'start', promptTokens: 3, cachedTokens: 0 };
      await new Promise<void>((r) => {
        this.releases.push(r);
        signal.addEventListener('abort', () => r(), { once: true });
      });
      if (this.closed) throw new ApiError('engine_unavailable', `engine ${this.revision} closed mid-request`);
      yield { type: 'delta', text: `from ${this.revision}`, tokenIds: [1] };
      yield { type: 'finish', reason: 'stop', usage: { promptTokens: 3, completionTokens: 1, cachedTokens: 0 } };
    } finally {
      this.running--;
    }
    void req;
  }
}

export interface MemoryRevisions extends RevisionStore {
  /** Revisions with a live lease. */
  leased: Set<string>;
  current: string | undefined;
  /** Make `stage` of this revision fail with this error. */
  failStage: Map<string, Error>;
}

/** Holds `stage` of a revision until it resolves (or fails it). */
export type StageGate = (revision: string, signal: AbortSignal) => Promise<void>;

/** A RevisionStore double: staging is instant (or fails as told), leases are a set. */
export function memoryRevisions(events: EventLog, opts: { weightBytes?: number; stageGate?: StageGate } = {}): MemoryRevisions {
  const r: MemoryRevisions = {
    leased: new Set(),
    current: undefined,
    failStage: new Map(),
    async stage(revision, signal): Promise<StagedRevision> {
      events.push(`stage ${revision}`);
      await opts.stageGate?.(revision, signal);
      const err = r.failStage.get(revision);
      if (err) throw err;
      return { revision, dir: `/store/snapshots/${revision}`, weightBytes: opts.weightBytes ?? 1000 };
    },
    async lease(revision): Promise<RevisionLease> {
      r.leased.add(revision);
      return { release: async () => void r.leased.delete(revision) };
    },
    async activate(revision) {
      events.push(`activate ${revision}`);
      r.current = revision;
    },
    async collect() {
      events.push('collect');
    },
  };
  return r;
}

/** Let pending promise callbacks run (bounded). */
export async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
}

/** A swap lock for replicas in one process (tests: replicas in one process). */
export function createMemorySwapLock(): SwapLock {
  let tail: Promise<unknown> = Promise.resolve();
  return {
    run(fn, signal) {
      const mine = tail.then(() => {
        signal.throwIfAborted();
        return fn();
      });
      // The next holder waits for this one whether it succeeded or not.
      tail = mine.catch(() => {});
      return mine;
    },
  };
}
