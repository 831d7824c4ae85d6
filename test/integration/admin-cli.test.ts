/**
 * The admin flow on a real Node edge process through the real CLI (`npm run -s admin -- …`):
 * create tenant → create key → call → rotate with an overlap (both keys work, then only the new
 * one) → revoke (refused at once: Node has no key cache). No origin is needed: `/v1/models`
 * authenticates like a completion and answers with whatever the pool holds.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminCli, adminFlow } from '../helpers/admin-cli.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ADMIN_TOKEN = 'integration-admin-token-0123456789';
const DEV_KEY = 'sk-motif-dev-local-integration-0123456789';
const dataDir = mkdtempSync(join(tmpdir(), 'motif-admin-cli-'));
let edge: ChildProcess;
let edgeUrl = '';

beforeAll(async () => {
  edge = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'edge/src/node.ts')], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      MOTIF_ORIGIN_SECRET: 'k1:integration-origin-secret-0123456789',
      MOTIF_NODE_KEYS: 'n1:integration-node-secret-0123456789@n1',
      MOTIF_KEY_PEPPER: 'integration-key-pepper-0123456789abcdef',
      MOTIF_ADMIN_TOKEN: ADMIN_TOKEN,
      MOTIF_DEV_API_KEY: DEV_KEY,
      MOTIF_EDGE_PORT: '0',
      MOTIF_EDGE_DATA_DIR: join(dataDir, 'edge'),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  edge.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  edge.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  for (let i = 0; i < 400 && !edgeUrl; i++) {
    edgeUrl = /"url":"(http:[^"]+)"/.exec(out)?.[1] ?? '';
    if (!edgeUrl) await new Promise((r) => setTimeout(r, 50));
  }
  if (!edgeUrl) throw new Error(`edge did not start:\n${out}`);
}, 30_000);

afterAll(() => {
  edge?.kill('SIGTERM');
  rmSync(dataDir, { recursive: true, force: true });
});

const admin = (...args: string[]) => adminCli(edgeUrl, ADMIN_TOKEN, ...args);
const models = async (key: string) => (await fetch(`${edgeUrl}/v1/models`, { headers: { authorization: `Bearer ${key}` } })).status;

describe('admin flow through the CLI on the Node edge', () => {
  it('create tenant → key → call → rotate with overlap → revoke → 401 (at once: Node has no key cache), then the usage views', async () => {
    expect(await models(DEV_KEY)).toBe(200); // the seeded legacy-format key keeps working
    await adminFlow(edgeUrl, ADMIN_TOKEN, 'it-co');
  }, 60_000);

  it('prints the API error and exits 1 when refused', async () => {
    const r = await admin('tenants', 'get', 'nobody');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("404: No tenant with id 'nobody'");
  }, 30_000);
});
