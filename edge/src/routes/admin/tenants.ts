/**
 * `/admin/tenants`: create, list, read, change and (softly) delete tenants. Deleting disables
 * the tenant and revokes its keys; its usage history stays for billing.
 */
import { Hono } from 'hono';
import { TenantCreate, TenantId, TenantPatch } from '#shared/admin-api.ts';
import { ApiError } from '#shared/errors.ts';
import type { EdgeEnv } from '../../context.ts';
import { newTenant } from '../../keys/tenant-record.ts';
import type { Clock, KeyStore, TenantRecord } from '../../ports.ts';
import { readBody, shownId, tenantView } from './views.ts';

export interface AdminRoutesDeps {
  keys: KeyStore;
  clock: Clock;
}

/** The tenant with this id, or a 404. */
export async function tenantOr404(keys: KeyStore, id: string): Promise<TenantRecord> {
  const tenant = TenantId.safeParse(id).success ? await keys.getTenant(id) : null;
  if (!tenant) throw new ApiError('not_found', `No tenant with id '${shownId(id)}'.`, { param: 'id' });
  return tenant;
}

/** The tenant routes (mount under `/admin`, behind adminAuth). */
export function tenantRoutes(deps: AdminRoutesDeps): Hono<EdgeEnv> {
  const app = new Hono<EdgeEnv>();

  app.post('/tenants', async (c) => {
    const body = await readBody(c, TenantCreate);
    const tenant = newTenant({
      id: body.id,
      name: body.name,
      limits: { rpm: body.limits?.rpm, tpm: body.limits?.tpm, maxConcurrent: body.limits?.max_concurrent },
      monthlyTokens: body.quota?.monthly_tokens,
      createdAt: deps.clock.now(),
    });
    if (!(await deps.keys.createTenant(tenant))) throw new ApiError('conflict', `A tenant with id '${body.id}' already exists.`, { param: 'id' });
    return c.json(tenantView(tenant), 201);
  });

  app.get('/tenants', async (c) => c.json({ object: 'list', data: (await deps.keys.listTenants()).map(tenantView) }));

  app.get('/tenants/:id', async (c) => c.json(tenantView(await tenantOr404(deps.keys, c.req.param('id')))));

  app.patch('/tenants/:id', async (c) => {
    await tenantOr404(deps.keys, c.req.param('id'));
    const body = await readBody(c, TenantPatch);
    const limits = body.limits && { rpm: body.limits.rpm, tpm: body.limits.tpm, maxConcurrent: body.limits.max_concurrent };
    const updated = await deps.keys.updateTenant(
      c.req.param('id'),
      { name: body.name, limits, monthlyTokens: body.quota?.monthly_tokens, disabled: body.disabled },
      deps.clock.now(),
    );
    if (!updated) throw new ApiError('not_found', `No tenant with id '${shownId(c.req.param('id'))}'.`, { param: 'id' });
    return c.json(tenantView(updated));
  });

  app.delete('/tenants/:id', async (c) => {
    const id = c.req.param('id');
    await tenantOr404(deps.keys, id);
    await deps.keys.deleteTenant(id, deps.clock.now());
    return c.json({ ...tenantView(await tenantOr404(deps.keys, id)), deleted: true });
  });
  return app;
}
