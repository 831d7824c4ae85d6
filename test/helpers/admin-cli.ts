/**
 * The operator's admin flow through the real CLI (`npm run -s admin -- …`), against any edge
 * (Node process or Worker in workerd): create tenant → key → call → rotate with an overlap (both
 * keys work, then only the new one) → revoke → 401, then the usage views. `/v1/models`
 * authenticates like a completion, so no origin is needed.
 */
import { execFile } from 'node:child_process';
import { expect } from 'vitest';
import { REPO_ROOT } from '../../scripts/stack/processes.ts';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run `npm run -s admin -- …args` against `edgeUrl` with the admin token. */
export function adminCli(edgeUrl: string, token: string, ...args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      'npm',
      ['run', '-s', 'admin', '--', ...args],
      { cwd: REPO_ROOT, timeout: 30_000, env: { ...process.env, MOTIF_ADMIN_URL: edgeUrl, MOTIF_ADMIN_TOKEN: token } },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
    );
  });
}

/** The whole flow for tenant `tenant`; `revokeBoundMs` is how long a revocation may take to reach the edge. */
export async function adminFlow(edgeUrl: string, token: string, tenant: string, revokeBoundMs = 0): Promise<void> {
  const cli = (...args: string[]) => adminCli(edgeUrl, token, ...args);
  const models = async (key: string) => (await fetch(`${edgeUrl}/v1/models`, { headers: { authorization: `Bearer ${key}` } })).status;
  const made = await cli('tenants', 'create', tenant, '--rpm', '100');
  expect(made.code, made.stderr).toBe(0);
  const created = await cli('keys', 'create', tenant, '--name', 'ci');
  expect(created.code, created.stderr).toBe(0);
  const old = JSON.parse(created.stdout) as { id: string; key: string };
  expect(await models(old.key)).toBe(200);

  const rotated = await cli('keys', 'rotate', old.id, '--overlap', '2');
  expect(rotated.code, rotated.stderr).toBe(0);
  const next = JSON.parse(rotated.stdout) as { id: string; key: string; replaces: string };
  expect(next.replaces).toBe(old.id);
  expect(await models(old.key)).toBe(200);
  expect(await models(next.key)).toBe(200);
  await new Promise((r) => setTimeout(r, 2100 + revokeBoundMs));
  expect(await models(old.key)).toBe(401);
  expect(await models(next.key)).toBe(200);

  expect((await cli('keys', 'revoke', next.id)).code).toBe(0);
  await new Promise((r) => setTimeout(r, revokeBoundMs));
  expect(await models(next.key)).toBe(401);

  const usage = await cli('usage', '--tenant', tenant, '--group-by', 'model');
  expect(usage.code, usage.stderr).toBe(0);
  expect(JSON.parse(usage.stdout)).toMatchObject({ object: 'list', group_by: 'model' });
  const csv = await cli('usage', 'export', '--format', 'csv');
  expect(csv.code, csv.stderr).toBe(0);
  expect(csv.stdout.split('\n')[0]).toContain('idempotency_key');
}
