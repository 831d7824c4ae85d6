/**
 * The conformance CLI as a real process (`npm run -s motif -- …`) on the tiny-motif fixture:
 * stdout must be exactly one JSON line matching expected.json; errors exit 2 with stderr only.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FIXTURE = 'test/fixtures/tiny-motif';
interface Case {
  name: string;
  input_ids: number[];
  last_logits: number[];
  greedy_new_ids: number[];
}
const expected = JSON.parse(readFileSync(`${ROOT}${FIXTURE}/expected.json`, 'utf8')) as {
  tolerance: { logits_max_abs: number };
  cases: Case[];
  chat: { messages: { role: string; content: string }[]; prompt: string; ids: number[]; greedy_new_ids: number[] };
};
const byName = (name: string) => expected.cases.find((c) => c.name === name)!;

function motif(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return motifWith({}, ...args);
}

function motifWith(env: Record<string, string>, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('npm', ['run', '-s', 'motif', '--', ...args], { cwd: ROOT, timeout: 60_000, env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** stdout must be one JSON line and nothing else. */
function oneJsonLine(stdout: string): unknown {
  const lines = stdout.split('\n');
  expect(lines).toHaveLength(2);
  expect(lines[1]).toBe('');
  return JSON.parse(lines[0]!);
}

describe('motif CLI', () => {
  it('tokenize --chat renders the chat template and tokenizes exactly as the golden chat; generate --chat continues it', async () => {
    const chat = JSON.stringify(expected.chat.messages);
    const r = await motif('tokenize', '--model', FIXTURE, '--chat', chat);
    expect(r.code, r.stderr).toBe(0);
    expect(oneJsonLine(r.stdout)).toEqual({ text: expected.chat.prompt, ids: expected.chat.ids });
    const g = await motif('generate', '--model', FIXTURE, '--chat', chat, '--max-tokens', '12', '--ignore-eos');
    expect(g.code, g.stderr).toBe(0);
    expect(oneJsonLine(g.stdout)).toEqual({ ids: expected.chat.greedy_new_ids });
  });

  it.each(['len7', 'len40'])('logits of %s match within tolerance', async (name) => {
    const c = byName(name);
    const r = await motif('logits', '--model', FIXTURE, '--ids', c.input_ids.join(','));
    expect(r.code, r.stderr).toBe(0);
    const { logits } = oneJsonLine(r.stdout) as { logits: number[] };
    expect(logits).toHaveLength(c.last_logits.length);
    const maxDiff = Math.max(...logits.map((v, i) => Math.abs(v - c.last_logits[i]!)));
    expect(maxDiff).toBeLessThan(expected.tolerance.logits_max_abs);
  });

  it.each(['len1', 'len19'])('generate on %s prints the golden greedy ids', async (name) => {
    const c = byName(name);
    const r = await motif('generate', '--model', FIXTURE, '--ids', c.input_ids.join(','), '--max-tokens', '12', '--ignore-eos');
    expect(r.code, r.stderr).toBe(0);
    expect(oneJsonLine(r.stdout)).toEqual({ ids: c.greedy_new_ids });
  });

  it('--prompt tokenizes first (special-token strings map to their ids)', async () => {
    const r = await motif('generate', '--model', FIXTURE, '--prompt', expected.chat.prompt, '--max-tokens', '12');
    expect(r.code, r.stderr).toBe(0);
    expect(oneJsonLine(r.stdout)).toEqual({ ids: expected.chat.greedy_new_ids });
  });

  it('MOTIF_WEIGHTS_QUANT=q8 runs the Q8_0 model (logits near the golden ones, not equal); a bad value exits 2 naming it', async () => {
    const c = byName('len7');
    const r = await motifWith({ MOTIF_WEIGHTS_QUANT: 'q8' }, 'logits', '--model', FIXTURE, '--ids', c.input_ids.join(','));
    expect(r.code, r.stderr).toBe(0);
    const { logits } = oneJsonLine(r.stdout) as { logits: number[] };
    const diff = Math.max(...logits.map((v, i) => Math.abs(v - c.last_logits[i]!)));
    expect(diff).toBeGreaterThan(expected.tolerance.logits_max_abs);
    expect(diff).toBeLessThan(2.5);
    const bad = await motifWith({ MOTIF_WEIGHTS_QUANT: 'int4' }, 'logits', '--model', FIXTURE, '--ids', '1,2');
    expect(bad.code).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toMatch(/MOTIF_WEIGHTS_QUANT must be one of none, q8, got 'int4'/);
  });

  it.each([
    ['bad ids', ['generate', '--model', FIXTURE, '--ids', '1,x'], /comma-separated token ids/],
    ['ids outside the vocabulary', ['logits', '--model', FIXTURE, '--ids', '1,384'], /outside the vocabulary/],
  ])('%s → exit 2, message on stderr, nothing on stdout', async (_name, args, message) => {
    const r = await motif(...args);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
  });
});
