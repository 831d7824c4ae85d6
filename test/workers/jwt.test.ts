/**
 * JWT verification inside workerd: jose on the Worker's Web Crypto, keys from an inline JWKS (as
 * MOTIF_JWT_JWKS gives them), the tenant read through the KeysDO.
 */
import { env as cfEnv } from 'cloudflare:workers';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { expect, it } from 'vitest';
import { doKeyStore } from '../../edge/src/adapters/cloudflare/ports.ts';
import { systemClock } from '../../edge/src/adapters/memory/clock.ts';
import { newTenant } from '../../edge/src/keys/tenant-record.ts';
import { jwtAuthenticator } from '../../edge/src/middleware/auth/jwt.ts';
import type { Env } from '../../edge/src/worker.ts';

const env = cfEnv as unknown as Env;

it('verifies an ES256 JWT against an inline JWKS and maps it to an enabled tenant', async () => {
  const keys = doKeyStore(env.KEYS);
  await keys.createTenant(newTenant({ id: 'wk-jwt', createdAt: Date.now(), limits: { rpm: 9 } }));
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: 'k', alg: 'ES256' }] };
  const authenticate = jwtAuthenticator(
    {
      issuers: ['https://idp.test/'],
      audiences: ['motif'],
      algorithms: ['ES256'],
      jwks: { set: jwks },
      clockSkewS: 60,
      tenantClaim: 'tenant',
      scopesClaim: 'scope',
    },
    { keys, clock: systemClock() },
  );
  const token = (tenant: string) =>
    new SignJWT({ tenant, scope: 'inference' })
      .setProtectedHeader({ alg: 'ES256', kid: 'k' })
      .setSubject('svc-1')
      .setIssuer('https://idp.test/')
      .setAudience('motif')
      .setExpirationTime('5m')
      .sign(privateKey);
  expect(await authenticate(await token('wk-jwt'), () => {})).toMatchObject({
    tenantId: 'wk-jwt',
    keyId: 'jwt:svc-1',
    scopes: ['inference'],
    limits: { tenant: { rpm: 9 } },
  });
  expect(await authenticate(await token('wk-nobody'), () => {})).toBeNull();
});
