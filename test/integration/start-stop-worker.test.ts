/**
 * `npm run start:worker` stops completely too: the edge is `wrangler dev`, which runs esbuild and
 * two workerd processes under it, none of which a signal to npm's process group reaches by itself.
 * SIGTERM/SIGINT to the group while wrangler boots, during the rest of start-up, or once the
 * banner is up, and killing the start script outright, all leave no process and no port behind.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, expect, it } from 'vitest';
import { killLeftovers, launchStart, type StartRun, waitUntilGone } from '../helpers/stack.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'motif-start-worker-'));

afterEach(() => killLeftovers(dataDir)); // only if a case failed
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

async function expectAllGone(r: StartRun): Promise<void> {
  await r.exited;
  const left = await waitUntilGone(dataDir, [r.ports.edge, r.ports.origin, r.ports.s3], 15_000);
  expect(left, r.output().slice(-3000)).toEqual({ processes: [], ports: [] });
}

it('SIGTERM to the group while wrangler boots: wrangler, esbuild and workerd are gone', async () => {
  const run = await launchStart({ via: 'tsx', dataDir, args: ['--edge=worker'] });
  await run.waitFor(/^\[edge\]/, 90_000);
  run.signalGroup('SIGTERM');
  await expectAllGone(run);
});

it('npm run start:worker, SIGINT to the group once workerd serves, before the origin is ready', async () => {
  const run = await launchStart({ via: 'npm', npmScript: 'start:worker', dataDir });
  await run.waitFor(/^\[origin\]/, 90_000);
  expect(run.output()).toMatch(/Ready on http:\/\/127\.0\.0\.1:/);
  run.signalGroup('SIGINT');
  await expectAllGone(run);
  expect(run.output()).not.toMatch(/motif-edge is up/);
});

it('start script killed outright after the banner: wrangler takes its workerd down itself', async () => {
  const run = await launchStart({ via: 'node', dataDir, args: ['--edge=worker'] });
  await run.waitFor(/^motif-edge is up/, 90_000);
  run.child.kill('SIGKILL');
  await expectAllGone(run);
});
