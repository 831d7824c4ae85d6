/**
 * How far one model's next-token distributions are from a reference's over the same positions:
 * the yardstick of load-time quantisation (the Q8_0 test and `bench:engine --quant=q8`).
 */
import { argmax, logSumExp } from './logits-math.ts';

export interface LogitDistance {
  /** Positions compared. */
  positions: number;
  /** Largest |logit − reference logit| over every position and token. */
  maxAbsLogit: number;
  /** Mean over positions of KL(reference ‖ other) of the softmax distributions, in nats. */
  meanKl: number;
  /** Largest KL of a single position. */
  maxKl: number;
  /** Share of positions whose argmax token is the reference's. */
  top1Agreement: number;
}

/** Compares `other[i]` with `reference[i]` (logits rows of equal length) for every i. */
export function logitDistance(reference: readonly Float32Array[], other: readonly Float32Array[]): LogitDistance {
  if (reference.length !== other.length || reference.length === 0) throw new RangeError('logitDistance: need the same positive number of rows');
  let maxAbsLogit = 0;
  let klSum = 0;
  let maxKl = 0;
  let same = 0;
  for (let i = 0; i < reference.length; i++) {
    const p = reference[i]!;
    const q = other[i]!;
    if (p.length !== q.length) throw new RangeError(`logitDistance: row ${i} has ${q.length} logits, the reference ${p.length}`);
    const lp = logSumExp(p);
    const lq = logSumExp(q);
    let kl = 0;
    for (let t = 0; t < p.length; t++) {
      maxAbsLogit = Math.max(maxAbsLogit, Math.abs(p[t]! - q[t]!));
      const logP = p[t]! - lp;
      kl += Math.exp(logP) * (logP - (q[t]! - lq));
    }
    // Rounding can leave a tiny negative sum for identical rows; KL is never below 0.
    kl = Math.max(0, kl);
    klSum += kl;
    maxKl = Math.max(maxKl, kl);
    if (argmax(p) === argmax(q)) same++;
  }
  return { positions: reference.length, maxAbsLogit, meanKl: klSum / reference.length, maxKl, top1Agreement: same / reference.length };
}
