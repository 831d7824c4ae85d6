/**
 * SigV4's hash port (a smithy `Checksum`) over node:crypto: sha256, or HMAC-sha256 when given a
 * secret. For signing outside the SDK client (tests, benchmarks); the client itself brings its own.
 */
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import type { Checksum, SourceData } from '@smithy/types';

const bytesOf = (d: SourceData): string | Uint8Array =>
  typeof d === 'string' ? d : ArrayBuffer.isView(d) ? new Uint8Array(d.buffer, d.byteOffset, d.byteLength) : new Uint8Array(d);

export class NodeSha256 implements Checksum {
  private readonly secret: SourceData | undefined;
  private h: Hash | Hmac;
  constructor(secret?: SourceData) {
    this.secret = secret;
    this.h = NodeSha256.start(secret);
  }
  private static start(secret: SourceData | undefined): Hash | Hmac {
    return secret === undefined ? createHash('sha256') : createHmac('sha256', bytesOf(secret));
  }
  update(data: SourceData): void {
    this.h.update(bytesOf(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.h.digest());
  }
  reset(): void {
    this.h = NodeSha256.start(this.secret);
  }
}
