/**
 * One batched forward step that a single bad sequence cannot fail for the others. The step runs
 * as one `model.forward` call (the fast path, always taken when nothing goes wrong). If that call
 * throws, every cache is rolled back to where the step began and each sequence is run again on
 * its own: the ones that fail alone get their error, the rest get their logits and go on. A model
 * that is broken for everyone fails every sequence; no error escapes to the step loop.
 *
 * Pure engine logic: no runtime imports.
 */
import { ApiError } from '#shared/errors.ts';
import type { BatchModel, SequenceCache } from './scheduler-types.ts';

export interface StepItem {
  readonly cache: SequenceCache;
  readonly ids: readonly number[];
}

/** Per sequence: the logits of its last fed position, or why its step failed. */
export type StepRow = { readonly logits: Float32Array } | { readonly error: ApiError };

/**
 * Run `items` through the model. `live(i)` says whether item i still wants its result (an aborted
 * sequence is not retried). Rows come back in item order.
 */
export async function forwardIsolated(model: BatchModel, items: readonly StepItem[], live: (i: number) => boolean = () => true): Promise<StepRow[]> {
  const lengths = items.map((it) => it.cache.length);
  let batchError: unknown;
  try {
    const rows = await model.forward(items);
    if (rows.length !== items.length) throw new Error(`forward returned ${rows.length} rows for ${items.length} sequences`);
    return rows.map((logits) => ({ logits }));
  } catch (err) {
    batchError = err;
  }
  items.forEach((it, i) => rollBack(it.cache, lengths[i]!));
  if (items.length === 1) return [{ error: asStepError(batchError) }];
  const out: StepRow[] = [];
  for (let i = 0; i < items.length; i++) {
    if (!live(i)) {
      out.push({ error: asStepError(batchError) });
      continue;
    }
    try {
      const [logits] = await model.forward([items[i]!]);
      if (!logits) throw new Error('forward returned no row for one sequence');
      // The model may reuse its logits buffer on the next call.
      out.push({ logits: logits.slice() });
    } catch (err) {
      rollBack(items[i]!.cache, lengths[i]!);
      out.push({ error: asStepError(err) });
    }
  }
  return out;
}

/** Forget what a failed call may have written past `length` (a chunked forward commits as it goes). */
function rollBack(cache: SequenceCache, length: number): void {
  try {
    if (cache.length > length) cache.truncate(length);
  } catch {
    // The sequence fails anyway; its cache is dropped with it.
  }
}

function asStepError(err: unknown): ApiError {
  return err instanceof ApiError ? err : new ApiError('internal_error', 'The model failed during a forward step.', { cause: err });
}
