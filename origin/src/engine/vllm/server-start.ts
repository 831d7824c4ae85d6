/**
 * Starting one `vllm serve` child and deciding it is ready: spawn through the launcher the
 * composition root supplies, poll `/health` until it answers 200 (or the process exits, or the
 * recipe's start-up timeout passes), read the context length from `/v1/models`, then run one
 * short warm-up generation so the first user request does not pay for kernel compilation and
 * graph capture. A start that fails stops the child and throws an error carrying its last lines.
 * Web-standard (fetch, timers): the process itself is the launcher's.
 */
import { ApiError } from '#shared/errors.ts';
import { type ServeCommand, type ServeTarget, serveCommand, type VllmRecipe } from './recipe.ts';

export interface VllmExit {
  code: number | null;
  signal: string | null;
}

/** One running child process. */
export interface VllmProcess {
  /** Settles (never rejects) when the process has exited. */
  readonly exited: Promise<VllmExit>;
  /** The last lines it printed (stdout and stderr), oldest first. */
  lastLines(): string[];
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it is gone. */
  stop(graceMs: number): Promise<void>;
}

/** How a runtime starts `vllm` (adapters/node/engine/vllm-process.ts on Node). */
export interface VllmLauncher {
  /** A loopback port nothing listens on, for the next server. */
  freePort(): Promise<number>;
  /** Run the vLLM executable with `cmd` (argv after the executable, extra environment). */
  spawn(cmd: ServeCommand): VllmProcess;
}

export interface RunningServer {
  process: VllmProcess;
  baseUrl: string;
  /** `max_model_len` as the server reports it. */
  maxModelLen: number;
  startedAt: number;
}

export interface StartSettings {
  recipe: VllmRecipe;
  target: Omit<ServeTarget, 'port' | 'host'>;
  launcher: VllmLauncher;
  healthPollMs: number;
  stopGraceMs: number;
  now: () => number;
  /** Aborted when the engine closes meanwhile. */
  signal: AbortSignal;
}

const HOST = '127.0.0.1';

const describeExit = (e: VllmExit) => (e.signal ? `was killed by ${e.signal}` : `exited with code ${e.code}`);

/** Start a server and wait until it is healthy and warmed up; throws ApiError with the child's last lines. */
export async function startServer(s: StartSettings): Promise<RunningServer> {
  const port = await s.launcher.freePort();
  const proc = s.launcher.spawn(serveCommand(s.recipe, { ...s.target, host: HOST, port }));
  const baseUrl = `http://${HOST}:${port}`;
  const deadline = s.now() + s.recipe.startupTimeoutSeconds * 1000;
  let exit: VllmExit | undefined;
  void proc.exited.then((e) => (exit = e));
  try {
    await waitHealthy(baseUrl, s, deadline, () => exit);
    const maxModelLen = await readMaxModelLen(baseUrl, s.target.modelId, s.signal);
    await warmUp(baseUrl, s.target.modelId, s.signal);
    if (exit) throw new Error(`vllm ${describeExit(exit)} during the warm-up`);
    return { process: proc, baseUrl, maxModelLen, startedAt: s.now() };
  } catch (err) {
    await proc.stop(s.stopGraceMs);
    const lines = proc.lastLines();
    throw new ApiError(
      'engine_unavailable',
      `vLLM did not become ready: ${(err as Error).message}${lines.length ? `\n--- last lines of vllm ---\n${lines.join('\n')}` : ''}`,
      { retryAfter: 5, cause: err },
    );
  }
}

async function waitHealthy(baseUrl: string, s: StartSettings, deadline: number, exited: () => VllmExit | undefined): Promise<void> {
  for (;;) {
    if (s.signal.aborted) throw new Error('the engine was closed while vllm was starting');
    const e = exited();
    if (e) throw new Error(`vllm ${describeExit(e)} before it was healthy`);
    try {
      const res = await fetch(`${baseUrl}/health`, { signal: AbortSignal.any([s.signal, AbortSignal.timeout(5_000)]) });
      await res.body?.cancel();
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (s.now() >= deadline) throw new Error(`/health did not answer 200 within ${s.recipe.startupTimeoutSeconds} s`);
    await new Promise((r) => setTimeout(r, s.healthPollMs));
  }
}

async function readMaxModelLen(baseUrl: string, model: string, signal: AbortSignal): Promise<number> {
  const res = await fetch(`${baseUrl}/v1/models`, { signal });
  if (!res.ok) throw new Error(`/v1/models answered ${res.status}`);
  const body = (await res.json()) as { data?: { id?: string; max_model_len?: number }[] };
  const entry = body.data?.find((m) => m.id === model);
  if (!entry) throw new Error(`/v1/models does not list ${model} (is --served-model-name overridden?)`);
  // Releases that do not report it: the origin then bounds nothing and vLLM refuses what is too long.
  return typeof entry.max_model_len === 'number' && entry.max_model_len > 0 ? entry.max_model_len : 0;
}

async function warmUp(baseUrl: string, model: string, signal: AbortSignal): Promise<void> {
  const res = await fetch(`${baseUrl}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, prompt: 'Hello', max_tokens: 2, temperature: 0 }),
    signal,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`the warm-up generation failed with ${res.status}: ${text.slice(0, 300)}`);
}
