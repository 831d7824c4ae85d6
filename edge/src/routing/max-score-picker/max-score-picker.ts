/**
 * `max-score-picker`: order candidates by their weighted score total, highest first; equal totals
 * in random order, so equal replicas share the load. The full order is returned so failover can
 * take the next one.
 */
import type { Picker } from '../types.ts';

/** Create the picker. */
export function maxScorePicker(): Picker {
  return {
    type: 'max-score-picker',
    order(_req, cs, totals, random) {
      // Random keys first, then a stable sort by total: equal totals end up in random order.
      return cs
        .map((c, i) => ({ c, total: totals[i] ?? 0, r: random() }))
        .sort((a, b) => b.total - a.total || a.r - b.r)
        .map((x) => x.c);
    },
  };
}
