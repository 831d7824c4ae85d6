/**
 * The Worker's deployment config (infra/cloudflare/wrangler.jsonc): `wrangler deploy --dry-run`
 * bundles it as a deploy would, offline and without a Cloudflare login; the config gives the
 * deployed Worker a URL, a migration for every Durable Object class, and no secret in plain vars;
 * the guide tells the operator to `wrangler secret put` every secret the Worker reads.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DO_BINDINGS } from '../../edge/src/adapters/cloudflare/env.ts';
import { ROOT, read } from './files.ts';

const CONFIG = 'infra/cloudflare/wrangler.jsonc';
/** What the Worker refuses to run without outside MOTIF_DEV, and the admin token: secrets, never vars. */
const SECRETS = ['MOTIF_ORIGIN_SECRET', 'MOTIF_NODE_KEYS', 'MOTIF_KEY_PEPPER', 'MOTIF_ADMIN_TOKEN'];

type RawConfig = {
  workers_dev?: boolean;
  routes?: unknown[];
  vars?: Record<string, unknown>;
  durable_objects?: { bindings: { name: string; class_name: string }[] };
  migrations?: { tag: string; new_sqlite_classes?: string[]; new_classes?: string[] }[];
};

async function rawConfig(): Promise<RawConfig> {
  const { experimental_readRawConfig } = await import('wrangler');
  return experimental_readRawConfig({ config: join(ROOT, CONFIG) }).rawConfig as RawConfig;
}

describe('wrangler.jsonc', () => {
  it('wrangler deploy --dry-run bundles the Worker with its bindings, offline and logged out', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'motif-wrangler-dry-'));
    try {
      const env: NodeJS.ProcessEnv = { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', CI: 'true' };
      for (const k of ['CLOUDFLARE_API_TOKEN', 'CLOUDFLARE_API_KEY', 'CLOUDFLARE_ACCOUNT_ID']) delete env[k];
      const res = spawnSync(
        process.execPath,
        [join(ROOT, 'node_modules/wrangler/bin/wrangler.js'), 'deploy', '--dry-run', '--config', CONFIG, '--outdir', outdir],
        {
          cwd: ROOT,
          env,
          encoding: 'utf8',
          timeout: 90_000,
        },
      );
      const out = `${res.stdout}\n${res.stderr}`;
      expect(res.status, out).toBe(0);
      expect(out).toContain('--dry-run: exiting now.');
      for (const [binding, cls] of Object.entries(DO_BINDINGS)) expect(out).toContain(`env.${binding} (${cls})`);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });

  it('gives the deployed Worker a URL (workers.dev or a route)', async () => {
    const c = await rawConfig();
    expect(c.workers_dev === true || (c.routes?.length ?? 0) > 0).toBe(true);
  });

  it('binds the Durable Objects the code declares, each created by exactly one SQLite migration', async () => {
    const c = await rawConfig();
    expect(Object.fromEntries(c.durable_objects!.bindings.map((b) => [b.name, b.class_name]))).toEqual(DO_BINDINGS);
    const tags = c.migrations!.map((m) => m.tag);
    expect(new Set(tags).size).toBe(tags.length);
    const created = c.migrations!.flatMap((m) => m.new_sqlite_classes ?? []);
    expect(created.sort()).toEqual(Object.values(DO_BINDINGS).sort());
    // Key-value storage classes cannot become SQLite ones later: none may exist.
    expect(c.migrations!.flatMap((m) => m.new_classes ?? [])).toEqual([]);
  });

  it('keeps secrets out of vars, and the guide puts every one with wrangler secret put', async () => {
    const c = await rawConfig();
    for (const s of SECRETS) expect(Object.keys(c.vars ?? {})).not.toContain(s);
    const guide = read('infra/cloudflare/README.md');
    for (const s of SECRETS) expect(guide, s).toContain(`wrangler secret put ${s}`);
  });
});
