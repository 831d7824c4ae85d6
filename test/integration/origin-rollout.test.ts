/**
 * Rolling weight updates with real processes (DESIGN §6, §7): an embedded s3rver holding the
 * tiny fixture (revision A), a second checkpoint generated with another seed (revision B) and a
 * third whose weights object was overwritten after publishing (revision C, fails sha256); origin
 * processes that follow the `stable` ref, heartbeating to a loopback stand-in for the edge.
 * - One replica: the ref moving to C leaves A serving (a verify failure is counted and logged);
 *   moving it to B makes the replica serve B within a few polls without leaving rotation
 *   (overlap); its heartbeats, /v1/models and the store follow, and gc keeps A for another
 *   replica of the node that still serves it (its lease).
 * - Two drain-first replicas of one node sharing a store: both move to B, never out of rotation
 *   at the same time (the node's swap lock).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { s3Keys } from '#shared/manifest.ts';
import { ChatCompletion } from '#shared/openai.ts';
import { HEADERS, Heartbeat } from '#shared/protocol.ts';
import { SIGNATURE_HEADER, signHeaders } from '#shared/signing.ts';
import { type SignedReceiver, signedPost, startSignedReceiver, TEST_NODE_KEY, TEST_NODE_RING } from '../../origin/src/adapters/node/test-support.ts';
import { publishModel } from '../../origin/src/adapters/node/weights/publish.ts';
import { createS3Client, type EmbeddedS3, type S3ObjectStore, S3RVER_CREDENTIALS, startEmbeddedS3 } from '../../origin/src/adapters/s3/index.ts';
import { writeRef } from '../../origin/src/weights/refs.ts';
import { freePort, type ManagedProcess, spawnTsx, waitForHttp } from '../../scripts/stack/processes.ts';
import { generateModel } from '../../tools/model-gen/index.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const FIXTURE = join(ROOT, 'test/fixtures/tiny-motif');
const key = { kid: 'k1', secret: 'rollout-integration-secret-01' };
const BUCKET = 'motif-weights';
const MODEL = 'motif-tiny';

let s3: EmbeddedS3;
let client: S3ObjectStore;
let edge: SignedReceiver;
let tmp: string;
const rev = { a: '', b: '', c: '' };
const running: ManagedProcess[] = [];

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'motif-rollout-'));
  s3 = await startEmbeddedS3({ dir: join(tmp, 's3'), bucket: BUCKET });
  client = createS3Client(s3.config);
  edge = await startSignedReceiver(TEST_NODE_RING);
  rev.a = (await publishModel({ s3: client, bucket: BUCKET, model: MODEL, fromDir: FIXTURE, ref: 'stable' })).revision;
  // Published without moving the ref: the tests move it.
  const b = await generateModel({ outDir: join(tmp, 'model-b'), preset: 'tiny', seed: 11 });
  rev.b = (await publishModel({ s3: client, bucket: BUCKET, model: MODEL, fromDir: b.dir })).revision;
  const c = await generateModel({ outDir: join(tmp, 'model-c'), preset: 'tiny', seed: 12 });
  const pc = await publishModel({ s3: client, bucket: BUCKET, model: MODEL, fromDir: c.dir });
  rev.c = pc.revision;
  // Same size, different bytes: only the manifest's sha256 can tell.
  const shard = pc.manifest.files.find((f) => f.path.endsWith('.safetensors'))!;
  const garbage = randomBytes(shard.size);
  await client.upload(BUCKET, s3Keys.file(MODEL, rev.c, shard.path), { body: [garbage], size: shard.size });
  expect(new Set(Object.values(rev)).size).toBe(3);
});

afterAll(async () => {
  for (const p of running) await p.stop();
  client?.destroy();
  await edge?.close();
  await s3?.close();
  rmSync(tmp, { recursive: true, force: true });
});

/** The origins' /metrics token (it is closed without one). */
const METRICS_TOKEN = 'rollout-test-metrics-token';

interface Origin {
  url: string;
  proc: ManagedProcess;
  logs: string[];
}

async function startOrigin(id: string, store: string, extra: NodeJS.ProcessEnv): Promise<Origin> {
  const port = await freePort();
  const logs: string[] = [];
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    AWS_REGION: 'us-east-1',
    MOTIF_ORIGIN_PORT: String(port),
    MOTIF_REPLICA_ID: id,
    MOTIF_NODE_ID: 'roll',
    MOTIF_ORIGIN_SECRET: `${key.kid}:${key.secret}`,
    MOTIF_NODE_KEY: `${TEST_NODE_KEY.kid}:${TEST_NODE_KEY.secret}`,
    MOTIF_EDGE_URL: edge.url,
    MOTIF_HEARTBEAT_MS: '100',
    MOTIF_MODEL_ID: MODEL,
    MOTIF_S3_ENDPOINT: s3.endpoint,
    MOTIF_S3_BUCKET: BUCKET,
    MOTIF_S3_FORCE_PATH_STYLE: 'true',
    MOTIF_S3_RELAXED_CHECKSUMS: 'true',
    MOTIF_ORIGIN_DATA_DIR: join(tmp, `data-${id}`),
    MOTIF_WEIGHTS_STORE: store,
    MOTIF_WEIGHTS_POLL_MS: '200',
    MOTIF_ORIGIN_METRICS_TOKEN: METRICS_TOKEN,
    ...extra,
  };
  delete env.MOTIF_ORIGIN_MODEL_DIR;
  const proc = spawnTsx({ name: id, file: 'origin/src/main.ts', env, log: (l) => logs.push(l) });
  running.push(proc);
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/readyz`, proc, 60_000).catch((err: Error) => {
    throw new Error(`${err.message}\n${logs.join('\n')}`);
  });
  return { url, proc, logs };
}

let seq = 0;
async function fingerprint(o: Origin): Promise<string | undefined> {
  const res = await signedPost(
    o.url,
    '/v1/chat/completions',
    { model: MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 },
    { key, requestId: `roll-${++seq}` },
  );
  expect(res.status).toBe(200);
  return ChatCompletion.parse(await res.json()).system_fingerprint;
}

/** Poll `check` until it returns true (bounded; the failure message carries the origin logs). */
async function until(what: string, check: () => Promise<boolean> | boolean, o: { logs: string[] }[], tries = 150): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(
    `timed out waiting for ${what}\n${o
      .flatMap((x) => x.logs)
      .slice(-40)
      .join('\n')}`,
  );
}

async function signedModels(o: Origin): Promise<Response> {
  const requestId = `roll-${++seq}`;
  const headers: Record<string, string> = { [HEADERS.requestId]: requestId, [HEADERS.tenantId]: 'tenant-int', [HEADERS.keyId]: 'key-int' };
  headers[SIGNATURE_HEADER] = await signHeaders('GET', '/v1/models', headers, '', key);
  return fetch(`${o.url}/v1/models`, { headers });
}

const metricsText = async (o: Origin) => (await fetch(`${o.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
const beats = (replica: string) =>
  edge.received
    .filter((r) => r.path === '/internal/pool/heartbeat')
    .map((r) => Heartbeat.parse(r.body))
    .filter((h) => h.replica_id === replica);
const moveRef = (revision: string) => writeRef({ s3: client, bucket: BUCKET, model: MODEL, ref: 'stable', revision });

describe('one replica follows its ref', () => {
  it('keeps serving through a corrupt revision, then swaps to a good one with overlap', async () => {
    const store = join(tmp, 'store-1');
    const o = await startOrigin('roll-1', store, {});
    // A second replica on the node that does not follow the ref: its lease must keep A on disk.
    const pinned = await startOrigin('roll-pinned', store, { MOTIF_WEIGHTS_POLL_MS: '0' });
    expect(await fingerprint(o)).toBe(`fp_${rev.a}`);

    await moveRef(rev.c);
    await until(
      'a verify failure of the corrupt revision',
      async () => /motif_origin_rollout_failures_total\{stage="verify"\} [1-9]/.test(await metricsText(o)),
      [o],
    );
    expect(o.logs.join('\n')).toMatch(new RegExp(`update to revision ${rev.c} failed at verify .*sha256.*revision ${rev.a} keeps serving`));
    expect(await fingerprint(o)).toBe(`fp_${rev.a}`);
    expect((await fetch(`${o.url}/readyz`)).status).toBe(200);

    await moveRef(rev.b);
    await until('the new revision to be served', async () => (await fingerprint(o)) === `fp_${rev.b}`, [o]);
    expect(o.logs.join('\n')).toMatch(/swapping engines \(overlap: /);
    const models = (await (await signedModels(o)).json()) as { data: { system_fingerprint: string }[] };
    expect(models.data[0]?.system_fingerprint).toBe(`fp_${rev.b}`);
    await until('a heartbeat with the new revision', () => beats('roll-1').some((h) => h.revision === rev.b && h.state === 'ready'), [o]);
    // Overlap never takes the replica out of rotation.
    expect(beats('roll-1').filter((h) => h.state === 'draining')).toEqual([]);
    // The swap is counted once the old engine has drained and closed, which may trail the first
    // answer from the new one on a loaded machine.
    await until('the swap to be counted', async () => /motif_origin_rollout_swaps_total\{strategy="overlap"\} 1/.test(await metricsText(o)), [o]);
    expect(await metricsText(o)).toContain(`motif_origin_weights_revision{revision="${rev.b}"} 1`);

    // The node's store: current is B, roll-1's lease moved to B, gc kept A for the other replica
    // (which still serves it) and C never completed.
    await until('the store to settle', () => basename(readlinkSync(join(store, 'current'))) === rev.b && o.logs.some((l) => l.includes('weights: gc')), [o]);
    expect(readdirSync(join(store, 'snapshots')).sort()).toEqual([rev.a, rev.b].sort());
    expect(existsSync(join(store, 'leases', rev.b, 'roll-1.json'))).toBe(true);
    expect(existsSync(join(store, 'leases', rev.a, 'roll-1.json'))).toBe(false);
    expect(await fingerprint(pinned)).toBe(`fp_${rev.a}`);
    await pinned.proc.stop();
    expect(existsSync(join(store, 'leases', rev.a, 'roll-pinned.json'))).toBe(false);

    await o.proc.stop();
    expect(await o.proc.exited).toBe(0);
    expect(existsSync(join(store, 'leases', rev.b, 'roll-1.json'))).toBe(false);
  });
});

describe('two replicas of one node', () => {
  it('drain-first: both move to the new revision, never out of rotation at the same time', async () => {
    await moveRef(rev.a);
    const store = join(tmp, 'store-2');
    const env = { MOTIF_SWAP_STRATEGY: 'drain-first' };
    const [x, y] = [await startOrigin('roll-x', store, env), await startOrigin('roll-y', store, env)];
    expect(await fingerprint(x)).toBe(`fp_${rev.a}`);
    expect(await fingerprint(y)).toBe(`fp_${rev.a}`);
    const from = edge.received.length;

    await moveRef(rev.b);
    const done = (id: string) => beats(id).some((h) => h.revision === rev.b && h.state === 'ready');
    await until('both replicas on the new revision', () => done('roll-x') && done('roll-y'), [x, y]);
    expect(await fingerprint(x)).toBe(`fp_${rev.b}`);
    expect(await fingerprint(y)).toBe(`fp_${rev.b}`);

    // Replay the beats in arrival order: each replica drained once, never both at once.
    const state = new Map<string, string>();
    const drainedAt = new Set<string>();
    for (const r of edge.received.slice(from)) {
      if (r.path !== '/internal/pool/heartbeat') continue;
      const h = Heartbeat.parse(r.body);
      state.set(h.replica_id, h.state);
      if (h.state === 'draining') drainedAt.add(h.replica_id);
      expect([state.get('roll-x'), state.get('roll-y')]).not.toEqual(['draining', 'draining']);
    }
    expect([...drainedAt].sort()).toEqual(['roll-x', 'roll-y']);
    expect(`${x.logs.join('\n')}\n${y.logs.join('\n')}`).toMatch(/swapping engines \(drain-first: configured\)/);
    expect(existsSync(join(store, 'swap.lock'))).toBe(false);
  });
});
