/**
 * The README, used as a newcomer uses it: every shell line of it is run by a test (this file, or
 * the one named in COVERED_BY), so the docs cannot drift from the code. Here: `npm start` (the
 * real npm script), the README's curl example three times in a row, the SDK snippet twice, the
 * same curl through `npm run start:worker`, the conformance CLI lines, and serving a published
 * model under its own name. Ports come from the environment, as the README's table says; the
 * command lines are otherwise run as written.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { REPO_ROOT } from '../../scripts/stack/processes.ts';
import { readReadme } from '../helpers/readme.ts';
import { killLeftovers, launchStart, type StartRun, waitUntilGone } from '../helpers/stack.ts';

const readme = readReadme();
const FIXTURE = join(REPO_ROOT, 'test/fixtures/tiny-motif');
const BANNER = /^motif-edge is up/;

/** Where each kind of README line is run (a line no rule matches fails the first test). */
const COVERED_BY: [RegExp, string][] = [
  [/^npm install && npm start$/, 'this file (npm start); .ci/run installs'],
  [/^npm install && npm test$/, '.ci/run: npm ci, then npm test, which is this suite'],
  [/^curl /, 'this file, against npm start and npm run start:worker'],
  [/^MOTIF_MODEL_ID=motif-2\.6b npm start$/, 'this file'],
  [/^npm run -s motif -- /, 'this file'],
  [/^npm run weights -- /, 'test/integration/weights-cli.test.ts (every such line, as written)'],
];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function sh(line: string, env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile('bash', ['-c', line], { cwd: REPO_ROOT, timeout: 90_000, env: { ...process.env, ...env }, maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
    );
  });
}

/** The README line with the default edge port swapped for the run's (the README's table names the variable). */
const onPort = (line: string, port: number) => line.replaceAll('127.0.0.1:4680', `127.0.0.1:${port}`);
const curlLine = () => readme.shell.find((l) => l.startsWith('curl '))!;

const dataDirs: string[] = [];
let run: StartRun | undefined;
const dataDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'motif-readme-'));
  dataDirs.push(d);
  return d;
};

afterEach(async () => {
  if (!run) return;
  run.signalGroup('SIGINT');
  await run.exited;
  run = undefined;
});
afterAll(() => {
  for (const d of dataDirs) {
    killLeftovers(d);
    rmSync(d, { recursive: true, force: true });
  }
});

/** The README's curl example streams to [DONE] with no error event. */
async function expectCurlWorks(port: number): Promise<void> {
  const r = await sh(onPort(curlLine(), port));
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).not.toContain('event: error');
  expect(r.stdout.trimEnd().endsWith('data: [DONE]'), r.stdout.slice(-500)).toBe(true);
  expect(r.stdout).toMatch(/"finish_reason":"(length|stop)"/);
}

describe('the README', () => {
  it('every shell line is run by a test', () => {
    expect(readme.shell.length).toBeGreaterThan(10);
    const uncovered = readme.shell.filter((l) => !COVERED_BY.some(([re]) => re.test(l)));
    expect(uncovered, 'README lines no test runs: add them to COVERED_BY with the test that runs them').toEqual([]);
  });

  it('every npm script it names exists', () => {
    const scripts = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    const named = [...readme.text.matchAll(/npm run (?:-s )?([a-z][\w:-]*)/g)].map((m) => m[1]!);
    expect(named.filter((n) => !(n in scripts) && !n.endsWith(':'))).toEqual([]);
  });

  it('npm start: the banner shows the README example; curl three times and the SDK snippet twice all succeed; Ctrl-C frees every port', async () => {
    const dir = dataDir();
    run = await launchStart({ via: 'npm', dataDir: dir });
    await run.waitFor(BANNER, 150_000);
    // The banner's curl is the README's, for this run's port.
    const flat = (t: string) => t.replace(/\\\n\s*/g, '').replace(/\s+/g, ' ');
    expect(flat(run.output())).toContain(flat(onPort(curlLine(), run.ports.edge)));
    for (let i = 0; i < 3; i++) await expectCurlWorks(run.ports.edge);

    // Inside the checkout, as a reader's own script would be, so `openai` resolves from node_modules.
    mkdirSync(join(REPO_ROOT, '.data'), { recursive: true });
    const file = join(REPO_ROOT, '.data', `readme-sdk-${process.pid}.mts`);
    writeFileSync(file, onPort(readme.typescript[0]!, run.ports.edge));
    onTestFinished(() => rmSync(file, { force: true }));
    for (let i = 0; i < 2; i++) {
      const r = await sh(`node --import tsx ${file}`);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/completion_tokens/);
    }
    const stopping = run;
    run = undefined;
    stopping.signalGroup('SIGINT');
    await stopping.exited;
    const ports = [stopping.ports.edge, stopping.ports.origin, stopping.ports.s3];
    expect(await waitUntilGone(dir, ports)).toEqual({ processes: [], ports: [] });
  });

  it('npm run start:worker: the same curl three times', async () => {
    run = await launchStart({ via: 'npm', npmScript: 'start:worker', dataDir: dataDir() });
    await run.waitFor(BANNER, 150_000);
    for (let i = 0; i < 3; i++) await expectCurlWorks(run.ports.edge);
  });

  it('the conformance CLI lines print one JSON line each', async () => {
    const lines = readme.shell.filter((l) => l.startsWith('npm run -s motif -- '));
    expect(lines.length).toBeGreaterThanOrEqual(4);
    for (const line of lines) {
      const r = await sh(line);
      expect(r.code, `${line}\n${r.stderr}`).toBe(0);
      expect(Object.keys(JSON.parse(r.stdout))).not.toHaveLength(0);
    }
  });

  it('MOTIF_MODEL_ID=motif-2.6b npm start: refused with the next step until published, then serves it under that name', async () => {
    const dir = dataDir();
    const line = readme.shell.find((l) => /^MOTIF_MODEL_ID=motif-2\.6b npm start$/.test(l))!;
    const env = { MOTIF_MODEL_ID: /^MOTIF_MODEL_ID=(\S+)/.exec(line)![1] };
    run = await launchStart({ via: 'npm', dataDir: dir, env });
    await run.exited;
    expect(run.output()).toMatch(/motif-2\.6b@stable is not in .*publish it first \(npm run weights -- publish/);
    run = undefined;

    const publish = readme.shell.find((l) => l.includes('publish --from /path/to/Motif-2.6B'))!;
    const p = await sh(publish.replace('/path/to/Motif-2.6B', FIXTURE), { MOTIF_DATA_DIR: dir });
    expect(p.code, p.stderr).toBe(0);
    run = await launchStart({ via: 'npm', dataDir: dir, env });
    await run.waitFor(BANNER, 150_000);
    expect(run.output()).toMatch(/model\s+motif-2\.6b/);
    expect(run.output()).not.toMatch(/tiny random-weight/);
    const r = await sh(onPort(curlLine(), run.ports.edge).replace('"model":"motif-tiny"', '"model":"motif-2.6b"'));
    expect(r.stdout.trimEnd().endsWith('data: [DONE]'), r.stdout.slice(-300)).toBe(true);
  });
});
