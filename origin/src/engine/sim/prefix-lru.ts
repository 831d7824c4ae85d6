/**
 * The simulator's prefix cache: an LRU of block hashes, bounded in blocks. A prompt's leading full
 * blocks hash as a chain (each block's hash covers every block before it: native/batching's
 * `blockHash`), so a lookup walks from block 0 and stops at the first miss, the way a real prefix
 * cache can only reuse a prefix. Counts queries and hits in tokens, as vLLM's metrics do.
 */
import { BLOCK_TOKENS } from './latency-model.ts';

export class PrefixLru {
  // Map iteration order is insertion order: the first key is the least recently used.
  readonly #blocks = new Map<number, true>();
  #queryTokens = 0;
  #hitTokens = 0;

  constructor(readonly capacityBlocks: number) {}

  /**
   * How many leading blocks of `hashes` are cached (at most `maxBlocks`), counting `promptTokens`
   * queried and the hit tokens. The matched blocks become most recently used.
   */
  lookup(hashes: readonly number[], promptTokens: number, maxBlocks = hashes.length): number {
    let hit = 0;
    while (hit < Math.min(hashes.length, maxBlocks) && this.#blocks.has(hashes[hit]!)) hit++;
    this.#queryTokens += promptTokens;
    this.#hitTokens += hit * BLOCK_TOKENS;
    this.touch(hashes.slice(0, hit));
    return hit;
  }

  /** Cache every block of a prefilled prompt, evicting the least recently used beyond capacity. */
  insert(hashes: readonly number[]): void {
    this.touch(hashes);
    for (const oldest of this.#blocks.keys()) {
      if (this.#blocks.size <= this.capacityBlocks) break;
      this.#blocks.delete(oldest);
    }
  }

  // Last block first: a chain's head (the shared system prompt) is the most recent, so eviction
  // takes the end of a conversation before the beginning other conversations share.
  private touch(hashes: readonly number[]): void {
    for (let i = hashes.length - 1; i >= 0; i--) {
      this.#blocks.delete(hashes[i]!);
      this.#blocks.set(hashes[i]!, true);
    }
  }

  get size(): number {
    return this.#blocks.size;
  }

  get queryTokens(): number {
    return this.#queryTokens;
  }

  get hitTokens(): number {
    return this.#hitTokens;
  }
}
