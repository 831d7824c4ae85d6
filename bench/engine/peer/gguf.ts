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

export type GgmlType = 'f32' | 'f16' | 'q8_0';

export interface GgufTensor {
  name: string;
  /** Innermost first. */
  dims: readonly number[];
  type: GgmlType;
}

const GGML_TYPE: Record<GgmlType, number> = { f32: 0, f16: 1, q8_0: 8 };
/** Q8_0: blocks of 32 weights along a row, each an f16 scale then 32 int8 (34 bytes). */
export const Q8_0_BLOCK = { weights: 32, bytes: 34 } as const;
const VALUE_TYPE = { u32: 4, i32: 5, f32: 6, bool: 7, string: 8, array: 9 } as const;
export const GGUF_ALIGNMENT = 32;

const pad = (n: number, to = GGUF_ALIGNMENT) => (to - (n % to)) % to;

/** Bytes of a tensor's data. */
export function tensorBytes(t: GgufTensor): number {
  const n = t.dims.reduce((a, d) => a * d, 1);
  if (t.type === 'f32') return n * 4;
  if (t.type === 'f16') return n * 2;
  if (t.dims[0]! % Q8_0_BLOCK.weights !== 0) throw new RangeError(`${t.name}: a q8_0 row needs a multiple of 32 weights, has ${t.dims[0]}`);
  return (n / Q8_0_BLOCK.weights) * Q8_0_BLOCK.bytes;
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
  private fixed(size: number, put: (b: Buffer) => void): void {
    const b = Buffer.alloc(size);
    put(b);
    this.push(b);
  }
  u32(v: number): void {
    this.fixed(4, (b) => b.writeUInt32LE(v));
  }
  i32(v: number): void {
    this.fixed(4, (b) => b.writeInt32LE(v));
  }
  u64(v: number): void {
    this.fixed(8, (b) => b.writeBigUInt64LE(BigInt(v)));
  }
  f32(v: number): void {
    this.fixed(4, (b) => b.writeFloatLE(v));
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

type Scalar = Exclude<GgufValue, { type: 'string[]' | 'i32[]' }>;
const SCALAR: { [K in Scalar['type']]: (w: Writer, v: Extract<Scalar, { type: K }>['value']) => void } = {
  u32: (w, v) => w.u32(v),
  i32: (w, v) => w.i32(v),
  f32: (w, v) => w.f32(v),
  bool: (w, v) => w.bytes(Buffer.from([v ? 1 : 0])),
  string: (w, v) => w.str(v),
};

function writeArray<T>(w: Writer, elementType: number, values: readonly T[], put: (v: T) => void): void {
  w.u32(VALUE_TYPE.array);
  w.u32(elementType);
  w.u64(values.length);
  for (const v of values) put(v);
}

function writeValue(w: Writer, v: GgufValue): void {
  if (v.type === 'string[]') writeArray(w, VALUE_TYPE.string, v.value, (s) => w.str(s));
  else if (v.type === 'i32[]') writeArray(w, VALUE_TYPE.i32, v.value, (n) => w.i32(n));
  else {
    w.u32(VALUE_TYPE[v.type]);
    (SCALAR[v.type] as (w: Writer, value: unknown) => void)(w, v.value);
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
