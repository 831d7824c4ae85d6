/**
 * Signed POSTs from an origin to the edge's internal endpoints (heartbeat, usage). They are signed
 * exactly like forwarded requests (DESIGN §4): `x-request-id` is fresh for every attempt, so the
 * edge's replay guard never rejects a retry (the payload keeps its own ids for dedup), and
 * `x-tenant-id` carries the replica id, since internal calls belong to no tenant.
 */
import { HEADERS } from '#shared/protocol.ts';
import { SIGNATURE_HEADER, type SigningKey, sign } from '#shared/signing.ts';

export interface EdgeClientOptions {
  /** The edge's base URL, e.g. `http://127.0.0.1:4680`. */
  baseUrl: string;
  signingKey: SigningKey;
  replicaId: string;
  fetch?: typeof fetch;
  now?: () => number;
  /** Per-attempt timeout; a hung edge must not stall the heartbeat or the outbox. */
  timeoutMs?: number;
}

export interface EdgeClient {
  readonly baseUrl: string;
  /** POST `body` as JSON to `path`; resolves with the response (any status), rejects on network errors. */
  post(path: string, body: unknown): Promise<Response>;
}

/** Create a client; throws on a malformed base URL or key so misconfiguration fails at startup. */
export function createEdgeClient(opts: EdgeClientOptions): EdgeClient {
  const base = new URL(opts.baseUrl);
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new Error(`edge URL must be http(s): ${opts.baseUrl}`);
  if (!opts.signingKey.kid || opts.signingKey.secret.length < 16) throw new Error('edge client needs a signing key with a secret of at least 16 characters');
  if (!opts.replicaId) throw new Error('edge client needs a replica id');
  const doFetch = opts.fetch ?? fetch;
  const now = opts.now ?? Date.now;
  const timeoutMs = opts.timeoutMs ?? 5_000;
  const baseUrl = base.href.replace(/\/+$/, '');
  return {
    baseUrl,
    async post(path, payload) {
      const body = JSON.stringify(payload);
      const requestId = `${opts.replicaId}-${crypto.randomUUID()}`;
      const signature = await sign({ method: 'POST', path, requestId, tenantId: opts.replicaId, body }, opts.signingKey, now());
      return doFetch(`${baseUrl}${path}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [HEADERS.requestId]: requestId,
          [HEADERS.tenantId]: opts.replicaId,
          [SIGNATURE_HEADER]: signature,
        },
        body,
        signal: AbortSignal.timeout(timeoutMs),
      });
    },
  };
}
