/**
 * Per-sequence KV cache: post-RoPE K and V of every layer in physical-head layout
 * [position, heads, head_dim] (SPEC §2.7), stored in fixed-size blocks of positions that are
 * allocated as the sequence grows. A sequence therefore holds memory for what it uses, not for its
 * capacity, and truncating frees whole blocks without copying.
 *
 * Full blocks can be shared between caches (prefix caching, prefix-cache.ts): `shareBlock` hands
 * out a block, which is read-only in this cache from then on (with every block before it), and
 * `adoptBlocks` starts an empty cache on shared blocks. The read-only blocks are always leading
 * blocks, so "read-only" is a count; a write into one is refused, and truncating into one copies
 * it first (copy-on-write).
 */
import { ApiError } from '#shared/errors.ts';

/** What engine code outside the forward pass sees of a cache (the model's API). */
export interface SequenceCache {
  /** Tokens already processed (the next token gets this position). */
  readonly length: number;
  /** Most tokens this cache accepts. */
  readonly capacity: number;
  /** Forget everything from position n on (0 ≤ n ≤ length), e.g. to roll back or reuse a prefix. */
  truncate(n: number): void;
  /** Positions per block. */
  readonly blockTokens: number;
  /** Share full block `index` (all of it written); the block is read-only here from now on. */
  shareBlock(index: number): KvBlock;
  /** On an empty cache: use these shared blocks as positions 0 … blocks·blockTokens − 1. */
  adoptBlocks(blocks: readonly KvBlock[]): void;
}

/** One block of positions across all layers (K and V per layer), as shared between caches. */
export interface KvBlock {
  readonly k: readonly Float32Array[];
  readonly v: readonly Float32Array[];
}

export interface KvLayout {
  readonly layers: number;
  /** Values per position per layer for K (and for V): heads · head_dim. */
  readonly width: number;
  /** Positions per block, a power of two. */
  readonly blockTokens: number;
}

/** One layer's blocks, as the attention kernel reads them. */
export interface LayerKv {
  readonly k: readonly Float32Array[];
  readonly v: readonly Float32Array[];
}

/** The f32 block cache behind SequenceCache. Created by MotifModel.createCache. */
export class KvCache implements SequenceCache {
  readonly capacity: number;
  readonly layout: KvLayout;
  /** Which model made this cache (a cache only fits the model whose layout it has). */
  readonly owner: object;
  /** log2(blockTokens): position τ lives in block τ >> shift at row τ & (blockTokens − 1). */
  readonly shift: number;
  #length = 0;
  /** Leading blocks that are shared, hence read-only here. */
  #shared = 0;
  readonly #layers: { k: Float32Array[]; v: Float32Array[] }[];

  constructor(layout: KvLayout, capacity: number, owner: object) {
    const b = layout.blockTokens;
    if (!Number.isInteger(b) || b <= 0 || (b & (b - 1)) !== 0) throw new RangeError(`blockTokens must be a power of two, got ${b}`);
    this.layout = layout;
    this.capacity = capacity;
    this.owner = owner;
    this.shift = Math.log2(b);
    this.#layers = Array.from({ length: layout.layers }, () => ({ k: [], v: [] }));
  }

  get length(): number {
    return this.#length;
  }

  get blockTokens(): number {
    return this.layout.blockTokens;
  }

  truncate(n: number): void {
    if (!Number.isInteger(n) || n < 0 || n > this.#length) {
      throw new ApiError('invalid_request_error', `Cannot truncate a KV cache of ${this.#length} tokens to ${n}`);
    }
    this.#length = n;
    const keep = Math.ceil(n / this.layout.blockTokens);
    const whole = n >> this.shift;
    for (const l of this.#layers) {
      l.k.length = keep;
      l.v.length = keep;
      // The block the next position goes into must be private: copy a shared one.
      if (whole < keep && whole < this.#shared) {
        l.k[whole] = l.k[whole]!.slice();
        l.v[whole] = l.v[whole]!.slice();
      }
    }
    this.#shared = Math.min(this.#shared, whole);
  }

  shareBlock(index: number): KvBlock {
    const B = this.layout.blockTokens;
    if (!Number.isInteger(index) || index < 0 || (index + 1) * B > this.#length) {
      throw new ApiError('internal_error', `KV block ${index} is not full (cache holds ${this.#length} positions)`);
    }
    // The read-only blocks stay a prefix: every block before a full one is full, so sharing block
    // `index` makes 0 … index read-only here. A block before it may be unshared when another
    // sequence had already cached an identical twin of it (the pool keeps this copy private); it
    // is never written again either way, and truncating into it copies it first.
    this.#shared = Math.max(this.#shared, index + 1);
    return { k: this.#layers.map((l) => l.k[index]!), v: this.#layers.map((l) => l.v[index]!) };
  }

  adoptBlocks(blocks: readonly KvBlock[]): void {
    if (this.#length !== 0 || (this.#layers[0]?.k.length ?? 0) !== 0) throw new ApiError('internal_error', 'Shared KV blocks can only start an empty cache');
    const { layers, width, blockTokens: B } = this.layout;
    if (blocks.length * B > this.capacity) throw new ApiError('internal_error', `${blocks.length} shared KV blocks exceed the cache capacity ${this.capacity}`);
    const size = B * width;
    for (const b of blocks) {
      const ok = b.k.length === layers && b.v.length === layers && b.k.every((a) => a.length === size) && b.v.every((a) => a.length === size);
      if (!ok) throw new ApiError('internal_error', 'A shared KV block does not match this cache layout');
    }
    this.#layers.forEach((l, i) => {
      for (const b of blocks) {
        l.k.push(b.k[i]!);
        l.v.push(b.v[i]!);
      }
    });
    this.#shared = blocks.length;
    this.#length = blocks.length * B;
  }

  /** Allocate blocks so that positions < n are writable (n ≤ capacity, checked by the caller). */
  reserve(n: number): void {
    const blocks = Math.ceil(n / this.layout.blockTokens);
    const size = this.layout.blockTokens * this.layout.width;
    for (const l of this.#layers) {
      while (l.k.length < blocks) {
        l.k.push(new Float32Array(size));
        l.v.push(new Float32Array(size));
      }
    }
  }

  /** Copy one position's K and V rows (width values each) into layer `layer`. */
  write(layer: number, position: number, k: Float32Array, kOffset: number, v: Float32Array, vOffset: number): void {
    // One compare per row: a write into a shared block would corrupt every sequence using it.
    if (position >> this.shift < this.#shared) throw new ApiError('internal_error', `KV position ${position} lies in a shared, read-only block`);
    const l = this.#layers[layer]!;
    const w = this.layout.width;
    const at = (position & (this.layout.blockTokens - 1)) * w;
    const kb = l.k[position >> this.shift]!;
    const vb = l.v[position >> this.shift]!;
    // Plain loops: subarray() would allocate a view per token and layer.
    for (let i = 0; i < w; i++) kb[at + i] = k[kOffset + i]!;
    for (let i = 0; i < w; i++) vb[at + i] = v[vOffset + i]!;
  }

  layer(layer: number): LayerKv {
    return this.#layers[layer]!;
  }

  /** Mark positions < n as filled (after every layer has written them). */
  commit(n: number): void {
    this.#length = n;
  }

  /** Leading blocks shared with other caches (read-only here). */
  get sharedBlocks(): number {
    return this.#shared;
  }

  /** Bytes currently allocated for blocks (shared ones included). */
  allocatedBytes(): number {
    const blocks = this.#layers[0]?.k.length ?? 0;
    return blocks * 2 * this.layout.layers * this.layout.blockTokens * this.layout.width * 4;
  }
}
