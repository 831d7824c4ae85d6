/**
 * Shared constants of the workers tests: the bindings the Worker gets and the fake origins that
 * answer its outbound fetches. The origins run in Node (Miniflare's outbound service), so the
 * Worker under test makes real fetches through workerd to something that behaves like an origin.
 */
export const WORKERS_SECRET = 'k1:workers-test-secret-0123456789';
/** The test node's own key (origin → edge), bound to node `wk`: its replicas are `wk-…`. */
export const WORKERS_NODE_KEY = { kid: 'wk-node', secret: 'workers-node-secret-0123456789' };
export const WORKERS_NODE_KEYS = `${WORKERS_NODE_KEY.kid}:${WORKERS_NODE_KEY.secret}@wk`;
/** The fake origins live under .test. */
export const WORKERS_ORIGIN_ALLOW = '*.test';
export const WORKERS_DEV_KEY = 'sk-motif-dev-workers-0123456789abcdef';
/** The Worker's key pepper and admin token (secrets in production). */
export const WORKERS_PEPPER = 'workers-test-key-pepper-0123456789abcdef';
export const WORKERS_ADMIN_TOKEN = 'workers-admin-token-0123456789';
/** A replica that answers like a real origin. */
export const ORIGIN_OK = 'http://origin-ok.test';
/** A replica that sends two chunks of a stream and then holds it open (long generations). */
export const ORIGIN_HANG = 'http://origin-hang.test';
/**
 * A replica that answers like a real origin after a delay (so identical requests overlap) and
 * counts the generations it started: `GET <ORIGIN_COUNTING>/__generations` (response cache tests).
 */
export const ORIGIN_COUNTING = 'http://origin-counting.test';
/** A replica whose host refuses connections (for failover). */
export const ORIGIN_DEAD = 'http://origin-dead.test';
