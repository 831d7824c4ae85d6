/**
 * `npm run bench:cache [-- --quick | --pairs 40]`
 *
 * The edge's response cache through real processes: the same stack as `npm start` (embedded S3,
 * one origin with the native engine on the generated tiny model, the Node edge with
 * the cache on, as by default), in a temporary data dir on free ports. Two parts:
 *
 * - hit vs miss: `--pairs` deterministic requests never sent before (temperature 0, each its own
 *   seed, 32 and 128 generated tokens), then the same requests again; latency of each as the client
 *   sees it (full body), non-stream and stream. Prints p50/p99 of misses and hits and the ratios.
 * - coalescing: K = 1, 10, 50 concurrent identical requests (a fresh seed each run); the origin's
 *   own request counter (`motif_origin_requests_total` on its /metrics) says how many generations
 *   it ran, beside the MISS/HIT answers the edge gave.
 *
 * Beside them, the edge's floor: an admitted request answered without an origin (an unknown model's
 * 404), which every hit pays too.
 *
 * The last line: `cache: hit p50 faster than miss N.N× at 32 tokens, N.N× at 128 tokens (target ≥
 * 10× at every length: met|NOT met), K=50 concurrent → N origin call(s)`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadStackConfig } from '../../scripts/stack/config.ts';
import { freePort } from '../../scripts/stack/processes.ts';
import { type Stack, startStack } from '../../scripts/stack/stack.ts';
import { closeClient, postJson, sseDataOf } from './client.ts';
import { type CoalesceRun, coalesceTable, counterSum, floorLine, latencyTable, type PairPhase, summarize, TARGET_TOKENS, verdict } from './stats.ts';

const out = (line = '') => process.stdout.write(`${line}\n`);
/** Answer lengths measured: a one-line answer and a short chat answer (TARGET_TOKENS). */
const TOKENS = [32, TARGET_TOKENS];
/** Hits per answer shape before measuring. */
const WARM_HITS = 300;
/** Pause between the misses and their hits. */
const SETTLE_MS = 500;

interface Answer {
  status: number;
  cache: string | null;
  text: string;
  ms: number;
}

function parseArgs(argv: string[]): { pairs: number; ks: number[] } {
  let pairs = 40;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') pairs = 6;
    else if (a === '--pairs') {
      pairs = Number(argv[++i]);
      if (!Number.isInteger(pairs) || pairs < 1 || pairs > 10_000) throw new Error('--pairs takes an integer 1..10000');
    } else throw new Error(`unknown argument ${a} (use --quick or --pairs N)`);
  }
  return { pairs, ks: [1, 10, 50] };
}

async function ask(stack: Stack, seed: number, stream: boolean, maxTokens = 32, model = stack.model): Promise<Answer> {
  const started = performance.now();
  const res = await postJson(
    `${stack.edgeUrl}/v1/chat/completions`,
    { authorization: `Bearer ${stack.apiKey}` },
    JSON.stringify({
      model,
      temperature: 0,
      seed,
      max_tokens: maxTokens,
      ignore_eos: true,
      stream,
      messages: [{ role: 'user', content: 'Summarise what a response cache does.' }],
    }),
  );
  let text = '';
  if (stream && res.status === 200) {
    for (const data of sseDataOf(res.body)) {
      if (data === '[DONE]') continue;
      for (const c of (JSON.parse(data) as { choices: { delta: { content?: string } }[] }).choices) text += c.delta.content ?? '';
    }
  } else if (res.status === 200) {
    text = (JSON.parse(res.body) as { choices?: { message: { content: string } }[] }).choices?.[0]?.message.content ?? '';
  }
  const cache = res.headers['x-cache'];
  return { status: res.status, cache: typeof cache === 'string' ? cache : null, text, ms: performance.now() - started };
}

async function originRequests(stack: Stack): Promise<number> {
  const res = await fetch(`${stack.originUrl}/metrics`, { headers: stack.originMetricsToken ? { authorization: `Bearer ${stack.originMetricsToken}` } : {} });
  if (!res.ok) throw new Error(`origin /metrics answered ${res.status}`);
  return counterSum(await res.text(), 'motif_origin_requests_total');
}

function expectCache(a: Answer, want: string, what: string): void {
  if (a.status !== 200 || a.cache !== want) throw new Error(`${what}: expected 200 x-cache ${want}, got ${a.status} ${a.cache}`);
}

async function pairs(stack: Stack, n: number, tokens: number, stream: boolean, seed0: number): Promise<PairPhase> {
  const miss: number[] = [];
  const hit: number[] = [];
  // All misses first, then their hits: a hit measured right after its miss would share the
  // cores with that miss's aftermath (the origin's usage record, the edge's ledger commit).
  const firsts: Answer[] = [];
  for (let i = 0; i < n; i++) firsts.push(await ask(stack, seed0 + i, stream, tokens));
  // …nor with the last misses' (their usage records reach the edge after the origin's 100 ms linger).
  await sleep(SETTLE_MS);
  for (let i = 0; i < n; i++) {
    const first = firsts[i]!;
    const again = await ask(stack, seed0 + i, stream, tokens);
    expectCache(first, 'MISS', 'first request');
    expectCache(again, 'HIT', 'repeated request');
    if (again.text !== first.text) throw new Error('a hit returned a different text than its miss');
    miss.push(first.ms);
    hit.push(again.ms);
  }
  return { label: `${tokens} tokens, ${stream ? 'stream (to [DONE])' : 'non-stream'}`, tokens, stream, miss: summarize(miss), hit: summarize(hit) };
}

async function coalesce(stack: Stack, k: number, seed: number): Promise<CoalesceRun> {
  const before = await originRequests(stack);
  const started = performance.now();
  const answers = await Promise.all(Array.from({ length: k }, () => ask(stack, seed, false)));
  const wallMs = performance.now() - started;
  const originCalls = (await originRequests(stack)) - before;
  const text = answers[0]?.text;
  return {
    k,
    originCalls,
    misses: answers.filter((a) => a.cache === 'MISS').length,
    hits: answers.filter((a) => a.cache === 'HIT').length,
    bad: answers.filter((a) => a.status !== 200 || a.text !== text).length,
    wallMs,
  };
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const dataDir = mkdtempSync(join(tmpdir(), 'motif-bench-cache-'));
  const logs: string[] = [];
  const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('MOTIF_')));
  const cfg = loadStackConfig(cleanEnv, {
    MOTIF_DATA_DIR: dataDir,
    MOTIF_EDGE_PORT: await freePort(),
    MOTIF_ORIGIN_PORT: await freePort(),
    MOTIF_S3_PORT: await freePort(),
    MOTIF_EDGE: 'node',
  });
  let stack: Stack | undefined;
  try {
    stack = await startStack(cfg, { log: (l) => logs.push(l), edgeEnv: { MOTIF_CACHE: '1' }, readyTimeoutMs: 150_000 });
    out(`bench:cache — Node edge (cache on) → origin (native engine, ${stack.model}, ignore_eos: every request generates max_tokens)`);
    // Warm-up: the first requests pay for JIT and the engine's first batches. A serving edge runs
    // its hit path hot, so it is warmed too: one answer per shape, replayed WARM_HITS times (V8
    // optimises a function after some hundreds of calls; measured cold, a hit costs 2–3× more).
    for (let i = 0; i < 3; i++) await ask(stack, 1_000_000 + i, false);
    for (const [t, tokens] of TOKENS.entries())
      for (const stream of [false, true]) for (let i = 0; i <= WARM_HITS; i++) await ask(stack, 1_100_000 + 2 * t + Number(stream), stream, tokens);
    const streamPairs = Math.max(3, Math.ceil(opts.pairs / 2));
    const phases: PairPhase[] = [];
    for (const [t, tokens] of TOKENS.entries()) {
      phases.push(await pairs(stack, opts.pairs, tokens, false, 1 + t * 10_000));
      phases.push(await pairs(stack, streamPairs, tokens, true, 100_000 + t * 10_000));
    }
    out();
    const floor: number[] = [];
    for (let i = 0; i < opts.pairs; i++) {
      const a = await ask(stack, i, false, 32, 'no-such-model');
      if (a.status !== 404) throw new Error(`the floor request answered ${a.status}, not 404`);
      floor.push(a.ms);
    }
    out(`hit vs miss (${opts.pairs} pairs non-stream, ${streamPairs} stream, per answer length; each request new, then all of them again)`);
    for (const l of latencyTable(phases)) out(l);
    out(`  ${floorLine(summarize(floor), phases)}`);
    const runs: CoalesceRun[] = [];
    for (const [i, k] of opts.ks.entries()) runs.push(await coalesce(stack, k, 200_000 + i));
    out();
    out('coalescing (identical requests sent at once; origin calls from its own counter)');
    for (const l of coalesceTable(runs)) out(l);
    out();
    out(verdict(phases, runs));
  } catch (err) {
    process.stderr.write(`bench:cache: ${(err as Error).message}\n--- stack logs ---\n${logs.slice(-40).join('\n')}\n`);
    process.exitCode = 1;
  } finally {
    closeClient();
    await stack?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
