/**
 * Request ids: accept a sane incoming `x-request-id` (for the caller's log correlation) or
 * generate one, and echo it on every response, errors included.
 *
 * The id sent to the origin (and so the ledger's dedup key) must be edge-assigned and unique
 * (DESIGN §1): a client that reused its own id would otherwise be refused by the origin's replay
 * guard or, worse, have its usage deduplicated away. So a client-supplied id gets a random
 * suffix upstream; a generated one is used as is.
 */
import type { MiddlewareHandler } from 'hono';
import { HEADERS } from '#shared/protocol.ts';
import type { EdgeEnv } from '../../context.ts';

export interface RequestIdOptions {
  /** Header to read and echo (default `x-request-id`). */
  header?: string;
  /** Longest accepted incoming id (default 96, leaving room for the upstream suffix within 128). */
  maxLength?: number;
  /** Id generator (default `req_` + 12 hex chars of time + 16 random hex chars, generateRequestId). */
  generate?: () => string;
}

const SANE = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/;

/**
 * A time-ordered id: `req_` + the Unix time in ms (12 hex characters, good until the year 10889)
 * + 64 random bits (16 hex characters). The id keys the usage ledger and the limiter's leases:
 * ids that grow with time are appended at the right edge of those B-trees, where random ids
 * would dirty a different page per record (each one written to the WAL and checkpointed again).
 * 64 random bits per millisecond keep ids unique without coordination between edge processes.
 */
export function generateRequestId(now: number = Date.now()): string {
  return `req_${now.toString(16).padStart(12, '0')}${randomHex(8)}`;
}

// Random bytes are drawn 4 KiB at a time: one call to the system's generator costs more than
// turning its bytes into the few hex characters of one id.
const pool = new Uint8Array(4096);
let poolAt = pool.length;
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function randomHex(bytes: number): string {
  if (poolAt + bytes > pool.length) {
    crypto.getRandomValues(pool);
    poolAt = 0;
  }
  let s = '';
  for (let i = 0; i < bytes; i++) s += HEX[pool[poolAt++]!];
  return s;
}

/** Middleware factory; validates its options at creation. */
export function requestId(opts: RequestIdOptions = {}): MiddlewareHandler<EdgeEnv> {
  const header = (opts.header ?? HEADERS.requestId).toLowerCase();
  const maxLength = opts.maxLength ?? 96;
  const generate = opts.generate ?? generateRequestId;
  if (!/^[a-z0-9-]+$/.test(header)) throw new Error(`requestId: invalid header name ${JSON.stringify(header)}`);
  if (!Number.isInteger(maxLength) || maxLength < 8 || maxLength > 110) throw new Error('requestId: maxLength must be an integer in 8..110');
  return async function requestIdMiddleware(c, next) {
    const incoming = c.req.header(header);
    const accepted = incoming !== undefined && incoming.length <= maxLength && SANE.test(incoming) ? incoming : undefined;
    const id = accepted ?? generate();
    c.set('requestId', id);
    c.set('upstreamRequestId', accepted === undefined ? id : `${id}.${randomHex(6)}`);
    // Set before next(): Hono carries prepared headers into responses built with c.json/c.body,
    // including the one app.onError renders.
    c.header(header, id);
    await next();
  };
}
