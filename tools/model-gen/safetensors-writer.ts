/**
 * safetensors writer: plans a file (header JSON with `data_offsets`, `__metadata__`, space padding
 * to a multiple of 8 bytes) and streams tensor bytes through a `ByteSink` chunk by chunk, so a
 * multi-gigabyte shard never sits in memory. Runtime-free: the file system lives behind the sink.
 * Format: 8-byte little-endian header length, the UTF-8 JSON header, then the raw little-endian
 * tensor data with no holes, in header order.
 */
import { buildHeader, headerLengthField } from '../../origin/src/formats/safetensors.ts';
import { DTYPE_BYTES, type StorageDtype } from './dtype.ts';

export interface TensorSpec {
  name: string;
  dtype: StorageDtype;
  shape: readonly number[];
}

export interface PlannedTensor extends TensorSpec {
  /** Element count (product of the shape; 1 for a scalar). */
  elements: number;
  byteLength: number;
  /** Offsets relative to the start of the data section, as written in the header. */
  begin: number;
  end: number;
}

export interface SafetensorsPlan {
  /** The JSON header bytes, already padded; the file starts with its 8-byte length. */
  header: Uint8Array;
  tensors: PlannedTensor[];
  dataBytes: number;
  totalBytes: number;
}

/** Where bytes go. A sink may read a chunk until the promise returned by `write` settles. */
export interface ByteSink {
  write(bytes: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

/** What a tensor filler writes through: chunks in order; see `writeSafetensors` for reuse rules. */
export interface TensorOutput {
  write(bytes: Uint8Array): Promise<void>;
}

/** Produces exactly `tensor.byteLength` bytes for one tensor. */
export type TensorFiller = (tensor: PlannedTensor, out: TensorOutput) => Promise<void>;

/**
 * Lay out a safetensors file: validate names and shapes, assign contiguous `data_offsets` in the
 * given order and build the padded header. `metadata` becomes `__metadata__` (string values only,
 * as the format requires).
 */
export function planSafetensors(tensors: readonly TensorSpec[], metadata: Record<string, string> = { format: 'pt' }): SafetensorsPlan {
  const seen = new Set<string>();
  const planned: PlannedTensor[] = [];
  let offset = 0;
  for (const t of tensors) {
    if (t.name.length === 0 || t.name === '__metadata__') throw new RangeError(`invalid tensor name ${JSON.stringify(t.name)}`);
    if (seen.has(t.name)) throw new RangeError(`duplicate tensor name ${t.name}`);
    seen.add(t.name);
    let elements = 1;
    for (const d of t.shape) {
      if (!Number.isSafeInteger(d) || d < 0) throw new RangeError(`tensor ${t.name}: invalid dimension ${d}`);
      elements *= d;
    }
    const byteLength = elements * DTYPE_BYTES[t.dtype];
    planned.push({ name: t.name, dtype: t.dtype, shape: [...t.shape], elements, byteLength, begin: offset, end: offset + byteLength });
    offset += byteLength;
  }
  const padded = buildHeader(planned, metadata);
  return { header: padded, tensors: planned, dataBytes: offset, totalBytes: 8 + padded.length + offset };
}

/**
 * Serialises writes so at most one is in flight, without waiting for it: `write` returns once the
 * previous write finished and this one started. Callers alternate two buffers, so generating the
 * next chunk overlaps writing the current one.
 */
class PipelinedOutput implements TensorOutput {
  private inFlight: Promise<void> = Promise.resolve();
  written = 0;
  constructor(private readonly sink: ByteSink) {}

  async write(bytes: Uint8Array): Promise<void> {
    await this.inFlight;
    const p = this.sink.write(bytes);
    // Observed by the next write/flush; the no-op handler only avoids an "unhandled" warning meanwhile.
    p.catch(() => {});
    this.inFlight = p;
    this.written += bytes.length;
  }

  flush(): Promise<void> {
    return this.inFlight;
  }
}

/**
 * Write a planned safetensors file to `sink` and close it. `fill` is called once per tensor in
 * plan order and must write exactly that tensor's bytes. A chunk handed to `out.write` may still be
 * read until the *next* `out.write` call resolves, so fillers alternate (at least) two buffers.
 */
export async function writeSafetensors(sink: ByteSink, plan: SafetensorsPlan, fill: TensorFiller): Promise<void> {
  const out = new PipelinedOutput(sink);
  try {
    await out.write(headerLengthField(plan.header.length));
    await out.write(plan.header);
    for (const t of plan.tensors) {
      const before = out.written;
      await fill(t, out);
      const got = out.written - before;
      if (got !== t.byteLength) throw new Error(`tensor ${t.name}: filler wrote ${got} bytes, expected ${t.byteLength}`);
    }
    await out.flush();
  } finally {
    await out.flush().catch(() => {});
    await sink.close();
  }
}

/** A sink that keeps everything in memory (copies each chunk) — for tests and small files. */
export function memorySink(): ByteSink & { bytes(): Uint8Array } {
  const chunks: Uint8Array[] = [];
  return {
    async write(b) {
      chunks.push(b.slice());
    },
    async close() {},
    bytes() {
      const total = chunks.reduce((n, c) => n + c.length, 0);
      const all = new Uint8Array(total);
      let o = 0;
      for (const c of chunks) {
        all.set(c, o);
        o += c.length;
      }
      return all;
    },
  };
}
