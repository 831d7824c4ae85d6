/**
 * A wall clock a test can set ahead or behind in a running child process, as an NTP step would:
 * preloaded with `--import` (through NODE_OPTIONS), it offsets `Date.now()` by the milliseconds
 * written in a file, which it reads again every 100 ms. Monotonic time (timers,
 * `performance.now()`) is untouched, as with a real clock step. Test-only: the product has no
 * clock knob; signing, heartbeats and usage timestamps all read `Date.now()`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PRELOAD = `data:text/javascript,${encodeURIComponent(
  [
    "import { readFileSync } from 'node:fs';",
    'const file = process.env.MOTIF_TEST_CLOCK_OFFSET_FILE;',
    'let offset = 0;',
    "const read = () => { try { offset = Number(readFileSync(file, 'utf8')) || 0; } catch {} };",
    'read();',
    'const realNow = Date.now;',
    'Date.now = () => realNow() + offset;',
    'setInterval(read, 100).unref();',
  ].join('\n'),
)}`;

export interface SkewableClock {
  /** Environment for the child whose clock is to be skewed. */
  env: NodeJS.ProcessEnv;
  /** Set the child's clock `ms` ahead (negative: behind) of the real one; in effect within ~100 ms. */
  set(ms: number): void;
  dispose(): void;
}

export function skewableClock(): SkewableClock {
  const dir = mkdtempSync(join(tmpdir(), 'motif-clock-'));
  const file = join(dir, 'offset-ms');
  writeFileSync(file, '0');
  return {
    env: { NODE_OPTIONS: `--import ${PRELOAD}`, MOTIF_TEST_CLOCK_OFFSET_FILE: file },
    set(ms) {
      writeFileSync(file, String(Math.round(ms)));
    },
    dispose() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
