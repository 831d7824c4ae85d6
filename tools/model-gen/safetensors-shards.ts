/**
 * Splitting a checkpoint into Hugging Face style shards (`model-00001-of-00003.safetensors`) and
 * the `model.safetensors.index.json` that maps each tensor to its file. Pure: sizes only, no I/O.
 */
import { DTYPE_BYTES } from './dtype.ts';
import type { TensorSpec } from './safetensors-writer.ts';

export interface Shard<T extends TensorSpec> {
  file: string;
  tensors: T[];
  /** Tensor data bytes in this shard (header excluded). */
  dataBytes: number;
}

export interface ShardIndex {
  metadata: { total_size: number };
  weight_map: Record<string, string>;
}

/** Data bytes of one tensor. */
export function tensorBytes(t: TensorSpec): number {
  return t.shape.reduce((n, d) => n * d, 1) * DTYPE_BYTES[t.dtype];
}

/** HF shard file name; a single shard is plain `model.safetensors`. */
export function shardFileName(index: number, count: number): string {
  if (count === 1) return 'model.safetensors';
  const pad = (n: number) => String(n).padStart(5, '0');
  return `model-${pad(index + 1)}-of-${pad(count)}.safetensors`;
}

/**
 * Split `tensors` (kept in order) into exactly `count` contiguous, non-empty shards of roughly
 * equal size: a tensor opens the next shard when its midpoint crosses the next 1/count boundary.
 */
export function splitIntoShards<T extends TensorSpec>(tensors: readonly T[], count: number): Shard<T>[] {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`shard count must be a positive integer, got ${count}`);
  if (count > tensors.length) throw new RangeError(`cannot split ${tensors.length} tensors into ${count} non-empty shards`);
  const total = tensors.reduce((n, t) => n + tensorBytes(t), 0);
  const groups: T[][] = [[]];
  let acc = 0;
  tensors.forEach((t, i) => {
    const size = tensorBytes(t);
    const current = groups[groups.length - 1]!;
    const shardsLeft = count - groups.length;
    const mustOpen = tensors.length - i <= shardsLeft; // one tensor per remaining shard
    const crosses = acc + size / 2 > (total * groups.length) / count;
    if (current.length > 0 && shardsLeft > 0 && (mustOpen || crosses)) groups.push([t]);
    else current.push(t);
    acc += size;
  });
  return groups.map((g, i) => ({ file: shardFileName(i, count), tensors: g, dataBytes: g.reduce((n, t) => n + tensorBytes(t), 0) }));
}

/**
 * Smallest shard count whose balanced split keeps every shard's data at or under `maxBytes`
 * (a single tensor larger than the limit gets a shard of its own, as HF does).
 */
export function shardCountFor<T extends TensorSpec>(tensors: readonly T[], maxBytes: number): number {
  const biggest = Math.max(...tensors.map(tensorBytes));
  for (let n = 1; n <= tensors.length; n++) {
    const shards = splitIntoShards(tensors, n);
    if (shards.every((s) => s.dataBytes <= Math.max(maxBytes, biggest))) return n;
  }
  return tensors.length;
}

/** The `model.safetensors.index.json` content: sorted weight_map and total tensor bytes. */
export function buildShardIndex(shards: readonly Shard<TensorSpec>[]): ShardIndex {
  const entries: [string, string][] = [];
  let total = 0;
  for (const s of shards) {
    for (const t of s.tensors) entries.push([t.name, s.file]);
    total += s.dataBytes;
  }
  entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return { metadata: { total_size: total }, weight_map: Object.fromEntries(entries) };
}
