/**
 * The `workers` test project: tests run inside workerd (@cloudflare/vitest-pool-workers) against
 * the real Worker from infra/cloudflare/wrangler.jsonc — its Durable Objects with SQLite storage and the app
 * — with outbound fetches answered by a fake origin running in Node.
 */
import { fileURLToPath } from 'node:url';
import { cloudflareTest } from '@cloudflare/vitest-pool-workers';
import { defineConfig } from 'vitest/config';
import { WORKERS_ADMIN_TOKEN, WORKERS_DEV_KEY, WORKERS_NODE_KEYS, WORKERS_ORIGIN_ALLOW, WORKERS_PEPPER, WORKERS_SECRET } from './fixtures.ts';
import { createOutbound } from './outbound.ts';

export default defineConfig({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: fileURLToPath(new URL('../../infra/cloudflare/wrangler.jsonc', import.meta.url)) },
      miniflare: {
        bindings: {
          MOTIF_ORIGIN_SECRET: WORKERS_SECRET,
          MOTIF_NODE_KEYS: WORKERS_NODE_KEYS,
          MOTIF_ORIGIN_ALLOW: WORKERS_ORIGIN_ALLOW,
          MOTIF_DEV_API_KEY: WORKERS_DEV_KEY,
          MOTIF_KEY_PEPPER: WORKERS_PEPPER,
          MOTIF_ADMIN_TOKEN: WORKERS_ADMIN_TOKEN,
          MOTIF_EDGE_RPM: '600',
          // Only deterministic requests (temperature 0 or a seed) are cached: the cache tests send them.
          MOTIF_CACHE: '1',
        },
        outboundService: createOutbound(),
      },
    }),
  ],
  test: {
    name: 'workers',
    root: fileURLToPath(new URL('.', import.meta.url)),
    include: ['**/*.test.ts'],
    // The first call into workerd starts the Worker and its Durable Objects: about 2-3 s on an
    // idle 2-core machine, within reach of vitest's default 5 s on a loaded or slower one.
    testTimeout: 20_000,
  },
});
