/**
 * A plain float64 Motif forward pass (SPEC §2: differential attention with λ, subln, PolyNorm on
 * the gate branch, tied head) used only by the generator's tests: checked against the golden
 * fixture, then used to show generated checkpoints give finite, input-dependent logits over all
 * layers. Slow on purpose (no caching, no batching) — clarity over speed, tiny models only.
 */
import type { ReadTensor } from './read-checkpoint.ts';

export interface ForwardConfig {
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  vocab_size: number;
  rope_theta: number;
  rms_norm_eps: number;
  attn_rms_norm_eps: number;
}

export interface ForwardResult {
  /** Logits of the last position. */
  logits: Float64Array;
  /** RMS of the residual stream (last position) after the embedding and after each layer. */
  residualRms: number[];
}

type Vec = Float64Array;

/** Run the prompt `ids` through the model and return the last position's logits. */
export function referenceForward(w: ReadonlyMap<string, ReadTensor>, cfg: ForwardConfig, ids: readonly number[]): ForwardResult {
  const get = (name: string): Vec => {
    const t = w.get(name);
    if (!t) throw new Error(`missing tensor ${name}`);
    return t.values;
  };
  const D = cfg.hidden_size;
  const H = cfg.num_attention_heads;
  const d = D / H;
  const T = ids.length;
  const emb = get('model.embed_tokens.weight');
  let x: Vec[] = ids.map((id) => emb.slice(id * D, id * D + D));
  const residualRms = [rms(x[T - 1]!)];

  for (let l = 0; l < cfg.num_hidden_layers; l++) {
    const p = `model.layers.${l}`;
    const u = x.map((v) => rmsNorm(v, get(`${p}.input_layernorm.weight`), cfg.rms_norm_eps));
    const q = u.map((v) => matVec(get(`${p}.self_attn.q_proj.weight`), v, D));
    const k = u.map((v) => matVec(get(`${p}.self_attn.k_proj.weight`), v, D));
    const v = u.map((vv) => matVec(get(`${p}.self_attn.v_proj.weight`), vv, D));
    q.forEach((qt, t) => rope(qt, t, H, d, cfg.rope_theta));
    k.forEach((kt, t) => rope(kt, t, H, d, cfg.rope_theta));
    const lambdaInit = 0.8 - 0.6 * Math.exp(-0.3 * (l - 1));
    const lambda =
      Math.exp(dot(get(`${p}.self_attn.lambda_q1`), get(`${p}.self_attn.lambda_k1`))) -
      Math.exp(dot(get(`${p}.self_attn.lambda_q2`), get(`${p}.self_attn.lambda_k2`))) +
      lambdaInit;
    const subln = get(`${p}.self_attn.subln.weight`);
    const attnOut: Vec[] = [];
    for (let t = 0; t < T; t++) {
      const z = new Float64Array(D);
      for (let h = 0; h < H / 2; h++) {
        const a1 = softmax(Array.from({ length: t + 1 }, (_, s) => headDot(q[t]!, k[s]!, 2 * h, d) / Math.sqrt(d)));
        const a2 = softmax(Array.from({ length: t + 1 }, (_, s) => headDot(q[t]!, k[s]!, 2 * h + 1, d) / Math.sqrt(d)));
        const o = new Float64Array(2 * d);
        for (let s = 0; s <= t; s++) {
          const c = a1[s]! - lambda * a2[s]!;
          for (let i = 0; i < 2 * d; i++) o[i]! += c * v[s]![2 * h * d + i]!;
        }
        const n = rmsNorm(o, subln, cfg.attn_rms_norm_eps);
        for (let i = 0; i < 2 * d; i++) z[2 * h * d + i] = n[i]! * (1 - lambdaInit);
      }
      attnOut.push(matVec(get(`${p}.self_attn.o_proj.weight`), z, D));
    }
    const hres = x.map((xt, t) => add(xt, attnOut[t]!));
    const polyW = get(`${p}.mlp.act_fn.weight`);
    const polyB = get(`${p}.mlp.act_fn.bias`)[0]!;
    x = hres.map((ht) => {
      const m = rmsNorm(ht, get(`${p}.post_attention_layernorm.weight`), cfg.rms_norm_eps);
      const gate = matVec(get(`${p}.mlp.gate_proj.weight`), m, D);
      const up = matVec(get(`${p}.mlp.up_proj.weight`), m, D);
      const n3 = unitRms(gate.map((g) => g ** 3));
      const n2 = unitRms(gate.map((g) => g ** 2));
      const n1 = unitRms(gate);
      const act = gate.map((_, i) => (polyW[0]! * n3[i]! + polyW[1]! * n2[i]! + polyW[2]! * n1[i]! + polyB) * up[i]!);
      return add(ht, matVec(get(`${p}.mlp.down_proj.weight`), act, cfg.intermediate_size));
    });
    residualRms.push(rms(x[T - 1]!));
  }
  const y = rmsNorm(x[T - 1]!, get('model.norm.weight'), cfg.rms_norm_eps);
  return { logits: matVec(emb, y, D), residualRms };
}

/** W is [rows, cols] row-major; returns W·v. */
function matVec(w: Vec, v: Vec, cols: number): Vec {
  const rows = w.length / cols;
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let c = 0; c < cols; c++) s += w[r * cols + c]! * v[c]!;
    out[r] = s;
  }
  return out;
}

function rope(x: Vec, pos: number, heads: number, d: number, theta: number): void {
  const half = d / 2;
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < half; i++) {
      const a = pos * theta ** ((-2 * i) / d);
      const lo = x[h * d + i]!;
      const hi = x[h * d + i + half]!;
      x[h * d + i] = lo * Math.cos(a) - hi * Math.sin(a);
      x[h * d + i + half] = hi * Math.cos(a) + lo * Math.sin(a);
    }
  }
}

const dot = (a: Vec, b: Vec) => a.reduce((s, ai, i) => s + ai * b[i]!, 0);
const headDot = (a: Vec, b: Vec, head: number, d: number) => {
  let s = 0;
  for (let i = head * d; i < (head + 1) * d; i++) s += a[i]! * b[i]!;
  return s;
};
const add = (a: Vec, b: Vec) => a.map((ai, i) => ai + b[i]!);
const rms = (v: Vec) => Math.sqrt(v.reduce((s, x) => s + x * x, 0) / v.length);
const rmsNorm = (v: Vec, g: Vec, eps: number) => {
  const r = Math.sqrt(v.reduce((s, x) => s + x * x, 0) / v.length + eps);
  return v.map((x, i) => (g[i]! * x) / r);
};
const unitRms = (v: Vec) => rmsNorm(v, new Float64Array(v.length).fill(1), 1e-6);
const softmax = (s: number[]) => {
  const m = Math.max(...s);
  const e = s.map((x) => Math.exp(x - m));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / z);
};
