/**
 * Miniflare outbound service for the workers tests: a fake origin (edge/src/testing) on
 * `origin-ok.test` (and one that holds streams open on `origin-hang.test`); any other host answers 523 "origin is unreachable", which is what a Worker
 * sees from Cloudflare's network when an origin cannot be connected to. (Throwing here would
 * surface as a generic 500 from Miniflare, which no real deployment produces.)
 */
import { parseKeyring } from '#shared/signing.ts';
import { createFakeOrigin } from '../../edge/src/testing/fake-origin.ts';
import { ORIGIN_COUNTING, ORIGIN_HANG, ORIGIN_OK, WORKERS_SECRET } from './fixtures.ts';

/** The function Miniflare calls for every fetch the Worker makes. */
export function createOutbound(): (req: Request) => Promise<Response> {
  const keyring = parseKeyring(WORKERS_SECRET).ring;
  const origin = createFakeOrigin({ replicaId: 'wk-ok', url: ORIGIN_OK, keyring });
  const hanging = createFakeOrigin({ replicaId: 'wk-hang', url: ORIGIN_HANG, keyring, mode: 'hang' });
  const counting = createFakeOrigin({ replicaId: 'wk-count', url: ORIGIN_COUNTING, keyring });
  return async (req) => {
    if (new URL(req.url).origin === ORIGIN_COUNTING) {
      if (new URL(req.url).pathname === '/__generations') return Response.json({ generations: counting.requests.length });
      // Long enough for 50 concurrent requests to pass auth and limits (Durable Objects) and join.
      await new Promise((r) => setTimeout(r, 1000));
      return counting.app.fetch(req);
    }
    if (new URL(req.url).origin === ORIGIN_OK) return origin.app.fetch(req);
    if (new URL(req.url).origin === ORIGIN_HANG) return hanging.app.fetch(req);
    return new Response('error code: 523', { status: 523, headers: { 'content-type': 'text/plain' } });
  };
}
