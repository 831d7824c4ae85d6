/**
 * Random tensor data, streamed in chunks. Element 2i of a tensor takes the low 16 bits of the
 * i-th word of its xoshiro stream, element 2i+1 the high 16 bits; each half indexes the normal
 * quantile table. So a tensor's values depend only on (seed, name, init) — not on dtype, shard
 * layout or chunk size — and the F32, BF16 and F16 files of one seed hold the same numbers up to
 * rounding. Values are pre-encoded into a per-(dtype, mean, std) lookup table, which makes the
 * hot loop one random word and two table reads per pair of elements.
 */
import { DTYPE_BYTES, encodeValue, isLittleEndian, type StorageDtype } from './dtype.ts';
import { NORMAL_TABLE_SIZE } from './normal-table.ts';
import { fillU32, streamState } from './prng.ts';
import type { PlannedTensor, TensorFiller } from './safetensors-writer.ts';
import type { InitSpec } from './tensor-plan.ts';

export interface TensorFillerOptions {
  seed: number;
  /** From `buildNormalTable()`. */
  normals: Float64Array;
  /** Init of every tensor the filler will be asked for, by name. */
  inits: ReadonlyMap<string, InitSpec>;
  /** Output chunk size; a multiple of 8. Two such buffers are allocated. */
  chunkBytes?: number;
  /** Called after each chunk with the number of tensor bytes produced. */
  onBytes?: (n: number) => void;
}

// The per-element path draws random words in L1/L2-sized blocks.
const BLOCK_WORDS = 8192;

/**
 * Create the filler `writeSafetensors` calls for each tensor. Throws at creation on bad options
 * (chunk size, missing table, big-endian host) and on a tensor without an init.
 */
export function createTensorFiller(opts: TensorFillerOptions): TensorFiller {
  const chunkBytes = opts.chunkBytes ?? 4 * 1024 * 1024;
  if (!Number.isInteger(chunkBytes) || chunkBytes < 8 || chunkBytes % 8 !== 0)
    throw new RangeError(`chunkBytes must be a positive multiple of 8, got ${chunkBytes}`);
  if (opts.normals.length !== NORMAL_TABLE_SIZE) throw new RangeError(`normals must have ${NORMAL_TABLE_SIZE} entries`);
  // Typed-array views write host byte order; safetensors is little-endian.
  if (!isLittleEndian()) throw new Error('model generation requires a little-endian host');

  const buffers = [new ArrayBuffer(chunkBytes), new ArrayBuffer(chunkBytes)];
  let flip = 0;
  const rnd = new Uint32Array(BLOCK_WORDS);
  const tables = new Map<string, Uint32Array>();

  /** table[k] = stored bits of mean + std · normals[k] (16-bit dtypes use the low half). */
  const tableFor = (dtype: StorageDtype, mean: number, std: number): Uint32Array => {
    const key = `${dtype}|${mean}|${std}`;
    let t = tables.get(key);
    if (!t) {
      t = new Uint32Array(NORMAL_TABLE_SIZE);
      for (let k = 0; k < NORMAL_TABLE_SIZE; k++) t[k] = encodeValue(dtype, mean + std * opts.normals[k]!);
      tables.set(key, t);
    }
    return t;
  };

  return async function fillTensor(tensor: PlannedTensor, out) {
    const init = opts.inits.get(tensor.name);
    if (!init) throw new Error(`no init for tensor ${tensor.name}`);
    const state = streamState(opts.seed, tensor.name);
    const width = DTYPE_BYTES[tensor.dtype];
    const chunkElems = chunkBytes / width;
    for (let done = 0; done < tensor.elements; done += chunkElems) {
      const elems = Math.min(chunkElems, tensor.elements - done);
      const buf = buffers[flip]!;
      flip ^= 1;
      if (typeof init.mean === 'number') fillFromTable(state, tableFor(tensor.dtype, init.mean, init.std), width, new Uint32Array(buf), elems, rnd);
      else fillPerElement(state, rnd, opts.normals, init.mean, init.std, tensor.dtype, new DataView(buf), done, elems);
      await out.write(new Uint8Array(buf, 0, elems * width));
      opts.onBytes?.(elems * width);
    }
  };
}

// Random words are drawn a cache-sized block at a time (formats/xoshiro128.ts, the one copy of
// the generator) and mapped through the table in a second pass over the block.
function fillFromTable(state: Uint32Array, table: Uint32Array, width: number, out: Uint32Array, elems: number, rnd: Uint32Array): void {
  const words = Math.ceil(elems / 2);
  for (let w0 = 0; w0 < words; w0 += BLOCK_WORDS) {
    const n = Math.min(BLOCK_WORDS, words - w0);
    fillU32(state, rnd, 0, n);
    for (let k = 0; k < n; k++) {
      const j = w0 + k;
      const r = rnd[k]!;
      if (width === 2) {
        // Two 16-bit elements per output word, low half first (little-endian order).
        out[j] = table[r & 0xffff]! | (table[(r >>> 16) & 0xffff]! << 16);
      } else {
        out[2 * j] = table[r & 0xffff]!;
        out[2 * j + 1] = table[(r >>> 16) & 0xffff]!;
      }
    }
  }
}

// For inits whose mean differs per element (PolyNorm's three weights): tiny tensors, so a plain
// per-element encode is fine. Same stream layout and formula as the table path.
function fillPerElement(
  state: Uint32Array,
  rnd: Uint32Array,
  normals: Float64Array,
  mean: readonly number[],
  std: number,
  dtype: StorageDtype,
  out: DataView,
  first: number,
  elems: number,
): void {
  if (mean.length === 0) throw new RangeError('init mean list is empty');
  const width = DTYPE_BYTES[dtype];
  const words = Math.ceil(elems / 2);
  for (let w0 = 0; w0 < words; w0 += BLOCK_WORDS) {
    const n = Math.min(BLOCK_WORDS, words - w0);
    fillU32(state, rnd, 0, n);
    for (let j = 0; j < n; j++) {
      for (let h = 0; h < 2; h++) {
        const i = 2 * (w0 + j) + h;
        if (i >= elems) break;
        const q = normals[(rnd[j]! >>> (16 * h)) & 0xffff]!;
        const bits = encodeValue(dtype, mean[(first + i) % mean.length]! + std * q);
        if (width === 4) out.setUint32(i * 4, bits, true);
        else out.setUint16(i * 2, bits, true);
      }
    }
  }
}
