/**
 * Whole-vocabulary reductions over a logits row: argmax, a stable log-sum-exp and a top-k
 * selection. Allocation-free, because they run once per token over 219,520 values; shared by the
 * sampler, the greedy CLI and the benchmarks.
 */

/** Index of the largest value (first one on ties, like torch.argmax). */
export function argmax(x: Float32Array, n = x.length): number {
  let best = 0;
  let bv = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = x[i]!;
    if (v > bv) {
      bv = v;
      best = i;
    }
  }
  return best;
}

/** log Σ exp(x) over the first n values, stable. */
export function logSumExp(x: Float32Array, n = x.length): number {
  let max = -Infinity;
  for (let i = 0; i < n; i++) if (x[i]! > max) max = x[i]!;
  if (max === -Infinity) return -Infinity;
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.exp(x[i]! - max);
  return max + Math.log(s);
}

/** The k best ids by value into out[0..k), sorted best first (ties: lower id first). */
export function selectTopK(x: Float32Array, n: number, k: number, out: Int32Array): number {
  k = Math.min(k, n);
  // Min-heap of the best k seen so far: O(n log k), no allocation.
  const worse = (a: number, b: number): boolean => x[a]! < x[b]! || (x[a] === x[b] && a > b);
  let size = 0;
  for (let i = 0; i < n; i++) {
    if (size < k) {
      let c = size++;
      out[c] = i;
      while (c > 0) {
        const p = (c - 1) >> 1;
        if (!worse(out[c]!, out[p]!)) break;
        swap(out, c, p);
        c = p;
      }
    } else if (worse(out[0]!, i)) {
      out[0] = i;
      let c = 0;
      for (;;) {
        const l = 2 * c + 1;
        const r = l + 1;
        let m = c;
        if (l < size && worse(out[l]!, out[m]!)) m = l;
        if (r < size && worse(out[r]!, out[m]!)) m = r;
        if (m === c) break;
        swap(out, c, m);
        c = m;
      }
    }
  }
  out.subarray(0, k).sort((a, b) => x[b]! - x[a]! || a - b);
  return k;
}

function swap(a: Int32Array, i: number, j: number): void {
  const t = a[i]!;
  a[i] = a[j]!;
  a[j] = t;
}
