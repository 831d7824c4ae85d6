/**
 * Part digests in the manifest's two schemes (shared/src/manifest.ts, `files[].parts`):
 *   - plain:  sha256(part bytes)
 *   - leaves (`parts.leaf` set): sha256(sha256(leaf 0) ‖ sha256(leaf 1) ‖ …), the part cut into
 *     `leaf`-byte leaves (the last one shorter) and their 32-byte digests concatenated — the same
 *     shape as S3's composite checksums.
 * Why leaves: one SHA-256 stream is bound by its round latency (one SHA-NI stream ran at ~0.54
 * ms/MiB here, most of a verifying download's CPU), while independent leaves hash several abreast
 * (four: ~0.31 ms/MiB). `PartDigest` is the portable streaming form (node:crypto) that publish,
 * the disk re-hash and the fallback sink use; `nativeSha256Batch` is the SHA-NI batch from the
 * native addon, or null where it is not built or the CPU lacks SHA-NI. Both give the same digests.
 */
import { createHash, type Hash } from 'node:crypto';
import { loadNativeKernels } from '../../native-kernels/loader.ts';

/** Streams one part's bytes (in order) into its manifest digest; `leaf` null = plain sha256. */
export class PartDigest {
  private readonly outer: Hash = createHash('sha256');
  private leafHash: Hash | null = null;
  private inLeaf = 0;

  constructor(private readonly leaf: number | null) {}

  update(bytes: Uint8Array): void {
    if (this.leaf === null) {
      this.outer.update(bytes);
      return;
    }
    for (let off = 0; off < bytes.length; ) {
      const n = Math.min(bytes.length - off, this.leaf - this.inLeaf);
      (this.leafHash ??= createHash('sha256')).update(bytes.subarray(off, off + n));
      off += n;
      this.inLeaf += n;
      if (this.inLeaf === this.leaf) this.endLeaf();
    }
  }

  digest(): string {
    if (this.inLeaf > 0) this.endLeaf();
    return this.outer.digest('hex');
  }

  private endLeaf(): void {
    this.outer.update(this.leafHash!.digest());
    this.leafHash = null;
    this.inLeaf = 0;
  }
}

/** Hash each message into `out` (32 bytes apiece, in order). */
export type Sha256Batch = (messages: Uint8Array[], out: Uint8Array) => void;

let native: Sha256Batch | null | undefined;

/** The addon's SHA-NI batch hasher, or null (not built, old build, or no SHA-NI on this CPU). */
export function nativeSha256Batch(): Sha256Batch | null {
  if (native !== undefined) return native;
  const r = loadNativeKernels();
  const fn = r.ok ? r.binding.sha256Batch : undefined;
  if (!r.ok || !fn || r.info.sha256 !== 'sha-ni') return (native = null);
  return (native = (messages, out) => {
    if (!fn.call(r.binding, messages, out)) throw new Error('sha256Batch: SHA-NI unavailable');
  });
}

/** The portable batch: node:crypto, one message at a time (same digests as the native one). */
export const portableSha256Batch: Sha256Batch = (messages, out) => {
  messages.forEach((m, i) => out.set(createHash('sha256').update(m).digest(), 32 * i));
};

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
