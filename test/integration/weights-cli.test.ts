/**
 * The weights CLI as a newcomer runs it: every `npm run weights -- …` line of the README, as
 * written (placeholders filled in), against a fresh MOTIF_DATA_DIR — first with no S3 running (the
 * CLI serves the embedded S3's data in-process), then beside the stack's own embedded S3 (started
 * by the stack's code, which the CLI must find and use rather than open the same files twice).
 * Also: usage mistakes exit 2 with one line and the usage, and an unreachable S3 is named.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StackConfig } from '../../scripts/stack/config.ts';
import { type S3Handle, startS3 } from '../../scripts/stack/weights.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FIXTURE = path.join(ROOT, 'test/fixtures/tiny-motif');

let tmp: string;
let dataDir: string;
/** The children's environment: ours without any MOTIF_* or AWS_* setting that would change what they use. */
let baseEnv: NodeJS.ProcessEnv;

beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'weights-cli-'));
  dataDir = path.join(tmp, 'data');
  baseEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('MOTIF_') && !k.startsWith('AWS_')));
});

afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** `npm run weights -- <args>` in the repo, with MOTIF_DATA_DIR at the temp dir. */
function weights(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      'npm',
      ['run', '-s', 'weights', '--', ...args],
      { cwd: ROOT, timeout: 30_000, env: { ...baseEnv, MOTIF_DATA_DIR: dataDir, ...env } },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
      },
    );
  });
}

/** Every `npm run weights -- …` line of the README's shell blocks, comments cut. */
async function readmeLines(): Promise<string[][]> {
  const readme = await fs.readFile(path.join(ROOT, 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
  return blocks
    .flatMap((b) => b.split('\n'))
    .filter((l) => l.startsWith('npm run weights -- '))
    .map((l) => l.replace(/#.*$/, '').trim().split(/\s+/).slice(4));
}

const noStackTrace = (s: string) => expect(s).not.toMatch(/^\s+at /m);

describe('weights CLI (README command lines)', () => {
  it('help: --help, -h, help and <command> --help print usage on stdout', async () => {
    const [all, short, word, sub] = await Promise.all([weights(['--help']), weights(['-h']), weights(['help']), weights(['export', '--help'])]);
    for (const r of [all, short, word]) {
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^usage: npm run weights -- <command>/);
      expect(r.stdout).toContain('  export ');
    }
    expect(sub.code).toBe(0);
    expect(sub.stdout).toMatch(/^usage: npm run weights -- export --rev <rev>/);
  });

  it('mistakes: one line naming the problem, then the usage; exit 2; no stack trace', async () => {
    const [cmd, flag] = await Promise.all([weights(['frobnicate']), weights(['ls', '--modle', 'x'])]);
    expect(cmd.code).toBe(2);
    expect(cmd.stderr.split('\n')[0]).toBe("weights: unknown command 'frobnicate'");
    expect(cmd.stderr).toContain('usage: npm run weights -- <command>');
    expect(flag.code).toBe(2);
    expect(flag.stderr.split('\n')[0]).toBe("weights: unknown option --modle for 'ls'");
    expect(flag.stderr).toContain('usage: npm run weights -- ls');
    for (const r of [cmd, flag]) {
      expect(r.stdout).toBe('');
      noStackTrace(r.stderr);
    }
  });

  it('runs every README line as written, with no S3 running (the embedded data is served in-process)', async () => {
    const lines = await readmeLines();
    // The README must show the whole round trip, bare `ls` included.
    const shown = lines.map((l) => l.join(' '));
    for (const want of ['publish', 'sync', 'ls', 'export --rev <rev> <file.tar>', 'import <file.tar>', 'gc', '--help']) {
      expect(
        shown.some((l) => l === want || l.startsWith(`${want} `)),
        `README shows \`npm run weights -- ${want}\``,
      ).toBe(true);
    }
    const tar = path.join(tmp, 'motif.tar');
    let rev = '';
    for (const line of lines) {
      const args = line.map((a) =>
        a.replace('<hf-model-dir>', FIXTURE).replace('/path/to/Motif-2.6B', FIXTURE).replace('<rev>', rev).replace('<file.tar>', tar),
      );
      const r = await weights(args);
      expect(r.code, `npm run weights -- ${args.join(' ')}\n${r.stderr}`).toBe(0);
      noStackTrace(r.stderr);
      if (args[0] === 'publish') {
        rev = /revision ([0-9a-f]{16})/.exec(r.stdout)?.[1] ?? '';
        expect(r.stderr).toContain(`serving it in-process for this command`);
        expect(r.stdout).toContain(`the embedded S3 (${path.join(dataDir, 's3')})`);
      }
      if (args[0] === 'sync') expect(r.stdout).toContain(path.join(dataDir, 'origin', 'weights', 'snapshots', rev));
      if (args[0] === 'ls') {
        expect(r.stdout).toMatch(new RegExp(`^  motif-2\\.6b  refs: stable=${rev}  revisions: ${rev} `, 'm'));
        expect(r.stdout).toContain(`store ${path.join(dataDir, 'origin', 'weights')}:`);
      }
      if (args[0] === 'export') expect(r.stdout).toContain(`exported motif-2.6b revision ${rev}`);
      if (args[0] === 'import') expect(r.stdout).toContain(`imported motif-2.6b revision ${rev}`);
      if (args[0] === 'gc') expect(r.stdout).toContain(`kept ${rev}`);
    }
    expect(rev).toMatch(/^[0-9a-f]{16}$/);
  });

  it('names the configured endpoint when it cannot reach it (exit 1, one line)', async () => {
    const port = await closedPort();
    const r = await weights(['ls'], { MOTIF_S3_ENDPOINT: `http://127.0.0.1:${port}`, AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`weights ls: cannot reach S3 at http://127.0.0.1:${port} (MOTIF_S3_ENDPOINT): connection refused`);
    noStackTrace(r.stderr);
    // No credentials and nothing listening: the endpoint is the problem to report, not the keys.
    const bare = await weights(['sync', '--model', 'motif-2.6b'], { MOTIF_S3_ENDPOINT: `http://127.0.0.1:${port}` });
    expect(bare.code).toBe(1);
    expect(bare.stderr).toContain(`cannot reach S3 at http://127.0.0.1:${port} (MOTIF_S3_ENDPOINT)`);
  });

  describe('beside the stack', () => {
    let s3: S3Handle;

    beforeAll(async () => {
      // The stack's own S3 step over the same data dir (port 0: other runs may hold 4690).
      const cfg = { dataDir, MOTIF_S3_PORT: 0, MOTIF_S3_BUCKET: 'motif-weights' } as StackConfig;
      s3 = await startS3(cfg, () => {});
    });

    afterAll(async () => {
      await s3?.stop();
    });

    it("uses the running stack's S3 instead of serving the same files a second time", async () => {
      const r = await weights(['ls']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain(`using the embedded S3 that pid ${process.pid} (npm start?) serves at ${s3.endpoint}`);
      expect(r.stdout).toContain(`S3 ${s3.endpoint} bucket motif-weights:`);
      expect(r.stdout).toMatch(/^ {2}motif-2\.6b {2}refs: stable=[0-9a-f]{16}/m);
    });

    it('needs no AWS keys when MOTIF_S3_ENDPOINT names that server', async () => {
      const r = await weights(['sync', '--model', 'motif-2.6b', '--ref', 'stable', '--no-activate'], { MOTIF_S3_ENDPOINT: s3.endpoint });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^motif-2\.6b revision [0-9a-f]{16} at /m);
    });

    it('refuses to serve the data a second time', async () => {
      const r = await weights(['s3', '--port', '0']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`is already served at ${s3.endpoint} by pid ${process.pid}`);
    });
  });
});

/** A loopback port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}
