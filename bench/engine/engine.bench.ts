/**
 * `npm run bench:engine [-- --prompt=128 --steps=8 --skip-js --quant=q8 --dir=.data/bench/motif-2.6b-bf16 --peer]`
 *
 * The full-size Motif 2.6B (random BF16 weights, generated once and cached) in MotifModel on the
 * fastest kernel: memory bandwidth (the roofline), load time, prefill and decode speed at batch
 * 1/4/16, peak RSS against the checkpoint size, the cost of keeping the event loop free (sync vs
 * paced vs all-async matmuls), a profile of the non-matmul work of a step, and the JS-kernel
 * baseline for one step. `--quant=q8` adds the same model with Q8_0 weights (quant-bench.ts): batch-1
 * decode of both interleaved, their ratio, and the logit distance. Ends with the roofline line.
 * Medians throughout (shared machine).
 * With `--peer`: llama.cpp on the same dimensions in the same run, alternating rounds (peer/).
 */
import { readdirSync, statSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { nodeCheckpoint } from '../../origin/src/adapters/node/engine/checkpoint-dir.ts';
import { loadKernelsAddon } from '../../origin/src/adapters/node/engine/kernels-addon/kernels-addon.ts';
import { selectNodeKernel } from '../../origin/src/adapters/node/engine/node-kernels.ts';
import { KvCache } from '../../origin/src/engine/native/batching/kv-cache.ts';
import { loadMotifConfig, loadMotifWeights } from '../../origin/src/engine/native/checkpoint/weights.ts';
import { MotifModel, type SequenceCache } from '../../origin/src/engine/native/model.ts';
import { generateModel } from '../../tools/model-gen/index.ts';
import { formatRoofline, measureRoofline } from '../roofline/measure.ts';
import {
  cloneCache,
  formatTable,
  gb,
  rooflineLine,
  rooflinePercent,
  syncOnly,
  timeDecode,
  timeInterleaved,
  timingKernel,
  weightBytesPerToken,
} from './engine-bench.ts';
import { runPeerComparison } from './peer/run-peer.ts';
import { compareQuant, fixedPrompts, q8Weights } from './quant-bench.ts';
import { profileStep } from './step-profile.ts';

const Args = z.object({
  prompt: z.coerce.number().int().min(1).max(2048).default(128),
  steps: z.coerce.number().int().min(2).max(100).default(8),
  'skip-js': z.boolean().default(false),
  quant: z.enum(['none', 'q8']).default('none'),
  dir: z.string().min(1).default('.data/bench/motif-2.6b-bf16'),
  peer: z.boolean().default(false),
});
const { values } = parseArgs({
  options: {
    prompt: { type: 'string' },
    steps: { type: 'string' },
    'skip-js': { type: 'boolean' },
    quant: { type: 'string' },
    dir: { type: 'string' },
    peer: { type: 'boolean' },
  },
});
const parsed = Args.safeParse(values);
if (!parsed.success) {
  console.error(`bench:engine: ${parsed.error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('; ')}`);
  process.exit(2);
}
const args = parsed.data;
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
const rssPeak = () => process.resourceUsage().maxRSS * 1024;
const rows: [string, string][] = [];
const row = (label: string, value: string) => {
  rows.push([label, value]);
  console.log(`  ${label}: ${value}`);
};
console.log(`load average at start: ${load()} (2-core machine shared with others: medians, rerun when high)`);

// (a) The roofline first, while the process is small (its 1 GiB buffer is freed before the model loads).
const addon = loadKernelsAddon({}, (m) => console.log(m));
if (!addon) {
  console.error('bench:engine needs the native kernels addon for the bandwidth probe (npm run build:kernels)');
  process.exit(1);
}
const roof = await measureRoofline(addon, { bytes: 2 ** 30, runs: 5 });
for (const line of formatRoofline(roof)) console.log(line);

// (b) The checkpoint, generated once.
const dir = resolve(args.dir);
let t0 = performance.now();
await generateModel({ outDir: dir, preset: 'motif-2.6b' });
const ckptBytes = readdirSync(dir)
  .filter((f) => f.endsWith('.safetensors'))
  .reduce((n, f) => n + statSync(join(dir, f)).size, 0);
console.log(`checkpoint ${dir}: ${gb(ckptBytes)} of safetensors (ready in ${((performance.now() - t0) / 1e3).toFixed(1)} s)`);

// (c) Load into MotifModel with the fastest kernel.
const selection = selectNodeKernel({ mode: 'auto', log: (l) => console.log(l) });
t0 = performance.now();
const src = nodeCheckpoint(dir);
const config = await loadMotifConfig(src);
const weights = await loadMotifWeights(src, config);
const model = MotifModel.fromWeights(config, weights, { kernel: selection.kernel, reuseLogits: true });
const loadMs = performance.now() - t0;
const rssAfterLoad = rssPeak();
const bytesPerToken = weightBytesPerToken(weights);
const gbps2 = roof.allCores.gbPerS;
const rooflineTps = (gbps2 * 1e9) / bytesPerToken;
row('kernel', selection.kernel.name);
row('memory bandwidth (read)', `${roof.oneCore.gbPerS.toFixed(1)} GB/s 1 core, ${gbps2.toFixed(1)} GB/s ${roof.allCores.threads} cores`);
row('weights read per decode step', `${gb(bytesPerToken)} → roofline ${rooflineTps.toFixed(2)} tok/s at batch 1`);
row(
  'load time',
  `${(loadMs / 1e3).toFixed(1)} s (${(ckptBytes / 1e6 / loadMs).toFixed(2)} GB/s), peak RSS ${gb(rssAfterLoad)} = ${(rssAfterLoad / ckptBytes).toFixed(2)}× checkpoint`,
);

const prompt = Array.from({ length: args.prompt }, (_, i) => (i * 104_729 + 7) % config.vocab_size);
const capacity = args.prompt + 4 * args.steps + 8;
let base: SequenceCache | undefined;
const prefillMs: number[] = [];
let lastLogits = new Float32Array(0);
for (let r = 0; r < 2; r++) {
  const cache = model.createCache(capacity);
  t0 = performance.now();
  const [logits] = await model.forward([{ cache, ids: prompt }]);
  prefillMs.push(performance.now() - t0);
  lastLogits = logits!.slice();
  base = cache;
}
const prefill = Math.min(...prefillMs);
row(
  `prefill (${args.prompt}-token prompt)`,
  `${((args.prompt * 1e3) / prefill).toFixed(1)} tok/s (${prefillMs.map((m) => (m / 1e3).toFixed(2)).join(', ')} s)`,
);

const decode = new Map<number, number>();
for (const batch of [1, 4, 16]) {
  const caches = Array.from({ length: batch }, () => cloneCache(model, base!, capacity));
  const t = await timeDecode(model, caches, 2, args.steps);
  decode.set(batch, (batch * 1e3) / t.medianMs);
  row(
    `decode batch ${batch} (context ${args.prompt})`,
    `${decode.get(batch)!.toFixed(2)} tok/s aggregate, step ${t.medianMs.toFixed(0)} ms (median of ${t.samplesMs.length}), max loop lag ${t.maxLoopLagMs.toFixed(0)} ms`,
  );
  if (batch === 16) {
    const kv = caches.reduce((n, c) => n + (c instanceof KvCache ? c.allocatedBytes() : 0), 0);
    row('KV cache of the batch-16 run (f32)', `${gb(kv)} (${(model.kvBytesPerToken() / 1024).toFixed(0)} KiB per token, in the peak RSS below)`);
  }
  caches.forEach((c) => c.truncate(0));
}
const b1 = decode.get(1)!;
row('batch 16 vs batch 1', `×${(decode.get(16)! / b1).toFixed(2)} aggregate tokens/s`);

if (args.quant === 'q8') {
  const prompts = fixedPrompts(config.vocab_size, 4, 16);
  for (const [label, value] of await compareQuant({ config, weights, kernel: selection.kernel, base: base!, capacity, steps: args.steps, prompts }))
    row(label, value);
}

// Keeping HTTP flowing: the same batch-1 step blocking the JS thread, with turns between sync
// matmuls, paced (default: long matmuls async) and all async, interleaved step by step so load from other processes hits all alike.
{
  const variants = (
    [
      ['blocking (no turns during a step)', { kernel: syncOnly(selection.kernel), sliceMs: 60_000 }],
      ['sync matmuls, a turn every 10 ms', { kernel: syncOnly(selection.kernel) }],
      ['paced, 10 ms slices (default)', { kernel: selection.kernel }],
      ['all matmuls async', { kernel: selection.kernel, sliceMs: 0 }],
    ] as const
  ).map(([name, opts]) => {
    const m = MotifModel.fromWeights(config, weights, { ...opts, reuseLogits: true });
    return { name, model: m, cache: cloneCache(m, base!, capacity) };
  });
  const timings = await timeInterleaved(variants, 2, args.steps);
  const sync = timings.get(variants[0]!.name)!.medianMs;
  for (const [name, t] of timings) {
    row(
      `decode batch 1, ${name}`,
      `step ${t.medianMs.toFixed(1)} ms (${t.medianMs >= sync ? '+' : ''}${(100 * (t.medianMs / sync - 1)).toFixed(1)}%), max loop lag ${t.maxLoopLagMs.toFixed(0)} ms`,
    );
  }
}

// Profile: matmul time of a step (timed, synchronous) against the JS pieces measured alone.
{
  const { kernel, clock } = timingKernel(selection.kernel, weights.head);
  const m = MotifModel.fromWeights(config, weights, { kernel, reuseLogits: true });
  const cache = cloneCache(m, base!, capacity);
  const t = await timeDecode(m, [cache], 2, 1);
  clock.reset();
  const t1 = await timeDecode(m, [cache], 0, 1);
  row(
    'profile: step (timed kernel)',
    `${t1.medianMs.toFixed(1)} ms = layer matmuls ${clock.layersMs.toFixed(1)} + head ${clock.headMs.toFixed(1)} + other ${(t1.medianMs - clock.layersMs - clock.headMs).toFixed(1)} ms (${clock.calls} matmul calls; warm step ${t.medianMs.toFixed(1)} ms)`,
  );
  for (const [piece, ms] of Object.entries(profileStep(config, base!, lastLogits, 5, selection.kernel.attend?.bind(selection.kernel))))
    row(`profile: ${piece}`, `${ms.toFixed(2)} ms`);
}

if (!args['skip-js']) {
  const js = selectNodeKernel({ mode: 'js', log: () => {} }).kernel;
  const m = MotifModel.fromWeights(config, weights, { kernel: js, reuseLogits: true });
  const t = await timeDecode(m, [cloneCache(m, base!, capacity)], 0, 1);
  row('JS kernel, one batch-1 decode step', `${(t.medianMs / 1e3).toFixed(1)} s → native is ×${((t.medianMs / 1e3) * b1).toFixed(0)} faster`);
}

// llama.cpp beside us: F16 against our BF16, and with --quant=q8 its Q8_0 against our Q8_0.
const peerLines: string[] = [];
if (args.peer) {
  const peer = { checkpointDir: dir, steps: args.steps, rounds: 2, threads: cpus().length, log: (l: string) => console.log(l) };
  peerLines.push(...(await runPeerComparison({ ...peer, model, weights: 'f16', oursLabel: 'BF16' })));
  if (args.quant === 'q8') {
    const q8 = MotifModel.fromWeights(config, q8Weights(weights, selection.kernel).served, { kernel: selection.kernel, reuseLogits: true });
    peerLines.push(...(await runPeerComparison({ ...peer, model: q8, weights: 'q8_0', oursLabel: 'Q8_0' })));
  }
}

const rssEnd = rssPeak();
row('peak RSS (whole run)', `${gb(rssEnd)} = ${(rssEnd / ckptBytes).toFixed(2)}× checkpoint (${gb(ckptBytes)})`);
console.log(`\nload average at end: ${load()}\n`);
for (const line of formatTable(rows)) console.log(line);
for (const line of peerLines) console.log(line);
console.log(rooflineLine(rooflinePercent(b1, gbps2, bytesPerToken)));
