/**
 * The admin CLI against the in-process edge (its fetch is the app's): each command reaches the
 * right endpoint with the right body, output is the API's JSON, and refusals exit non-zero with
 * the API's message.
 */
import { describe, expect, it } from 'vitest';
import { testEdge } from '../../edge/src/testing/harness.ts';
import { runAdmin } from './admin.ts';

const TOKEN = 'admin-token-0123456789abcdef';

async function cli() {
  const t = await testEdge({ deps: { options: { adminToken: TOKEN } } });
  const run = async (argv: string[], env: Record<string, string> = { MOTIF_ADMIN_TOKEN: TOKEN }) => {
    let out = '';
    let err = '';
    const code = await runAdmin(argv, env, { out: (s) => (out += s), err: (s) => (err += s), fetch: async (req) => t.app.request(req) });
    return { code, out, err, json: () => JSON.parse(out) as Record<string, unknown> };
  };
  return { t, run };
}

describe('npm run admin', () => {
  it('manages tenants and keys through the admin API', async () => {
    const { run } = await cli();
    const created = await run(['tenants', 'create', 'cli-co', '--name', 'CLI Co', '--rpm', '60', '--monthly-tokens', '5000']);
    expect(created.code).toBe(0);
    expect(created.json()).toMatchObject({ id: 'cli-co', name: 'CLI Co', limits: { rpm: 60 }, quota: { monthly_tokens: 5000 } });
    expect((await run(['tenants', 'update', 'cli-co', '--rpm', 'null', '--tpm', '900', '--disable'])).json()).toMatchObject({
      limits: { rpm: null, tpm: 900 },
      disabled_at: expect.any(Number),
    });
    expect((await run(['tenants', 'update', 'cli-co', '--enable'])).json()).toMatchObject({ disabled_at: null });
    const key = (await run(['keys', 'create', 'cli-co', '--name', 'ci', '--scopes', 'inference,usage:read', '--mode', 'test'])).json();
    expect(key).toMatchObject({ name: 'ci', scopes: ['inference', 'usage:read'], tenant_id: 'cli-co' });
    expect(String(key.key)).toMatch(/^mtf_test_/);
    const listed = await run(['keys', 'list', 'cli-co']);
    expect(listed.out).toContain(String(key.id));
    expect(listed.out).not.toContain(String(key.key));
    const rotated = (await run(['keys', 'rotate', String(key.id), '--overlap', '30'])).json();
    expect(rotated).toMatchObject({ replaces: key.id });
    expect((await run(['keys', 'revoke', String(rotated.id)])).json()).toMatchObject({ revoked_at: expect.any(Number) });
    expect((await run(['tenants', 'list'])).out).toContain('cli-co');
    expect((await run(['tenants', 'get', 'cli-co'])).code).toBe(0);
    expect((await run(['tenants', 'delete', 'cli-co'])).json()).toMatchObject({ deleted: true });
  });

  it.each([
    { name: 'unknown tenant', argv: ['tenants', 'get', 'nope'], code: 1, err: /404: No tenant with id 'nope'/ },
    { name: 'duplicate', argv: ['tenants', 'create', 'acme'], code: 1, err: /409: A tenant with id 'acme' already exists/ },
    { name: 'bad value named by the API', argv: ['tenants', 'create', 'x', '--rpm', 'lots'], code: 1, err: /400: .*limits\.rpm/ },
    { name: 'unknown command', argv: ['tenant', 'list'], code: 2, err: /unknown command/ },
    { name: 'missing argument', argv: ['keys', 'revoke'], code: 2, err: /usage: npm run admin -- keys revoke <key_id>/ },
    { name: 'unknown option', argv: ['tenants', 'list', '--colour'], code: 2, err: /Unknown option '--colour'/ },
  ])('$name → exit $code with a clear message', async ({ argv, code, err }) => {
    const { run } = await cli();
    const r = await run(argv);
    expect(r.code).toBe(code);
    expect(r.err).toMatch(err);
  });

  it('drains and undrains a replica, and names an unknown one', async () => {
    const { t, run } = await cli();
    await t.beat(t.origins[0]!);
    const id = t.origins[0]!.replicaId;
    expect((await run(['replicas', 'drain', id])).json()).toMatchObject({ replica_id: id, in_rotation: false, drained_at: expect.any(Number) });
    expect((await run(['replicas', 'list'])).json()).toMatchObject({ data: [{ replica_id: id, in_rotation: false }] });
    expect((await run(['replicas', 'undrain', id])).json()).toMatchObject({ replica_id: id, in_rotation: true, drained_at: null });
    const unknown = await run(['replicas', 'drain', 'nope']);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toMatch(/404: No replica with id 'nope'/);
  });

  it('needs a token, and says so when the edge refuses one', async () => {
    const { run } = await cli();
    expect((await run(['tenants', 'list'], {})).err).toMatch(/MOTIF_ADMIN_TOKEN is not set/);
    const wrong = await run(['tenants', 'list'], { MOTIF_ADMIN_TOKEN: 'wrong-token-0123456789' });
    expect(wrong.code).toBe(1);
    expect(wrong.err).toMatch(/401: Invalid admin token or API key/);
  });

  it('prints help listing every command', async () => {
    const { run } = await cli();
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    for (const c of ['tenants create', 'tenants update', 'keys rotate', 'usage export', 'replicas drain <replica_id>', 'replicas undrain', 'MOTIF_ADMIN_URL'])
      expect(help.out).toContain(c);
    expect((await run([])).code).toBe(2);
  });

  it('builds the usage queries the usage endpoints take', async () => {
    const seen: string[] = [];
    const r = await runAdmin(
      ['usage', 'export', '--tenant', 'acme', '--from', '1700000000', '--format', 'csv'],
      { MOTIF_ADMIN_TOKEN: TOKEN },
      {
        out: () => {},
        err: () => {},
        fetch: async (req) => {
          seen.push(new URL(req.url).pathname + new URL(req.url).search);
          return new Response('tenant_id\nacme\n', { headers: { 'content-type': 'text/csv' } });
        },
      },
    );
    expect(r).toBe(0);
    expect(seen).toEqual(['/admin/usage/export?tenant=acme&from=1700000000&format=csv']);
  });
});
