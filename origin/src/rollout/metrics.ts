/**
 * Prometheus counters of rolling weight updates on one replica: which revision it serves, how
 * many swaps succeeded, and where failed ones failed (`sync`, `verify`, `lock`, `load`), so an
 * alert can fire on a revision that never lands while the old one keeps serving.
 */
import { family } from '#shared/prometheus-text.ts';
import type { SwapStrategy } from './strategy.ts';

export type FailureStage = 'sync' | 'verify' | 'lock' | 'load' | 'aborted';
const STAGES: readonly FailureStage[] = ['sync', 'verify', 'lock', 'load', 'aborted'];

export interface RolloutMetrics {
  served(revision: string): void;
  swapped(strategy: SwapStrategy, seconds: number): void;
  failed(stage: FailureStage): void;
  /** Requests still running on a retired engine when its drain timed out. */
  cut(requests: number): void;
  inProgress(on: boolean): void;
  /** Exposition text (ends with a newline). */
  render(): string;
}

/** Fresh counters (one per replica process). */
export function createRolloutMetrics(initialRevision: string): RolloutMetrics {
  let revision = initialRevision;
  const swaps = new Map<SwapStrategy, number>();
  const failures = new Map<FailureStage, number>(STAGES.map((s) => [s, 0]));
  let lastSeconds = 0;
  let cutTotal = 0;
  let busy = false;
  return {
    served(rev) {
      revision = rev;
    },
    swapped(strategy, seconds) {
      swaps.set(strategy, (swaps.get(strategy) ?? 0) + 1);
      lastSeconds = seconds;
    },
    failed(stage) {
      failures.set(stage, (failures.get(stage) ?? 0) + 1);
    },
    cut(n) {
      cutTotal += n;
    },
    inProgress(on) {
      busy = on;
    },
    render() {
      return `${[
        family('motif_origin_weights_revision', 'gauge', 'The weights revision this replica serves (1 for the current one).', [[{ revision }, 1]]),
        family(
          'motif_origin_rollout_swaps_total',
          'counter',
          'Engine swaps to a new weights revision, by strategy.',
          (['overlap', 'drain-first'] as const).map((s) => [{ strategy: s }, swaps.get(s) ?? 0]),
        ),
        family(
          'motif_origin_rollout_failures_total',
          'counter',
          'Failed updates to a new revision (the old one kept serving), by stage.',
          STAGES.map((s) => [{ stage: s }, failures.get(s) ?? 0]),
        ),
        family('motif_origin_rollout_cut_requests_total', 'counter', 'Requests cut because an old engine did not drain within the swap drain timeout.', [
          [{}, cutTotal],
        ]),
        family('motif_origin_rollout_last_swap_seconds', 'gauge', 'Duration of the last successful update, sync included.', [[{}, lastSeconds]]),
        family('motif_origin_rollout_in_progress', 'gauge', '1 while an update is syncing or swapping.', [[{}, busy ? 1 : 0]]),
      ].join('\n')}\n`;
    },
  };
}
