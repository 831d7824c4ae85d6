/**
 * The layer rules (.dependency-cruiser.cjs) hold on the tree, and each rule catches what it is
 * there for: every rule is shown a small tree that breaks it and must name it. Also: no runtime
 * source file grows past 300 lines (STYLE: small files; split by concern instead).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CONFIG = join(ROOT, '.dependency-cruiser.cjs');
const DEPCRUISE = join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');

interface Violation {
  rule: { name: string };
  from: string;
  to: string;
}

/** dependency-cruiser over `paths` (relative to `cwd`), its violations. */
function cruise(cwd: string, paths: string[]): Promise<Violation[]> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [DEPCRUISE, '--config', CONFIG, '--output-type', 'json', ...paths],
      { cwd, maxBuffer: 256 << 20, timeout: 120_000 },
      (err, stdout, stderr) => {
        if (!stdout) return reject(new Error(`depcruise failed: ${stderr || String(err)}`));
        resolve((JSON.parse(stdout) as { summary: { violations: Violation[] } }).summary.violations);
      },
    );
  });
}

describe('layer rules', () => {
  it('hold on the whole tree', async () => {
    const dirs = ['edge', 'origin', 'shared', 'scripts', 'tools', 'bench', 'test'].filter((d) => {
      try {
        return statSync(join(ROOT, d)).isDirectory();
      } catch {
        return false;
      }
    });
    const v = await cruise(ROOT, dirs);
    expect(v.map((x) => `${x.rule.name}: ${x.from} → ${x.to}`)).toEqual([]);
  }, 120_000);

  const tmp = mkdtempSync(join(tmpdir(), 'layers-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it.each<[string, Record<string, string>]>([
    ['no-circular', { 'origin/src/weights/a.ts': "import './b.ts';", 'origin/src/weights/b.ts': "import './a.ts';" }],
    ['shared-stands-alone', { 'shared/src/a.ts': "import '../../origin/src/b.ts';", 'origin/src/b.ts': '' }],
    ['edge-and-origin-apart', { 'edge/src/a.ts': "import '../../origin/src/b.ts';", 'origin/src/b.ts': '' }],
    ['origin-and-edge-apart', { 'origin/src/a.ts': "import '../../edge/src/b.ts';", 'edge/src/b.ts': '' }],
    ['edge-core-not-adapters', { 'edge/src/proxy/a.ts': "import '../adapters/node/b.ts';", 'edge/src/adapters/node/b.ts': '' }],
    ['origin-core-not-adapters', { 'origin/src/server/a.ts': "import '../adapters/node/b.ts';", 'origin/src/adapters/node/b.ts': '' }],
    ['adapters-are-leaves', { 'origin/src/adapters/node/a.ts': "import '../../server/b.ts';", 'origin/src/server/b.ts': '' }],
    ['engine-below-the-service', { 'origin/src/engine/a.ts': "import '../weights/b.ts';", 'origin/src/weights/b.ts': '' }],
    ['rollout-on-ports', { 'origin/src/rollout/a.ts': "import '../server/b.ts';", 'origin/src/server/b.ts': '' }],
    ['runtime-not-tooling', { 'origin/src/a.ts': "import '../../tools/b.ts';", 'tools/b.ts': '' }],
    ['no-test-code-in-runtime', { 'origin/src/a.ts': "import './b.test.ts';", 'origin/src/b.test.ts': '' }],
  ])(
    '%s catches a deliberate violation',
    async (rule, files) => {
      const dir = join(tmp, rule);
      for (const [path, text] of Object.entries(files)) {
        mkdirSync(dirname(join(dir, path)), { recursive: true });
        writeFileSync(join(dir, path), `${text}\nexport {};\n`);
      }
      const roots = [...new Set(Object.keys(files).map((p) => p.split('/')[0]!))];
      const v = await cruise(dir, roots);
      expect(v.map((x) => x.rule.name)).toContain(rule);
    },
    60_000,
  );
});

describe('file size', () => {
  it('no runtime source file is over 300 lines', () => {
    const long: string[] = [];
    const walk = (dir: string): void => {
      for (const name of readdirSync(dir)) {
        const p = join(dir, name);
        if (name === 'node_modules' || name === 'build' || name === 'fixtures') continue;
        if (statSync(p).isDirectory()) walk(p);
        else if (/\.(ts|mjs|cc|h)$/.test(name) && !/\.test\.ts$|test-support|test-helpers|\.d\.ts$/.test(name)) {
          const text = readFileSync(p, 'utf8');
          const lines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
          if (lines > 300) long.push(`${relative(ROOT, p)}: ${lines}`);
        }
      }
    };
    for (const d of ['edge', 'origin', 'shared', 'scripts', 'tools']) {
      try {
        walk(join(ROOT, d));
      } catch {
        // a folder that does not exist (yet)
      }
    }
    expect(long).toEqual([]);
  });
});
