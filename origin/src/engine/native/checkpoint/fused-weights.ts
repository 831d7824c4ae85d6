/**
 * Fusing the projections that share an input (q/k/v, gate/up) into one matrix per layer, so a
 * layer runs 4 matmul calls instead of 7. A loaded checkpoint is fused without copying: each
 * group is read back to back into one buffer and the single matrices are views of it.
 */

import type { StoredDtype, WeightMatrix } from '../kernels/dtype.ts';
import { dtypeBytes, storedToF32, weightDataLength } from '../kernels/dtype.ts';
import type { OpenedFile } from './checkpoint-source.ts';
import type { MotifConfig } from './config.ts';
import type { Tensor, TensorInfo } from './safetensors.ts';

/** One fused matrix: its key and the tensors stacked in it, in order. */
export interface FusedGroup {
  /** Key of the fused matrix: `<layer prefix>qkv` or `<layer prefix>gate_up`. */
  name: string;
  parts: string[];
}

/** The fused groups of every layer of `c`. */
export function fusedGroups(c: MotifConfig): FusedGroup[] {
  const groups: FusedGroup[] = [];
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const p = `model.layers.${l}.`;
    groups.push({ name: `${p}qkv`, parts: ['q', 'k', 'v'].map((x) => `${p}self_attn.${x}_proj.weight`) });
    groups.push({ name: `${p}gate_up`, parts: [`${p}mlp.gate_proj.weight`, `${p}mlp.up_proj.weight`] });
  }
  return groups;
}

const LOADABLE = new Set<string>(['F32', 'BF16', 'F16']);

/**
 * Read same-dtype 2-D tensors of equal width back to back into one buffer; null when the dtypes
 * differ (or are not loadable: readTensor then names the tensor at fault).
 */
export async function readFused(parts: { file: OpenedFile; info: TensorInfo }[]): Promise<{ fused: Tensor; parts: Tensor[] } | null> {
  const dtype = parts[0]!.info.dtype;
  if (!LOADABLE.has(dtype) || parts.some((p) => p.info.dtype !== dtype)) return null;
  const bytes = parts.reduce((n, p) => n + (p.info.end - p.info.begin), 0);
  const buf = new ArrayBuffer(bytes);
  const views: Tensor[] = [];
  let offset = 0;
  for (const { file, info } of parts) {
    const len = info.end - info.begin;
    await file.read(new Uint8Array(buf, offset, len), info.begin);
    views.push(tensorView(dtype as StoredDtype, buf, offset, len, info.shape));
    offset += len;
  }
  const rows = parts.reduce((n, p) => n + p.info.shape[0]!, 0);
  return { fused: tensorView(dtype as StoredDtype, buf, 0, bytes, [rows, parts[0]!.info.shape[1]!]), parts: views };
}

function tensorView(dtype: StoredDtype, buf: ArrayBuffer, offset: number, bytes: number, shape: readonly number[]): Tensor {
  const n = bytes / dtypeBytes(dtype);
  return dtype === 'F32' ? { dtype, data: new Float32Array(buf, offset, n), shape } : { dtype, data: new Uint16Array(buf, offset, n), shape };
}

/**
 * Stack matrices of equal width row-wise into a new matrix (the fallback for hand-built or
 * mixed-dtype weights; a loaded checkpoint is fused without copying). Mixed dtypes widen to F32.
 */
export function stackRows(parts: readonly WeightMatrix[]): WeightMatrix {
  const cols = parts[0]!.cols;
  if (parts.some((p) => p.cols !== cols)) throw new RangeError('stackRows: matrices must have the same number of columns');
  const rows = parts.reduce((n, p) => n + p.rows, 0);
  const dtype = parts[0]!.dtype;
  if (dtype !== 'F32' && parts.every((p) => p.dtype === dtype)) {
    // Same 16-bit or Q8_0 rows: the raw arrays back to back (Q8_0 rows are whole blocks; Q8_0x16
    // groups of 16 rows are too, when every part is whole groups).
    if (dtype === 'Q8_0x16' && parts.some((p) => p.rows % 16 !== 0)) throw new RangeError('stackRows: Q8_0x16 matrices stack in whole groups of 16 rows');
    const data = dtype === 'Q8_0' || dtype === 'Q8_0x16' ? new Uint8Array(weightDataLength(dtype, rows, cols)) : new Uint16Array(rows * cols);
    let o = 0;
    for (const p of parts) {
      data.set(p.data, o);
      o += p.data.length;
    }
    return { dtype, data, rows, cols } as WeightMatrix;
  }
  const data = new Float32Array(rows * cols);
  let o = 0;
  for (const p of parts) {
    if (p.dtype === 'Q8_0' || p.dtype === 'Q8_0x16') throw new RangeError('stackRows: Q8_0 matrices stack only with Q8_0 ones');
    data.set(p.dtype === 'F32' ? p.data : storedToF32(p), o);
    o += p.data.length;
  }
  return { dtype: 'F32', data, rows, cols };
}
