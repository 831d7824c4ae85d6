/**
 * The billing export (`GET /admin/usage/export`): one row per tenant × model × UTC hour, with an
 * idempotency key a metered-billing provider deduplicates on and a `final` flag (README.md here).
 *
 * - `idempotency_key` = `mu_` + the first 48 hex digits of sha256(`motif-usage:<tenant>:<hour>:<model>`),
 *   hour as `YYYY-MM-DDTHH`. Tenant ids hold no `:` and the hour has a fixed form, so the text is
 *   unambiguous even for a model name with `:`; hashing keeps the key within every provider's
 *   length limit (Stripe: 100) whatever the model name's length.
 * - `final`: the hour ended more than FINAL_AFTER_MS ago. Origins deliver records within seconds
 *   (their outbox retries for longer only while the edge is unreachable), so a final hour is not
 *   expected to change; send only final rows to a provider, and re-send them freely.
 */
import type { UsageExportRow } from '#shared/admin-api.ts';
import { sha256Hex } from '#shared/signing.ts';
import type { HourlyUsage } from '../ports.ts';
import { HOUR_MS } from './usage-query.ts';

/** How long after an hour ends its rows become final. */
export const FINAL_AFTER_MS = 15 * 60_000;
/** The most rows one export returns; a larger one is refused (narrow the range or the tenant). */
export const MAX_EXPORT_ROWS = 50_000;

/** The stable key of one tenant × model × hour (`hourStart`: epoch ms on the hour). */
export async function usageIdempotencyKey(tenantId: string, model: string, hourStart: number): Promise<string> {
  const hour = new Date(hourStart).toISOString().slice(0, 13);
  return `mu_${(await sha256Hex(`motif-usage:${tenantId}:${hour}:${model}`)).slice(0, 48)}`;
}

/** Export rows for hourly ledger sums, as of `now`. */
export async function exportRows(hours: readonly HourlyUsage[], now: number): Promise<UsageExportRow[]> {
  return Promise.all(
    hours.map(async (h) => ({
      idempotency_key: await usageIdempotencyKey(h.tenant_id, h.model, h.hour_start),
      tenant_id: h.tenant_id,
      model: h.model,
      hour_start: new Date(h.hour_start).toISOString().replace('.000Z', 'Z'),
      requests: h.requests,
      prompt_tokens: h.prompt_tokens,
      cached_tokens: h.cached_tokens,
      completion_tokens: h.completion_tokens,
      total_tokens: h.prompt_tokens + h.completion_tokens,
      cache_hits: h.cache_hits,
      final: h.hour_start + HOUR_MS + FINAL_AFTER_MS <= now,
    })),
  );
}

const CSV_COLUMNS = [
  'idempotency_key',
  'tenant_id',
  'model',
  'hour_start',
  'requests',
  'prompt_tokens',
  'cached_tokens',
  'completion_tokens',
  'total_tokens',
  'cache_hits',
  'final',
] as const satisfies readonly (keyof UsageExportRow)[];

/** One CSV field (RFC 4180): quoted, with quotes doubled, when it holds a quote, comma or line break. */
export function csvField(value: string | number | boolean): string {
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** Export rows as RFC 4180 CSV: a header row, CRLF line ends. */
export function toCsv(rows: readonly UsageExportRow[]): string {
  const lines = [CSV_COLUMNS.join(','), ...rows.map((r) => CSV_COLUMNS.map((c) => csvField(r[c])).join(','))];
  return `${lines.join('\r\n')}\r\n`;
}
