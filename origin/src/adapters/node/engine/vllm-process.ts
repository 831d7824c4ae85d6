/**
 * The Node launcher of the vllm engine (engine/vllm/server-start.ts `VllmLauncher`): runs the
 * vLLM executable as a child in its own process group (vLLM forks engine-core workers; stopping
 * the group stops them too), copies its stdout and stderr line by line to the origin's log under
 * a prefix, keeps the last lines for a failed start's error, and stops it with SIGTERM, then
 * SIGKILL after a grace period.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { freePort } from '#shared/adapters/node/free-port.ts';
import { createEngine } from '../../../engine/registry.ts';
import type { Engine } from '../../../engine/types.ts';
import { parseVllmRecipe, type VllmRecipe } from '../../../engine/vllm/recipe.ts';
import type { VllmExit, VllmLauncher, VllmProcess } from '../../../engine/vllm/server-start.ts';

export interface NodeVllmLauncherOptions {
  /** The executable: `vllm` (found on PATH) unless MOTIF_VLLM_BIN names another. */
  bin: string;
  log: (line: string) => void;
  /** Put before every line the child prints, e.g. `vllm[gpu 0]`. */
  prefix: string;
  /** Lines kept for the error of a start that failed. */
  keepLines?: number;
}

export function nodeVllmLauncher(opts: NodeVllmLauncherOptions): VllmLauncher {
  return { freePort, spawn: (cmd) => spawnVllm(opts, cmd.args, cmd.env) };
}

function spawnVllm(opts: NodeVllmLauncherOptions, args: string[], env: Record<string, string>): VllmProcess {
  const keep = opts.keepLines ?? 40;
  const recent: string[] = [];
  const line = (text: string) => {
    opts.log(`${opts.prefix} ${text}`);
    recent.push(text);
    if (recent.length > keep) recent.shift();
  };
  const child = spawn(opts.bin, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let gone = false;
  const exited = new Promise<VllmExit>((resolve) => {
    child.once('error', (err) => {
      // ENOENT, EACCES: the process never ran, so no 'exit' follows.
      line(`cannot run ${opts.bin}: ${err.message}`);
      gone = true;
      resolve({ code: null, signal: null });
    });
    child.once('exit', (code, signal) => {
      gone = true;
      // Let the pipes hand over the last lines first (a forked worker may hold them open, so not 'close').
      setTimeout(() => resolve({ code, signal }), 100);
    });
  });
  for (const stream of [child.stdout, child.stderr]) {
    let partial = '';
    stream.setEncoding('utf8').on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() ?? '';
      for (const p of parts) if (p.trim() !== '') line(p.trimEnd());
    });
    stream.on('end', () => {
      if (partial.trim() !== '') line(partial.trimEnd());
      partial = '';
    });
  }
  const signalGroup = (sig: NodeJS.Signals) => {
    if (gone || child.pid === undefined) return;
    try {
      process.kill(-child.pid, sig);
    } catch {
      // already gone
    }
  };
  return {
    exited,
    lastLines: () => [...recent],
    async stop(graceMs) {
      signalGroup('SIGTERM');
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = await Promise.race([exited.then(() => false), new Promise<boolean>((r) => (timer = setTimeout(() => r(true), graceMs)))]);
      clearTimeout(timer);
      if (late) signalGroup('SIGKILL');
      await exited;
    },
  };
}

/**
 * The vllm engines of one replica, one per weights revision (a rolling update starts the next):
 * the recipe is read once here, so a bad one fails the start rather than the first update; the
 * children run `bin` and print to `out.log` under `out.prefix`.
 */
export function nodeVllmEngines(
  settings: { bin: string; recipeFile: string | undefined; gpu: string | undefined },
  replica: { modelId: string; maxRunning: number },
  out: { log: (line: string) => void; prefix: string },
): (target: { dir: string; revision: string }) => Engine {
  const recipe = readVllmRecipeFile(settings.recipeFile);
  const gpu = settings.gpu !== undefined ? { gpu: settings.gpu } : {};
  const loaders = { log: out.log, launchVllm: nodeVllmLauncher({ bin: settings.bin, log: out.log, prefix: out.prefix }) };
  return (target) => createEngine('vllm', { modelDir: target.dir, revision: target.revision, ...replica, recipe, ...gpu }, loaders);
}

/** The launch recipe in `file`, or the one this checkout ships (infra/engines/vllm/recipe.json); throws naming the file. */
export function readVllmRecipeFile(file: string | undefined): VllmRecipe {
  const path = file ?? fileURLToPath(new URL('../../../../../infra/engines/vllm/recipe.json', import.meta.url));
  try {
    return parseVllmRecipe(JSON.parse(readFileSync(path, 'utf8')));
  } catch (err) {
    throw new Error(`MOTIF_VLLM_RECIPE: ${path}: ${(err as Error).message}`);
  }
}
