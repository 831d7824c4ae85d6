/**
 * The admin usage views (DESIGN §3), mounted at `/admin/usage`:
 * - `GET /admin/usage?tenant=&from=&to=&group_by=day|hour|key|model|tenant`: billed usage of
 *   every tenant (or one), grouped, refusals counted apart;
 * - `GET /admin/usage/export?tenant=&from=&to=&format=json|csv`: one row per tenant × model ×
 *   UTC hour with a stable idempotency key, for a metered-billing provider (edge/src/usage/README.md).
 *
 * Ranges are bounded (usage/usage-query.ts `toAdminRange`) and an export past MAX_EXPORT_ROWS is
 * refused, so neither view can be asked for more than fits in memory. Times in bodies are unix
 * seconds, as in the rest of the admin API.
 */
import { Hono } from 'hono';
import { AdminUsageQuery, UsageExportQuery } from '#shared/admin-api.ts';
import { ApiError, fromZodError } from '#shared/errors.ts';
import type { EdgeEnv } from '../../context.ts';
import type { Clock, Ledger } from '../../ports.ts';
import { exportRows, FINAL_AFTER_MS, MAX_EXPORT_ROWS, toCsv } from '../../usage/export.ts';
import { toAdminRange } from '../../usage/usage-query.ts';

export interface AdminUsageDeps {
  ledger: Ledger;
  clock: Clock;
}

const seconds = (ms: number) => Math.floor(ms / 1000);

/** The usage views (mount at `/admin/usage`, behind the admin API's authentication: routes/admin/admin-auth.ts). */
export function adminUsageRoutes(deps: AdminUsageDeps): Hono<EdgeEnv> {
  const app = new Hono<EdgeEnv>();

  app.get('/', async (c) => {
    const parsed = AdminUsageQuery.safeParse(c.req.query());
    if (!parsed.success) throw fromZodError(parsed.error);
    const q = parsed.data;
    const range = toAdminRange(q, deps.clock.now());
    const data = await deps.ledger.query(q.tenant, { ...range, groupBy: q.group_by });
    return c.json({ object: 'list', tenant: q.tenant ?? null, group_by: q.group_by, from: seconds(range.fromMs), to: seconds(range.toMs), data });
  });

  app.get('/export', async (c) => {
    const parsed = UsageExportQuery.safeParse(c.req.query());
    if (!parsed.success) throw fromZodError(parsed.error);
    const q = parsed.data;
    const now = deps.clock.now();
    const range = toAdminRange(q, now);
    const hours = await deps.ledger.hourly(q.tenant, range, MAX_EXPORT_ROWS + 1);
    if (hours.length > MAX_EXPORT_ROWS)
      throw new ApiError('invalid_request_error', `The export holds more than ${MAX_EXPORT_ROWS} rows; narrow the range or name a tenant.`, { param: 'from' });
    const data = await exportRows(hours, now);
    if (q.format === 'csv') {
      return c.body(toCsv(data), 200, {
        'content-type': 'text/csv; charset=utf-8; header=present',
        'content-disposition': `attachment; filename="motif-usage-${seconds(range.fromMs)}-${seconds(range.toMs)}.csv"`,
      });
    }
    return c.json({ object: 'list', from: seconds(range.fromMs), to: seconds(range.toMs), final_after_s: FINAL_AFTER_MS / 1000, data });
  });

  app.all('/', methodNotAllowed);
  app.all('/export', methodNotAllowed);
  return app;
}

function methodNotAllowed(): never {
  throw new ApiError('method_not_allowed', 'This endpoint only accepts GET requests.');
}
