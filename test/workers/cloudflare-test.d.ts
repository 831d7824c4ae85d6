/**
 * The part of the `cloudflare:test` module (@cloudflare/vitest-pool-workers) these tests use.
 * Its own declarations need the Workers globals, which clash with the DOM lib the repo compiles
 * with (see edge/src/adapters/cloudflare/cloudflare-workers.d.ts).
 */
declare module 'cloudflare:test' {
  /** Resets every Durable Object instance (as an eviction does) without deleting stored data. */
  export function abortAllDurableObjects(): Promise<void>;
}
