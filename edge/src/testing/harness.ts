/**
 * An in-process edge for tests: the real app on in-memory ports, a manual clock, fake origins
 * on a fake network, a seeded API key, and helpers that sign internal calls like an origin does.
 */
import type { Hono } from 'hono';
import { HEADERS, type Heartbeat, INTERNAL_PATHS } from '#shared/protocol.ts';
import { SIGNATURE_HEADER, type SigningKey, sign } from '#shared/signing.ts';
import { readSse, type SseEvent } from '#shared/sse.ts';
import type { UsageRecord } from '#shared/usage.ts';
import { type ManualClock, manualClock } from '../adapters/memory/clock.ts';
import { memoryKeyStore } from '../adapters/memory/key-store.ts';
import { memoryLedger } from '../adapters/memory/ledger.ts';
import { memoryLimiter } from '../adapters/memory/limiter.ts';
import { memoryPool } from '../adapters/memory/pool.ts';
import { memoryResponseStore } from '../adapters/memory/response-store.ts';
import { createEdgeApp, type EdgeAppDeps } from '../app.ts';
import type { EdgeEnv } from '../context.ts';
import { pepperedKeyHasher } from '../keys/key-hash.ts';
import { seededKeyRecord } from '../keys/key-record.ts';
import type { LimitDefaults } from '../middleware/limits/policy.ts';
import type { KeyStore, PrincipalLimits } from '../ports.ts';
import { type NodeKeys, parseNodeKeys } from '../trust/node-keys.ts';
import { parseOriginAllowList } from '../trust/origin-allow-list.ts';
import { createFakeOrigin, type FakeOrigin, type FakeOriginOptions, fakeNetwork } from './fake-origin.ts';

export const TEST_KEY = 'sk-motif-test-0123456789abcdefABCDEF';
/** The key pepper of test edges, and its hasher (Web Crypto, as on a Worker). */
export const TEST_PEPPER = 'test-key-pepper-0123456789abcdefghij';
export const TEST_HASHER = pepperedKeyHasher(TEST_PEPPER);
/** The edge's key for forwarded requests (edge → origin); fake origins verify with TEST_RING. */
export const TEST_SIGNING: SigningKey = { kid: 'k1', secret: 'test-secret-0123456789abcdef' };
export const TEST_RING: ReadonlyMap<string, string> = new Map([[TEST_SIGNING.kid, TEST_SIGNING.secret]]);
/** Each test node's key (origin → edge): kid `node-<node>`, bound to that node. */
export const nodeKey = (node: string): SigningKey => ({ kid: `node-${node}`, secret: `test-node-secret-${node}-0123456789` });
/** Node keys for nodes named like the fake origins' replicas (a fake origin is its own node). */
export const testNodeKeys = (nodes: string[]): NodeKeys => parseNodeKeys(nodes.map((n) => `${nodeKey(n).kid}:${nodeKey(n).secret}@${n}`).join(','));
/** Fake origins live on *.origin.test (and loopback, for real sockets). */
export const TEST_ORIGIN_ALLOW = parseOriginAllowList('*.origin.test,127.0.0.0/8');

export interface TestEdge {
  app: Hono<EdgeEnv>;
  clock: ManualClock;
  keys: KeyStore;
  ledger: ReturnType<typeof memoryLedger>;
  origins: FakeOrigin[];
  network: ReturnType<typeof fakeNetwork>;
  logs: string[];
  /** Send a signed heartbeat for `origin` (as the origin would). */
  beat(origin: FakeOrigin, overrides?: Partial<Heartbeat>): Promise<Response>;
  /** POST a signed internal request (default: signed with node `r1`'s key). */
  signedPost(path: string, body: unknown, opts?: { key?: SigningKey; requestId?: string; tamper?: boolean }): Promise<Response>;
  /** POST a public API request with the test key. */
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<Response>;
  get(path: string, headers?: Record<string, string>): Promise<Response>;
}

export interface TestEdgeOptions {
  origins?: Omit<FakeOriginOptions, 'keyring' | 'now'>[];
  deps?: Partial<EdgeAppDeps>;
  /** The edge's default limits (what MOTIF_EDGE_RPM etc. configure). */
  limits?: Partial<LimitDefaults>;
  /** Limits on the test key's principal, as the key store resolves them from tenant and key records. */
  principalLimits?: PrincipalLimits;
}

/** Build a test edge. */
export async function testEdge(opts: TestEdgeOptions = {}): Promise<TestEdge> {
  const clock = manualClock(Date.now());
  const ledger = memoryLedger();
  const keys = withLimits(memoryKeyStore([await seededKeyRecord(TEST_KEY, { tenantId: 'acme', createdAt: clock.now() }, TEST_HASHER)]), opts.principalLimits);
  const origins = (opts.origins ?? [{ replicaId: 'r1' }]).map((o) => createFakeOrigin({ ...o, keyring: TEST_RING, now: clock.now }));
  const network = fakeNetwork(origins);
  const logs: string[] = [];
  let seq = 0;
  const app = createEdgeApp({
    keys,
    keyHasher: TEST_HASHER,
    ledger,
    clock,
    limiter: memoryLimiter(),
    responseStore: memoryResponseStore(),
    options: { limits: opts.limits },
    pool: memoryPool(),
    signingKey: TEST_SIGNING,
    nodeKeys: testNodeKeys([...new Set(['r1', ...origins.map((o) => o.replicaId)])]),
    originAllow: TEST_ORIGIN_ALLOW,
    originFetch: network.fetch,
    log: (m, f) => logs.push(`${m} ${JSON.stringify(f ?? {})}`),
    ...opts.deps,
  });

  async function signedPost(path: string, body: unknown, o: { key?: SigningKey; requestId?: string; tamper?: boolean } = {}) {
    const text = JSON.stringify(body);
    const requestId = o.requestId ?? `internal-${++seq}`;
    const sig = await sign({ method: 'POST', path, requestId, tenantId: 'r1', body: text }, o.key ?? nodeKey('r1'), clock.now());
    return await app.request(path, {
      method: 'POST',
      body: o.tamper ? text.replace('}', ',"x":1}') : text,
      headers: { 'content-type': 'application/json', [HEADERS.requestId]: requestId, [HEADERS.tenantId]: 'r1', [SIGNATURE_HEADER]: sig },
    });
  }

  return {
    app,
    clock,
    keys,
    ledger,
    origins,
    network,
    logs,
    signedPost,
    beat: (origin, overrides) => signedPost(INTERNAL_PATHS.heartbeat, origin.heartbeat({ ts: clock.now(), ...overrides }), { key: nodeKey(origin.replicaId) }),
    post: async (path, body, headers = {}) =>
      app.request(path, {
        method: 'POST',
        body: typeof body === 'string' ? body : JSON.stringify(body),
        headers: { authorization: `Bearer ${TEST_KEY}`, 'content-type': 'application/json', ...headers },
      }),
    get: async (path, headers = {}) => app.request(path, { headers: { authorization: `Bearer ${TEST_KEY}`, ...headers } }),
  };
}

/** A key store whose principals carry `limits` (as one built on tenant and key records would). */
function withLimits(keys: KeyStore, limits: PrincipalLimits | undefined): KeyStore {
  if (!limits) return keys;
  return {
    ...keys,
    findByHash: async (hash, now) => {
      const match = await keys.findByHash(hash, now);
      return match && { ...match, principal: { ...match.principal, limits } };
    },
  };
}

/** A valid usage record with overrides. */
export function usageRecord(o: Partial<UsageRecord> = {}): UsageRecord {
  return {
    request_id: 'req-1',
    replica_id: 'r1',
    tenant_id: 'acme',
    key_id: 'key_1',
    model: 'motif-test',
    revision: 'rev-1',
    endpoint: 'chat.completions',
    prompt_tokens: 10,
    cached_tokens: 0,
    completion_tokens: 5,
    outcome: 'finish',
    started_at: Date.UTC(2026, 0, 2, 10),
    finished_at: Date.UTC(2026, 0, 2, 10, 0, 1),
    ...o,
  };
}

/** Read an SSE response body into events. */
export async function sseEvents(res: Response): Promise<SseEvent[]> {
  const out: SseEvent[] = [];
  for await (const ev of readSse(res.body!)) out.push(ev);
  return out;
}
