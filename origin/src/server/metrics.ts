/**
 * Prometheus metrics of one origin replica. Engine load is exported under the vLLM metric names,
 * so scrapers, dashboards and the edge's vLLM load reader treat every backend alike; the origin's
 * own counters (requests, admission, usage outbox, heartbeat) use the `motif_origin_` prefix.
 */

import { family } from '#shared/prometheus-text.ts';
import type { ReplicaState } from '#shared/protocol.ts';
import type { UsageOutcome } from '#shared/usage.ts';
import type { EngineStats } from '../engine/types.ts';

/**
 * An engine's load under vLLM's metric names and units (the one definition: the origin's
 * `/metrics` and the standalone simulator's both render it), labelled `model_name` as vLLM does.
 * `waiting` is what queues in front of the engine, the engine's own queue included.
 */
export function vllmEngineFamilies(model: string, e: EngineStats, waiting: number): string[] {
  const m = { model_name: model };
  return [
    family('vllm:num_requests_waiting', 'gauge', 'Requests waiting to be processed.', [[m, waiting]]),
    family('vllm:num_requests_running', 'gauge', 'Requests currently running on the engine.', [[m, e.running]]),
    family('vllm:kv_cache_usage_perc', 'gauge', 'KV-cache usage; 1 means 100 percent.', [[m, e.kvUsage]]),
    family('vllm:prompt_tokens_total', 'counter', 'Prefill tokens processed.', [[m, e.promptTokensTotal]]),
    family('vllm:generation_tokens_total', 'counter', 'Generation tokens processed.', [[m, e.generationTokensTotal]]),
    family('vllm:prefix_cache_queries_total', 'counter', 'Prefix-cache queries, in tokens.', [[m, e.prefixCacheQueries]]),
    family('vllm:prefix_cache_hits_total', 'counter', 'Prefix-cache hits, in tokens.', [[m, e.prefixCacheHits]]),
  ];
}

export interface MetricsSources {
  model: string;
  engine: EngineStats;
  admission: { running: number; waiting: number; rejected: number };
  state: ReplicaState;
  /** Undelivered usage records, when the outbox can count them. */
  outboxBacklog?: number;
}

export interface OriginMetrics {
  requestDone(endpoint: string, status: number): void;
  usageRecorded(outcome: UsageOutcome): void;
  usageAppendFailed(): void;
  usageDelivered(records: number): void;
  usageDeliveryFailed(): void;
  heartbeatSent(ok: boolean): void;
  /** The exposition text (`text/plain; version=0.0.4`). */
  render(src: MetricsSources): string;
}

/** Fresh counters for one process (create one per app; there are no module-level registries). */
export function createOriginMetrics(): OriginMetrics {
  const requests = new Map<string, number>();
  const outcomes = new Map<UsageOutcome, number>();
  let appendFailures = 0;
  let delivered = 0;
  let deliveryFailures = 0;
  const beats = { ok: 0, failed: 0 };

  return {
    requestDone(endpoint, status) {
      const key = `${endpoint}\n${status}`;
      requests.set(key, (requests.get(key) ?? 0) + 1);
    },
    usageRecorded(outcome) {
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    },
    usageAppendFailed() {
      appendFailures++;
    },
    usageDelivered(n) {
      delivered += n;
    },
    usageDeliveryFailed() {
      deliveryFailures++;
    },
    heartbeatSent(ok) {
      if (ok) beats.ok++;
      else beats.failed++;
    },
    render(src) {
      const m = { model_name: src.model };
      const e = src.engine;
      const out = [
        ...vllmEngineFamilies(src.model, e, e.waiting + src.admission.waiting),
        family('motif_origin_max_running', 'gauge', 'Concurrent sequences the engine runs at most.', [[m, e.maxRunning]]),
        family('motif_origin_tokens_per_second', 'gauge', 'Recent generation throughput.', [[m, e.tokensPerSecond]]),
        family(
          'motif_origin_state',
          'gauge',
          'Replica state (1 for the current one).',
          (['starting', 'ready', 'draining'] as const).map((s) => [{ state: s }, s === src.state ? 1 : 0]),
        ),
        family('motif_origin_admission_running', 'gauge', 'Requests holding an admission slot.', [[{}, src.admission.running]]),
        family('motif_origin_admission_rejected_total', 'counter', 'Requests refused with 503 because the admission queue was full.', [
          [{}, src.admission.rejected],
        ]),
        family(
          'motif_origin_requests_total',
          'counter',
          'Requests answered, by endpoint and HTTP status.',
          [...requests].map(([k, v]) => {
            const [endpoint = '', status = ''] = k.split('\n');
            return [{ endpoint, status }, v];
          }),
        ),
        family(
          'motif_origin_usage_records_total',
          'counter',
          'Usage records written to the outbox, by outcome.',
          [...outcomes].map(([o, v]) => [{ outcome: o }, v]),
        ),
        family('motif_origin_usage_append_failures_total', 'counter', 'Usage records that could not be written to the outbox.', [[{}, appendFailures]]),
        family('motif_origin_usage_delivered_total', 'counter', 'Usage records acknowledged by the edge ledger.', [[{}, delivered]]),
        family('motif_origin_usage_delivery_failures_total', 'counter', 'Failed usage delivery attempts (retried with backoff).', [[{}, deliveryFailures]]),
        family('motif_origin_heartbeats_total', 'counter', 'Heartbeats sent to the edge, by result.', [
          [{ result: 'ok' }, beats.ok],
          [{ result: 'failed' }, beats.failed],
        ]),
      ];
      if (src.outboxBacklog !== undefined) {
        out.push(family('motif_origin_usage_outbox_backlog', 'gauge', 'Usage records waiting for delivery.', [[{}, src.outboxBacklog]]));
      }
      return `${out.join('\n')}\n`;
    },
  };
}
