/**
 * The header of a GGUF file (version 3, the format llama.cpp loads): metadata key/values and the
 * table of tensors, padded to the data section's alignment. Pure: the caller writes the tensors'
 * bytes after it, in table order, each padded to the alignment (`tensorLayout` says where).
 *
 * Spec: github.com/ggml-org/ggml/blob/master/docs/gguf.md. Dimensions are listed innermost first
 * (ne[0] = a row's length), as ggml stores them.
 */

export type GgufValue =
  | { type: 'u32'; value: number }
  | { type: 'i32'; value: number }
  | { type: 'f32'; value: number }
  | { type: 'bool'; value: boolean }
  | { type: 'string'; value: string }
  | { type: 'string[]'; value: readonly string[] }
  | { type: 'i32[]'; value: readonly number[] };

export type GgmlType = 'f32' | 'f16';

export interface GgufTensor {
  name: string;
  /** Innermost first. */
  dims: readonly number[];
  type: GgmlType;
}

const GGML_TYPE: Record<GgmlType, number> = { f32: 0, f16: 1 };
const BYTES: Record<GgmlType, number> = { f32: 4, f16: 2 };
const VALUE_TYPE = { u32: 4, i32: 5, f32: 6, bool: 7, string: 8, array: 9 } as const;
export const GGUF_ALIGNMENT = 32;

const pad = (n: number, to = GGUF_ALIGNMENT) => (to - (n % to)) % to;

/** Bytes of a tensor's data. */
export function tensorBytes(t: GgufTensor): number {
  return t.dims.reduce((n, d) => n * d, 1) * BYTES[t.type];
}

/** Each tensor's offset within the data section (aligned), and the section's total size. */
export function tensorLayout(tensors: readonly GgufTensor[]): { offsets: number[]; dataBytes: number } {
  const offsets: number[] = [];
  let at = 0;
  for (const t of tensors) {
    offsets.push(at);
    at += tensorBytes(t);
    at += pad(at);
  }
  return { offsets, dataBytes: at };
}

class Writer {
  private chunks: Buffer[] = [];
  length = 0;
  private push(b: Buffer): void {
    this.chunks.push(b);
    this.length += b.length;
  }
  u32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    this.push(b);
  }
  i32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeInt32LE(v);
    this.push(b);
  }
  u64(v: number): void {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    this.push(b);
  }
  f32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeFloatLE(v);
    this.push(b);
  }
  str(s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.u64(b.length);
    this.push(b);
  }
  bytes(b: Buffer): void {
    this.push(b);
  }
  done(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

function writeValue(w: Writer, v: GgufValue): void {
  switch (v.type) {
    case 'u32':
      w.u32(VALUE_TYPE.u32);
      w.u32(v.value);
      return;
    case 'i32':
      w.u32(VALUE_TYPE.i32);
      w.i32(v.value);
      return;
    case 'f32':
      w.u32(VALUE_TYPE.f32);
      w.f32(v.value);
      return;
    case 'bool':
      w.u32(VALUE_TYPE.bool);
      w.bytes(Buffer.from([v.value ? 1 : 0]));
      return;
    case 'string':
      w.u32(VALUE_TYPE.string);
      w.str(v.value);
      return;
    case 'string[]':
      w.u32(VALUE_TYPE.array);
      w.u32(VALUE_TYPE.string);
      w.u64(v.value.length);
      for (const s of v.value) w.str(s);
      return;
    case 'i32[]':
      w.u32(VALUE_TYPE.array);
      w.u32(VALUE_TYPE.i32);
      w.u64(v.value.length);
      for (const n of v.value) w.i32(n);
      return;
  }
}

/** The file's bytes before the data section: magic, version, counts, metadata, tensor table, padding. */
export function ggufHeader(metadata: ReadonlyMap<string, GgufValue>, tensors: readonly GgufTensor[]): Buffer {
  const w = new Writer();
  w.bytes(Buffer.from('GGUF', 'ascii'));
  w.u32(3);
  w.u64(tensors.length);
  w.u64(metadata.size);
  for (const [key, value] of metadata) {
    w.str(key);
    writeValue(w, value);
  }
  const { offsets } = tensorLayout(tensors);
  tensors.forEach((t, i) => {
    w.str(t.name);
    w.u32(t.dims.length);
    for (const d of t.dims) w.u64(d);
    w.u32(GGML_TYPE[t.type]);
    w.u64(offsets[i]!);
  });
  w.bytes(Buffer.alloc(pad(w.length)));
  return w.done();
}
