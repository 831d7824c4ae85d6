/**
 * The `--peer` part of `npm run bench:engine`: the same Motif dimensions in llama.cpp (F16, a
 * llama with Motif's shapes: llama-gguf.ts) against our loaded MotifModel, alternating rounds on
 * the four workloads, after one warm-up of each. Prints the table and the ratios.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { MotifModel } from '../../../origin/src/engine/native/model.ts';
import { cloneCache, timeDecode } from '../engine-bench.ts';
import { comparisonRows, PEER_WORKLOADS, type RunWorkload, runAlternating } from './compare.ts';
import { dimsOfMotifConfig, type PeerWeights, writeLlamaGguf } from './llama-gguf.ts';
import { ensurePeerInstalled, startPeer } from './peer.ts';

export interface PeerRunOptions {
  model: MotifModel;
  /** The bench checkpoint's directory (config.json, tokenizer.json). */
  checkpointDir: string;
  steps: number;
  rounds: number;
  threads: number;
  /** The peer's weights: F16 against our BF16, Q8_0 against our Q8_0. */
  weights: PeerWeights;
  /** How our side is named in the table (`BF16`, `Q8_0`). */
  oursLabel: string;
  log: (line: string) => void;
}

const promptIds = (n: number, vocab: number) => Array.from({ length: n }, (_, i) => (i * 104_729 + 7) % vocab);

/** Run the comparison; returns the printed table's lines. */
export async function runPeerComparison(o: PeerRunOptions): Promise<string[]> {
  const config = JSON.parse(readFileSync(join(o.checkpointDir, 'config.json'), 'utf8')) as Record<string, unknown>;
  const dims = dimsOfMotifConfig(config);
  const peerDir = resolve('.data/peer');
  ensurePeerInstalled(peerDir, o.log);
  const gguf = `${o.checkpointDir}-llama-${o.weights}.gguf`;
  if (!existsSync(gguf)) o.log(`writing ${gguf} (random ${o.weights.toUpperCase()}, Motif's dimensions; once)`);
  const special = { bos: Number(config.bos_token_id), eos: Number(config.eos_token_id) };
  const bytes = await writeLlamaGguf(gguf, dims, join(o.checkpointDir, 'tokenizer.json'), special, o.weights);
  o.log(`llama.cpp checkpoint ${gguf}: ${(bytes / 1e9).toFixed(2)} GB`);
  const maxTokens = Math.max(...PEER_WORKLOADS.map((w) => w.tokens)) + o.steps + 8;
  const peer = await startPeer({ dir: peerDir, gguf, threads: o.threads, maxBatch: 16, context: maxTokens });
  o.log(`peer: ${peer.about}, ${o.threads} threads`);
  const m = o.model;
  const ours: RunWorkload = async (w) => {
    const ids = promptIds(w.tokens, dims.vocab);
    const base = m.createCache(w.tokens + o.steps + 8);
    const t0 = performance.now();
    await m.forward([{ cache: base, ids }]);
    const prefillMs = performance.now() - t0;
    if (w.kind === 'prefill') {
      base.truncate(0);
      return (w.tokens * 1e3) / prefillMs;
    }
    const caches = Array.from({ length: w.batch }, () => cloneCache(m, base, w.tokens + o.steps + 8));
    const t = await timeDecode(m, caches, 1, o.steps);
    for (const c of [base, ...caches]) c.truncate(0);
    return (w.batch * 1e3) / t.medianMs;
  };
  const llama: RunWorkload = async (w) => {
    const ids = promptIds(w.tokens, dims.vocab);
    if (w.kind === 'prefill') return (w.tokens * 1e3) / (await peer.prefill(ids)).ms;
    const r = await peer.decode(w.batch, ids, o.steps);
    return ((r.tokens ?? w.batch * o.steps) * 1e3) / r.ms;
  };
  try {
    o.log('peer: warm-up of every workload on both engines');
    await runAlternating(ours, llama, PEER_WORKLOADS, 1);
    const results = await runAlternating(ours, llama, PEER_WORKLOADS, o.rounds);
    const rows = comparisonRows(results);
    const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
    return [
      `ours (${m.config.num_hidden_layers} layers, ${o.oursLabel}) vs ${peer.about}, ${o.weights.toUpperCase()}, same dimensions, ${o.rounds} alternating rounds:`,
      ...rows.map((r) => `  ${r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ')}`),
    ];
  } finally {
    await peer.close();
  }
}
