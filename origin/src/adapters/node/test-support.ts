/**
 * Test support for the Node adapters (imported by *.test.ts only): usage records, and a small
 * stand-in for the edge's internal endpoints on loopback that verifies every POST's signature
 * like the edge does and records the body. It can be taken down and brought back on the same
 * port to simulate edge downtime.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HEADERS } from '#shared/protocol.ts';
import { ReplayGuard, SIGNATURE_HEADER, signHeaders, signInputFrom, verify } from '#shared/signing.ts';
import type { UsageRecord } from '#shared/usage.ts';

/** A valid usage record with the given request id. */
export const usageRecord = (id: string, extra: Partial<UsageRecord> = {}): UsageRecord => ({
  request_id: id,
  replica_id: 'replica-1',
  tenant_id: 'tenant-a',
  key_id: 'key-1',
  model: 'motif-test',
  revision: 'rev1',
  endpoint: 'chat.completions',
  prompt_tokens: 5,
  cached_tokens: 0,
  completion_tokens: 7,
  outcome: 'finish',
  started_at: 1_000,
  finished_at: 2_000,
  ...extra,
});

/** A node key (origin → edge) for tests: the origin signs heartbeats and usage with it. */
export const TEST_NODE_KEY = { kid: 'node-test', secret: 'node-test-secret-0123456789' };
export const TEST_NODE_RING: ReadonlyMap<string, string> = new Map([[TEST_NODE_KEY.kid, TEST_NODE_KEY.secret]]);

export interface Received {
  path: string;
  body: unknown;
}

export interface SignedReceiver {
  url: string;
  received: Received[];
  /** Status to answer accepted (verified) requests with; the body is still recorded. */
  status: number;
  rejected: number;
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

/** Start the receiver on a free loopback port. */
export async function startSignedReceiver(keyring: ReadonlyMap<string, string>): Promise<SignedReceiver> {
  const guard = new ReplayGuard();
  let server: Server | undefined;
  let port = 0;
  const r: SignedReceiver = {
    url: '',
    received: [],
    status: 200,
    rejected: 0,
    async down() {
      const s = server;
      server = undefined;
      if (s)
        await new Promise<void>((res) => {
          s.close(() => res());
          s.closeAllConnections();
        });
    },
    async up() {
      const s = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const body = Buffer.concat(chunks);
          const requestId = String(req.headers[HEADERS.requestId] ?? '');
          verify(
            req.headers[SIGNATURE_HEADER] as string | undefined,
            signInputFrom(req.method ?? '', req.url ?? '', (name) => req.headers[name] as string | undefined, new Uint8Array(body)),
            keyring,
          )
            .then(() => {
              if (!guard.check(requestId)) throw new Error('replay');
              r.received.push({ path: req.url ?? '', body: JSON.parse(body.toString('utf8')) });
              res.writeHead(r.status, { 'content-type': 'application/json' }).end('{}');
            })
            .catch(() => {
              r.rejected++;
              res.writeHead(401).end();
            });
        });
      });
      await new Promise<void>((res) => s.listen(port, '127.0.0.1', () => res()));
      port = (s.address() as AddressInfo).port;
      r.url = `http://127.0.0.1:${port}`;
      server = s;
    },
    close: () => r.down(),
  };
  await r.up();
  return r;
}

/** POST `body` to an origin at `baseUrl`, signed the way the edge signs forwarded requests. */
export async function signedPost(
  baseUrl: string,
  path: string,
  body: unknown,
  o: { key: { kid: string; secret: string }; requestId: string; tenantId?: string; keyId?: string; signal?: AbortSignal },
): Promise<Response> {
  const text = JSON.stringify(body);
  const tenantId = o.tenantId ?? 'tenant-int';
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    [HEADERS.requestId]: o.requestId,
    [HEADERS.tenantId]: tenantId,
    [HEADERS.keyId]: o.keyId ?? 'key-int',
  };
  headers[SIGNATURE_HEADER] = await signHeaders('POST', path, headers, text, o.key);
  return fetch(`${baseUrl}${path}`, { method: 'POST', body: text, headers, ...(o.signal ? { signal: o.signal } : {}) });
}
