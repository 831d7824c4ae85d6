/**
 * `npm start` checks every port before anything starts: a port in use gives one line per port
 * naming the variable to change (no stack trace), exit code 2, and nothing left running — so a
 * leftover stack on the default ports can never be half-joined by a new one.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, expect, it } from 'vitest';
import { freePort } from '../../scripts/stack/processes.ts';
import { killLeftovers, launchStart, type StartRun, waitUntilGone } from '../helpers/stack.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'motif-ports-'));
const servers: Server[] = [];

afterEach(async () => {
  killLeftovers(dataDir); // only if a case failed
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

/** Something else listening on a port, as a leftover process or another service would. */
async function occupy(host: string): Promise<number> {
  const port = await freePort();
  const srv = createServer();
  await new Promise<void>((resolve, reject) => srv.once('error', reject).listen(port, host, resolve));
  servers.push(srv);
  return port;
}

/** Exit 2, nothing of the run left (ports other than `taken` free); returns the printed lines. */
async function expectRefused(run: StartRun, taken: number[]): Promise<string[]> {
  const exit = await run.exited;
  expect(exit, run.output()).toEqual({ code: 2, signal: null });
  const left = await waitUntilGone(
    dataDir,
    Object.values(run.ports).filter((p) => !taken.includes(p)),
    2000,
  );
  expect(left).toEqual({ processes: [], ports: [] });
  // Only the port lines: nothing started, so nothing else was printed.
  expect(run.output()).toBe(run.stderr());
  return run
    .stderr()
    .split('\n')
    .filter((l) => l !== '');
}

it('edge port in use → one line naming MOTIF_EDGE_PORT, exit 2, nothing started', async () => {
  const edge = await occupy('127.0.0.1');
  const run = await launchStart({ via: 'node', dataDir, ports: { edge } });
  expect(await expectRefused(run, [edge])).toEqual([`MOTIF_EDGE_PORT is ${edge}, already in use — set MOTIF_EDGE_PORT=… to a free port`]);
});

it('origin and S3 ports in use (one on 0.0.0.0) → one line each, through the tsx CLI as npm runs it', async () => {
  const origin = await occupy('0.0.0.0');
  const s3 = await occupy('127.0.0.1');
  const run = await launchStart({ via: 'tsx', dataDir, ports: { origin, s3 } });
  expect(await expectRefused(run, [origin, s3])).toEqual([
    `MOTIF_ORIGIN_PORT is ${origin}, already in use — set MOTIF_ORIGIN_PORT=… to a free port`,
    `MOTIF_S3_PORT is ${s3}, already in use — set MOTIF_S3_PORT=… to a free port`,
  ]);
});

it('the same port for two variables → one line naming the second, exit 2', async () => {
  const port = await freePort();
  const run = await launchStart({ via: 'node', dataDir, ports: { edge: port, origin: port } });
  expect(await expectRefused(run, [])).toEqual([`MOTIF_ORIGIN_PORT is ${port}, the same as MOTIF_EDGE_PORT — set MOTIF_ORIGIN_PORT=… to another port`]);
});
