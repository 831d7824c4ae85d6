/**
 * Test doubles for the scheduler with the prefix cache: a model whose "KV" is the token ids
 * themselves, kept in the real KvCache (so its sharing rules apply), and whose next token depends
 * on every cached position: adopting a wrong block, or a block at the wrong place, changes the
 * output. `reference` is that model's math alone, which every scheduled run must reproduce.
 */
import { KvCache } from './kv-cache.ts';
import type { BatchModel, Job, SequenceCache } from './scheduler.ts';

export const V = 97;
export const B = 4;

/** The next token after `ids`: a position-weighted checksum, so order and content both matter. */
export const nextOf = (ids: readonly number[]) => ids.reduce((a, id, p) => (a + id * (p + 1)) % V, 7);

/** Greedy output of `prompt` computed directly (what every scheduled run must produce). */
export function reference(prompt: readonly number[], maxNew: number): number[] {
  const tokens = [...prompt];
  const out: number[] = [];
  for (let i = 0; i < maxNew; i++) {
    out.push(nextOf(tokens));
    tokens.push(out.at(-1)!);
  }
  return out;
}

/** The real KvCache (one layer, one value per position: the token id), so its sharing rules apply. */
export class IdCache extends KvCache {
  constructor(capacity: number, owner: object) {
    super({ layers: 1, width: 1, blockTokens: B }, capacity, owner);
  }
  append(ids: readonly number[]): void {
    if (this.length + ids.length > this.capacity) throw new Error('over capacity');
    this.reserve(this.length + ids.length);
    ids.forEach((id, i) => this.write(0, this.length + i, Float32Array.of(id), 0, Float32Array.of(id), 0));
    this.commit(this.length + ids.length);
  }
  ids(): number[] {
    return this.layer(0)
      .k.flatMap((b) => [...b])
      .slice(0, this.length);
  }
  blocks(): readonly Float32Array[] {
    return this.layer(0).k;
  }
}

export class IdModel implements BatchModel {
  readonly live = new Set<IdCache>();
  /** Per forward call: what each sequence fed, and from which position. */
  readonly calls: { from: number; ids: number[] }[][] = [];
  /** Most distinct blocks live caches held at once (shared ones counted once). */
  peakBlocks = 0;
  createCache(capacity: number): IdCache {
    const c = new IdCache(capacity, this);
    this.live.add(c);
    return c;
  }
  /** Fault injection: a forward call carrying this token id throws (batched or alone). */
  poisonId: number | undefined;
  async forward(batch: ReadonlyArray<{ cache: SequenceCache; ids: readonly number[] }>): Promise<Float32Array[]> {
    this.calls.push(batch.map((e) => ({ from: e.cache.length, ids: [...e.ids] })));
    await Promise.resolve();
    if (this.poisonId !== undefined && batch.some((e) => e.ids.includes(this.poisonId!))) throw new Error('injected: kernel fault');
    const rows = batch.map((e) => {
      const c = e.cache as IdCache;
      this.live.add(c);
      c.append(e.ids);
      const row = new Float32Array(V);
      row[nextOf(c.ids())] = 1;
      return row;
    });
    for (const c of this.live) if (c.length === 0) this.live.delete(c);
    this.peakBlocks = Math.max(this.peakBlocks, new Set([...this.live].flatMap((c) => c.blocks())).size);
    return rows;
  }
}

export interface TestJob extends Job {
  out: number[];
  cached: number | undefined;
  done: Promise<string>;
  controller: AbortController;
}

export function job(prompt: number[], maxNew: number, onToken?: (j: TestJob) => void): TestJob {
  const controller = new AbortController();
  let settle!: (v: string) => void;
  const j: TestJob = {
    out: [],
    cached: undefined,
    controller,
    done: new Promise((r) => (settle = r)),
    promptIds: prompt,
    reserveTokens: prompt.length + maxNew,
    signal: controller.signal,
    onStart: ({ cachedTokens }) => void (j.cached = cachedTokens),
    onLogits(logits) {
      j.out.push(logits.indexOf(1));
      onToken?.(j);
      if (j.out.length < maxNew) return j.out.at(-1);
      settle('done');
      return undefined;
    },
    onAbort: () => settle('abort'),
    onError: (err) => settle(String(err)),
  };
  return j;
}
