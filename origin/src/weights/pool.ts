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
