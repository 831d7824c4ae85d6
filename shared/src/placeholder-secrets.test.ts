import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEV_API_KEY, DEV_NODE_KEYS, DEV_ORIGIN_SECRET, isSecretVariable, placeholderReason, placeholderSecretProblems } from './placeholder-secrets.ts';

const APPLIANCE = join(import.meta.dirname, '../../infra/appliance');

/** `NAME=value` lines of an env file, commented-out ones included (operators uncomment them). */
function envLines(text: string): [string, string][] {
  return text
    .split('\n')
    .map((l) => l.replace(/^#\s*/, '').trim())
    .filter((l) => /^[A-Z][A-Z0-9_]*=/.test(l))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]);
}

describe('placeholder secrets', () => {
  it.each([
    ['the edge dev keyring', DEV_ORIGIN_SECRET],
    ['the edge dev node keys', DEV_NODE_KEYS],
    ['the stack dev API key', DEV_API_KEY],
    ['a renamed dev secret', 'k9:motif-dev-origin-secret-do-not-use-in-production'],
    ['an example placeholder', 'k1:change-me-to-a-long-random-secret'],
    ['upper case', 'CHANGE-ME'],
    ['replace-me', 'replace-me-with-a-token'],
  ])('refuses %s', (_name, value) => {
    expect(placeholderReason(value)).toBeDefined();
  });

  it.each(['k1:9f2c4e7a1b3d5f60718293a4b5c6d7e8', 'mtf_live_abc123', 'S3RVER'])('accepts %s', (value) => {
    expect(placeholderReason(value)).toBeUndefined();
  });

  it.each([
    ['MOTIF_ORIGIN_SECRET', true],
    ['MOTIF_NODE_KEYS', true],
    ['MOTIF_NODE_KEY', true],
    ['MOTIF_ADMIN_TOKEN', true],
    ['MOTIF_DEV_API_KEY', true],
    ['MOTIF_KEY_PEPPER', true],
    ['AWS_SECRET_ACCESS_KEY', true],
    ['MOTIF_KV_BUDGET_TOKENS', false],
    ['MOTIF_MODEL_ID', false],
    ['AWS_ACCESS_KEY_ID', false],
  ])('%s is a secret variable: %s', (name, expected) => {
    expect(isSecretVariable(name)).toBe(expected);
  });

  it('names each variable, never echoes the value, and allows everything with MOTIF_DEV', () => {
    const env = { MOTIF_ADMIN_TOKEN: 'change-me-admin-token', MOTIF_ORIGIN_SECRET: DEV_ORIGIN_SECRET, MOTIF_MODEL_ID: 'change-me' };
    const problems = placeholderSecretProblems(env, false);
    expect(problems).toHaveLength(2);
    expect(problems.join('\n')).toMatch(/MOTIF_ADMIN_TOKEN: contains the placeholder 'change-me'/);
    expect(problems.join('\n')).toMatch(/MOTIF_ORIGIN_SECRET: is a built-in development default/);
    expect(problems.join('\n')).not.toContain('admin-token');
    expect(placeholderSecretProblems(env, true)).toEqual([]);
  });

  it('every secret in the example env files is a placeholder the list catches', () => {
    const files = readdirSync(APPLIANCE).filter((f) => f.includes('.env'));
    expect(files.length).toBeGreaterThan(0);
    const secrets = files.flatMap((f) => envLines(readFileSync(join(APPLIANCE, f), 'utf8')).filter(([name]) => isSecretVariable(name)));
    expect(secrets.length).toBeGreaterThan(0);
    for (const [name, value] of secrets) expect(placeholderReason(value), `${name}=${value}`).toBeDefined();
  });
});
