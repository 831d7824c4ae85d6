/**
 * `npm start` stops completely, whenever it is stopped: SIGTERM or SIGINT to its whole process
 * group (Ctrl-C in a terminal, `timeout`, a supervisor) during start-up or once the banner is up
 * leaves no process of the run and no listening port behind; so does killing the start script
 * outright (its children notice their stdin pipe closing). One data dir for all cases: the model
 * is generated and published once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { killLeftovers, launchStart, type StartRun, type StartVia, waitUntilGone } from '../helpers/stack.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'motif-start-'));
let run: StartRun | undefined;

afterEach(() => {
  killLeftovers(dataDir); // only if a case failed
  run = undefined;
});
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

const BANNER = /^motif-edge is up/;

async function expectAllGone(r: StartRun): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  const exit = await r.exited;
  const left = await waitUntilGone(dataDir, [r.ports.edge, r.ports.origin, r.ports.s3]);
  expect(left, r.output().slice(-3000)).toEqual({ processes: [], ports: [] });
  return exit;
}

describe.each<[StartVia, NodeJS.Signals, 'start-up' | 'banner', RegExp]>([
  // The case: the edge is up, the origin not yet spawned.
  ['tsx', 'SIGTERM', 'start-up', /^\[edge\]/],
  ['node', 'SIGINT', 'start-up', /^\[origin\]/],
  ['node', 'SIGTERM', 'banner', BANNER],
  ['npm', 'SIGTERM', 'start-up', /^\[edge\]/],
  ['npm', 'SIGINT', 'banner', BANNER],
])('%s start, %s to the group', (via, sig, when, at) => {
  it(`during ${when} stops every child and frees every port`, async () => {
    run = await launchStart({ via, dataDir });
    await run.waitFor(at, 90_000);
    run.signalGroup(sig);
    const exit = await expectAllGone(run);
    if (when === 'start-up') expect(run.output()).not.toMatch(/motif-edge is up/);
    // A requested stop is a clean exit (npm reports its own view of a signalled script).
    if (via === 'node') expect(exit).toEqual({ code: 0, signal: null });
  });
});

it('start script killed outright (SIGKILL, no forwarding): the children stop themselves', async () => {
  run = await launchStart({ via: 'node', dataDir });
  await run.waitFor(BANNER, 90_000);
  run.child.kill('SIGKILL'); // the start script alone; its children are in their own groups
  await expectAllGone(run);
});

it('a second Ctrl-C kills the stack at once instead of waiting for the graceful stop', async () => {
  const key = 'sk-motif-test-second-ctrl-c-0123456789';
  run = await launchStart({ via: 'node', dataDir, env: { MOTIF_DEV_API_KEY: key } });
  await run.waitFor(BANNER, 90_000);
  // Long streams keep the graceful stop busy: the origin drains them, the edge lets them finish.
  const streams = await Promise.all(
    Array.from({ length: 4 }, async () => {
      const res = await fetch(`http://127.0.0.1:${run!.ports.edge}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'motif-tiny', stream: true, max_tokens: 2000, ignore_eos: true, messages: [{ role: 'user', content: 'Go on.' }] }),
      });
      expect(res.status).toBe(200);
      return { done: res.body!.pipeTo(new WritableStream()).catch(() => {}) }; // not awaited here
    }),
  );
  run.signalGroup('SIGINT');
  await run.waitFor(/^stopping… \(Ctrl-C again/);
  await new Promise((r) => setTimeout(r, 800)); // past the window in which a repeat is the same signal
  expect(run.child.exitCode, run.output().slice(-2500)).toBeNull(); // still stopping gracefully
  const forcedAt = Date.now();
  run.signalGroup('SIGINT');
  expect(await run.exited).toEqual({ code: 130, signal: null });
  expect(Date.now() - forcedAt).toBeLessThan(2000);
  expect(run.output()).toMatch(/^killing the stack$/m);
  await expectAllGone(run);
  await Promise.all(streams.map((s) => s.done));
});
