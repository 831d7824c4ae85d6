/**
 * A bounded-concurrency runner (pure): run async tasks with at most `limit` in flight, stop
 * starting new ones after the first failure, and rethrow it once everything in flight settled.
 */

/** Run `fn` over `items` with at most `limit` concurrent calls; results keep the input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed: { err: unknown } | null = null;
  async function worker(): Promise<void> {
    while (failed === null && next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i]!, i);
      } catch (err) {
        if (failed === null) failed = { err };
      }
    }
  }
  const n = Math.max(1, Math.min(limit, items.length));
  await Promise.all(Array.from({ length: n }, worker));
  if (failed !== null) throw (failed as { err: unknown }).err;
  return results;
}

/**
 * At most `limit` holders at once, first come first served: `run(fn)` waits for a free place,
 * runs `fn`, and frees the place when it settles.
 */
export function createLimiter(limit: number): { run<R>(fn: () => Promise<R>): Promise<R> } {
  let active = 0;
  const waiting: (() => void)[] = [];
  return {
    async run(fn) {
      if (active >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
      else active++;
      try {
        return await fn();
      } finally {
        // Hand the place straight to the next waiter (active stays the same), or free it.
        const next = waiting.shift();
        if (next) next();
        else active--;
      }
    },
  };
}
