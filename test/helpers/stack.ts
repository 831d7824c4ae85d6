/**
 * Starts the real stack (embedded S3, origin process, edge process) on free ports in a temp data
 * dir — the same wiring as `npm start` — for end-to-end suites.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadStackConfig } from '../../scripts/stack/config.ts';
import { freePort } from '../../scripts/stack/processes.ts';
import { startStack, type Stack } from '../../scripts/stack/stack.ts';

export interface TestStack extends Stack {
  logs: string[];
  dispose(): Promise<void>;
}

export async function startTestStack(opts: { edge?: 'node' | 'worker'; originEnv?: NodeJS.ProcessEnv } = {}): Promise<TestStack> {
  const dataDir = mkdtempSync(join(tmpdir(), 'motif-e2e-'));
  const logs: string[] = [];
  const cfg = loadStackConfig({}, {
    MOTIF_DATA_DIR: dataDir,
    MOTIF_EDGE_PORT: await freePort(),
    MOTIF_ORIGIN_PORT: await freePort(),
    MOTIF_S3_PORT: await freePort(),
    MOTIF_EDGE: opts.edge ?? 'node',
  });
  const log = (line: string) => {
    logs.push(line);
    if (process.env.MOTIF_TEST_VERBOSE) console.log(line);
  };
  let stack: Stack;
  try {
    stack = await startStack(cfg, { log, originEnv: opts.originEnv, readyTimeoutMs: 150_000 });
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- stack logs ---\n${logs.slice(-60).join('\n')}`);
  }
  return Object.assign(stack, {
    logs,
    async dispose() {
      await stack.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  });
}
