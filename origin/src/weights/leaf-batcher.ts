/**
 * Batching of leaf hashes (pure; the hash function is injected): a leaf manifest's part digest is
 * sha256 over the sha256 of each leaf (adapters/node/weights/leaf-hash.ts), and independent
 * leaves hash several abreast in one native call where one SHA-256 stream is bound by its round
 * latency. The batcher gathers leaves from every part in flight so each call has a full batch.
 */

/** Hash each message into `out` (32 bytes apiece, in order). */
export type Sha256Batch = (messages: Uint8Array[], out: Uint8Array) => void;

/**
 * Collects whole leaves from every part in flight and hashes them in batches of `width`, so the
 * native batch always has several messages to run abreast. Leaves wait in the queue until it
 * fills, or until someone needs one hashed now (`ensure`: a ring wants its chunk back, a part
 * wants its digest). Nothing waits on a timer: whoever needs a result drains.
 */
export interface LeafBatcher {
  /**
   * Queue `msg` to be hashed into `out` (32 bytes); hashes the queue at once if it is full.
   * Returns the leaf's ticket: leaves are hashed in the order they were added.
   */
  add(msg: Uint8Array, out: Uint8Array): number;
  /** Make sure the leaf with `ticket` (and every one before it) is hashed, draining if needed. */
  ensure(ticket: number): void;
  /** Leaves queued, not yet hashed. */
  readonly queued: number;
}

export function createLeafBatcher(batch: Sha256Batch, width = 4): LeafBatcher {
  const msgs: Uint8Array[] = [];
  const outs: Uint8Array[] = [];
  const scratch = new Uint8Array(32 * width);
  let added = 0;
  let hashed = 0;
  const drain = () => {
    while (msgs.length > 0) {
      const m = msgs.splice(0, width);
      const o = outs.splice(0, width);
      batch(m, scratch);
      o.forEach((dst, i) => dst.set(scratch.subarray(32 * i, 32 * i + 32)));
      hashed += m.length;
    }
  };
  return {
    add(msg, out) {
      msgs.push(msg);
      outs.push(out);
      const ticket = ++added;
      if (msgs.length >= width) drain();
      return ticket;
    },
    ensure(ticket) {
      if (hashed < ticket) drain();
    },
    get queued() {
      return msgs.length;
    },
  };
}
