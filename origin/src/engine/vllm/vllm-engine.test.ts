/**
 * The supervisor against in-process stand-ins for `vllm serve`: the simulator's OpenAI server on
 * the port the engine chose (a real HTTP server, so fetch, streaming and cancellation are real),
 * and processes that never get healthy or exit at once. The real child process is the
 * integration suite's (test/integration/vllm-engine.test.ts).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ApiError } from '#shared/errors.ts';
import { listenHttp, type NodeHttpServer } from '../../adapters/node/http-server.ts';
import { createSimServerApp } from '../../cli/sim-vllm/app.ts';
import { SimEngine } from '../sim/sim-engine.ts';
import { DEFAULT_SAMPLING, type EngineEvent, type GenerateRequest } from '../types.ts';
import type { ServeCommand } from './recipe.ts';
import type { VllmExit, VllmLauncher, VllmProcess } from './server-start.ts';
import { VllmEngine } from './vllm-engine.ts';

interface FakeServer {
  cmd: ServeCommand;
  sim: SimEngine;
  crash(): void;
}

/** Each spawn serves the simulator on the requested port; `servers` lists them in start order. */
function simLauncher(tuning: Record<string, unknown> = {}): VllmLauncher & { servers: FakeServer[] } {
  const servers: FakeServer[] = [];
  let nextPort = 0;
  return {
    servers,
    async freePort() {
      const probe = await listenHttp(() => new Response(null), '127.0.0.1', 0);
      nextPort = probe.port;
      await probe.close(0);
      return nextPort;
    },
    spawn(cmd) {
      const model = cmd.args[cmd.args.indexOf('--served-model-name') + 1]!;
      const port = Number(cmd.args[cmd.args.indexOf('--port') + 1]);
      const sim = new SimEngine({ modelId: model, speed: 1, ...tuning });
      let settle!: (e: VllmExit) => void;
      const exited = new Promise<VllmExit>((r) => (settle = r));
      let http: NodeHttpServer | undefined;
      void sim.load().then(async () => {
        http = await listenHttp(createSimServerApp({ engine: sim, clock: { now: () => Date.now() } }).fetch, '127.0.0.1', port);
      });
      const stop = async (e: VllmExit) => {
        await http?.close(0);
        await sim.close();
        settle(e);
      };
      servers.push({ cmd, sim, crash: () => void stop({ code: null, signal: 'SIGKILL' }) });
      const proc: VllmProcess = { exited, lastLines: () => ['INFO started'], stop: () => stop({ code: 0, signal: null }) };
      return proc;
    },
  };
}

/** A child that prints a few lines and never answers (or exits at once with `exitCode`). */
function brokenLauncher(exitCode?: number): VllmLauncher {
  return {
    freePort: async () => 1,
    spawn(): VllmProcess {
      let settle!: (e: VllmExit) => void;
      const exited = new Promise<VllmExit>((r) => (settle = r));
      if (exitCode !== undefined) settle({ code: exitCode, signal: null });
      return {
        exited,
        lastLines: () => ['loading weights', 'RuntimeError: HIP error: invalid device function'],
        stop: async () => settle({ code: 0, signal: null }),
      };
    },
  };
}

const recipe = { version: '0.10.2', image: 'img', flags: ['--dtype', 'bfloat16'], env: { VLLM_ROCM_USE_AITER: '0' } };
const engines: VllmEngine[] = [];
function engine(launcher: VllmLauncher, extra: Record<string, unknown> = {}, log: string[] = []): VllmEngine {
  const e = new VllmEngine(
    {
      modelDir: '/snap/r1',
      modelId: 'motif-2.6b',
      revision: 'r1',
      maxRunning: 4,
      recipe,
      gpu: '1',
      healthPollMs: 20,
      metricsPollMs: 50,
      restart: { baseMs: 30 },
      ...extra,
    },
    { launchVllm: launcher, log: (l) => log.push(l) },
  );
  engines.push(e);
  return e;
}
afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.close()));
});

const chat = (maxTokens: number, extra: Partial<GenerateRequest> = {}): GenerateRequest => ({
  requestId: 'r1',
  prompt: { kind: 'chat', messages: [{ role: 'user', content: 'Hello there' }] },
  sampling: { ...DEFAULT_SAMPLING, temperature: 0 },
  stop: [],
  maxTokens,
  ignoreEos: true,
  ...extra,
});

async function collect(it: AsyncIterable<EngineEvent>): Promise<EngineEvent[]> {
  const out: EngineEvent[] = [];
  for await (const e of it) out.push(e);
  return out;
}

const until = async (cond: () => boolean, ms = 5_000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('VllmEngine', () => {
  it('starts vllm serve with the recipe and GPU, is healthy, generates with vLLM usage and scrapes stats', async () => {
    const launcher = simLauncher({ speed: 100 });
    const e = engine(launcher);
    expect(e.healthy()).toBe(false);
    await e.load();
    expect(e.healthy()).toBe(true);
    const { cmd } = launcher.servers[0]!;
    expect(cmd.args.slice(0, 2)).toEqual(['serve', '/snap/r1']);
    expect(cmd.args).toEqual(expect.arrayContaining(['--served-model-name', 'motif-2.6b', '--max-num-seqs', '4', '--dtype', 'bfloat16']));
    expect(cmd.env).toEqual({ VLLM_ROCM_USE_AITER: '0', ROCR_VISIBLE_DEVICES: '1', HIP_VISIBLE_DEVICES: '0' });
    expect(e.info()).toMatchObject({ backend: 'vllm', revision: 'r1', maxContextTokens: 4096 });

    const events = await collect(e.generate(chat(5), new AbortController().signal));
    expect(events[0]).toMatchObject({ type: 'start' });
    expect(events.filter((x) => x.type === 'delta').length).toBeGreaterThan(0);
    const finish = events.at(-1)!;
    expect(finish).toMatchObject({ type: 'finish', reason: 'length', usage: { completionTokens: 5 } });
    expect((finish as { usage: { promptTokens: number } }).usage.promptTokens).toBeGreaterThan(0);
    await until(() => e.stats().generationTokensTotal >= 5);
    expect(e.stats()).toMatchObject({ maxRunning: 4, running: 0 });
  });

  it('client abort cancels the upstream request and ends with finish(abort) and the usage so far', async () => {
    const launcher = simLauncher();
    const e = engine(launcher);
    await e.load();
    const ctrl = new AbortController();
    const events: EngineEvent[] = [];
    for await (const ev of e.generate(chat(2_000), ctrl.signal)) {
      events.push(ev);
      if (events.filter((x) => x.type === 'delta').length === 3) ctrl.abort();
    }
    expect(events.at(-1)).toMatchObject({ type: 'finish', reason: 'abort' });
    const sim = launcher.servers[0]!.sim;
    await until(() => sim.stats().running === 0);
  });

  it('a crash mid-stream fails the stream; the engine is unhealthy, refuses, restarts and serves again', async () => {
    const launcher = simLauncher();
    const log: string[] = [];
    const e = engine(launcher, {}, log);
    await e.load();
    const events: EngineEvent[] = [];
    const run = (async () => {
      for await (const ev of e.generate(chat(2_000), new AbortController().signal)) {
        events.push(ev);
        if (events.length === 3) launcher.servers[0]!.crash();
      }
    })();
    await expect(run).rejects.toMatchObject({ code: 'engine_unavailable' });
    await until(() => !e.healthy());
    await expect(collect(e.generate(chat(2), new AbortController().signal))).rejects.toMatchObject({ code: 'engine_unavailable', retryAfter: 5 });
    await until(() => e.healthy());
    expect(launcher.servers).toHaveLength(2);
    expect(log.join('\n')).toMatch(/was killed by SIGKILL; out of rotation[\s\S]*restart 1 in 30 ms[\s\S]*is back/);
    expect((await collect(e.generate(chat(2), new AbortController().signal))).at(-1)).toMatchObject({ type: 'finish', reason: 'length' });
  });

  it('drain waits for running requests, then refuses new ones', async () => {
    const e = engine(simLauncher());
    await e.load();
    const it = e.generate(chat(30), new AbortController().signal)[Symbol.asyncIterator]();
    await it.next();
    let drained = false;
    const draining = e.drain().then(() => (drained = true));
    await new Promise((r) => setTimeout(r, 30));
    expect(drained).toBe(false);
    for (let r = await it.next(); !r.done; r = await it.next());
    await draining;
    await expect(collect(e.generate(chat(2), new AbortController().signal))).rejects.toThrow(/draining/);
  });

  it.each([
    {
      name: 'never healthy',
      launcher: () => brokenLauncher(),
      message: /did not answer 200 within 1 s[\s\S]*last lines of vllm[\s\S]*invalid device function/,
    },
    { name: 'exits at once', launcher: () => brokenLauncher(1), message: /exited with code 1 before it was healthy[\s\S]*invalid device function/ },
  ])('a vLLM that $name fails the start with its last lines', async ({ launcher, message }) => {
    const e = engine(launcher(), { recipe: { ...recipe, startupTimeoutSeconds: 1 } });
    const err = await e.load().catch((x: unknown) => x);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as Error).message).toMatch(message);
    expect(e.healthy()).toBe(false);
  });
});
