/**
 * Admin key routes: create and list a tenant's keys, revoke one, rotate one. The secret is in the
 * answer to create and rotate only; it is never stored or shown again.
 */
import { Hono } from 'hono';
import { type ApiKeyCreated, KeyCreate, KeyRotate } from '#shared/admin-api.ts';
import { ApiError } from '#shared/errors.ts';
import type { EdgeEnv } from '../../context.ts';
import { newKey } from '../../keys/key-record.ts';
import type { ApiKeyRecord, KeyHasher, KeyStore } from '../../ports.ts';
import { type AdminRoutesDeps, tenantOr404 } from './tenants.ts';
import { keyView, readBody, shownId } from './views.ts';

export interface KeyRoutesDeps extends AdminRoutesDeps {
  hash: KeyHasher;
}

async function keyOr404(keys: KeyStore, keyId: string): Promise<ApiKeyRecord> {
  const key = await keys.getKey(keyId);
  if (!key) throw new ApiError('not_found', `No API key with id '${shownId(keyId)}'.`, { param: 'key_id' });
  return key;
}

const created = (record: ApiKeyRecord, secret: string, replaces?: string): ApiKeyCreated => ({
  ...keyView(record),
  key: secret,
  ...(replaces ? { replaces } : {}),
});

/** The key routes (mount under `/admin`, behind adminAuth). */
export function keyRoutes(deps: KeyRoutesDeps): Hono<EdgeEnv> {
  const app = new Hono<EdgeEnv>();

  app.post('/tenants/:id/keys', async (c) => {
    const tenant = await tenantOr404(deps.keys, c.req.param('id'));
    const body = await readBody(c, KeyCreate);
    const now = deps.clock.now();
    const expiresAt = body.expires_at === undefined ? null : body.expires_at * 1000;
    if (expiresAt !== null && expiresAt <= now) throw new ApiError('invalid_request_error', 'expires_at must be in the future.', { param: 'expires_at' });
    const { secret, record } = await newKey(
      { tenantId: tenant.id, name: body.name, scopes: body.scopes, limits: body.limits, expiresAt, mode: body.mode, createdAt: now },
      deps.hash,
    );
    await deps.keys.putKey(record);
    return c.json(created(record, secret), 201);
  });

  app.get('/tenants/:id/keys', async (c) => {
    const tenant = await tenantOr404(deps.keys, c.req.param('id'));
    return c.json({ object: 'list', data: (await deps.keys.listKeys(tenant.id)).map(keyView) });
  });

  app.delete('/keys/:key_id', async (c) => {
    const keyId = c.req.param('key_id');
    await keyOr404(deps.keys, keyId);
    const revoked = await deps.keys.revokeKey(keyId, deps.clock.now());
    return c.json(keyView(revoked ?? (await keyOr404(deps.keys, keyId))));
  });

  app.post('/keys/:key_id/rotate', async (c) => {
    const old = await keyOr404(deps.keys, c.req.param('key_id'));
    const body = await readBody(c, KeyRotate);
    const now = deps.clock.now();
    const ended = (at: number | null) => at !== null && at <= now;
    if (ended(old.revokedAt) || ended(old.expiresAt)) throw new ApiError('conflict', `API key '${old.keyId}' is revoked or expired; create a new key instead.`);
    // The new key keeps what the old one was for (tenant, name, scopes, limits), not its expiry.
    const { secret, record } = await newKey(
      {
        tenantId: old.tenantId,
        name: old.name,
        scopes: old.scopes,
        limits: old.limits,
        mode: old.prefix.startsWith('mtf_test_') ? 'test' : 'live',
        createdAt: now,
      },
      deps.hash,
    );
    const retired = await deps.keys.rotateKey(old.keyId, record, now + (body.overlap_s ?? 0) * 1000, now);
    if (!retired) throw new ApiError('not_found', `No API key with id '${old.keyId}'.`, { param: 'key_id' });
    return c.json(created(record, secret, old.keyId), 201);
  });
  return app;
}
