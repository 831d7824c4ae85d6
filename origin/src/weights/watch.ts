/**
 * Rolling updates: poll a ref and report when it moves. The origin syncs the new revision (in
 * the background, `activate: false` or true) and swaps engines when ready; this module only
 * notices the move, with no overlapping polls and errors reported, never thrown into a timer.
 */
import { z } from 'zod';
import { fromZodError } from '#shared/errors.ts';
import { ModelId, RefName } from './names.ts';
import type { ObjectStore } from './object-store.ts';
import { resolveRef } from './refs.ts';

const WatchOptions = z.object({
  bucket: z.string().min(1),
  model: ModelId,
  ref: RefName,
  intervalMs: z
    .number()
    .int()
    .min(100)
    .max(24 * 3600_000),
  /** The revision already served; when omitted, the first poll sets the baseline silently. */
  initial: z.string().optional(),
});

export interface WatchInput extends z.input<typeof WatchOptions> {
  s3: ObjectStore;
  /** Called once per new revision; the next poll waits until it settles. */
  onNewRevision: (revision: string, previous: string | undefined) => void | Promise<void>;
  onError?: (err: unknown) => void;
  signal?: AbortSignal;
}

export interface RefWatcher {
  /** Poll now (also used by tests); resolves to the revision seen, or null on error. */
  check(): Promise<string | null>;
  stop(): void;
}

/** Start polling `ref` every `intervalMs`; see module comment. */
export function watchRef(input: WatchInput): RefWatcher {
  const parsed = WatchOptions.safeParse(input);
  if (!parsed.success) throw fromZodError(parsed.error);
  const o = parsed.data;
  let last = o.initial;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let stopped = false;
  let inFlight: Promise<string | null> | null = null;

  async function poll(): Promise<string | null> {
    try {
      const rev = await resolveRef({ s3: input.s3, bucket: o.bucket, model: o.model, ref: o.ref, ...(input.signal ? { signal: input.signal } : {}) });
      if (last === undefined) last = rev;
      else if (rev !== last) {
        const prev = last;
        await input.onNewRevision(rev, prev);
        // Only after the callback accepted it: a failed callback is retried on the next poll.
        last = rev;
      }
      return rev;
    } catch (err) {
      input.onError?.(err);
      return null;
    }
  }

  function check(): Promise<string | null> {
    inFlight ??= poll().finally(() => (inFlight = null));
    return inFlight;
  }

  function schedule(): void {
    if (stopped) return;
    timer = setTimeout(() => void check().then(schedule), o.intervalMs);
    // A watcher alone must not keep a process alive.
    timer.unref?.();
  }

  const stop = () => {
    stopped = true;
    if (timer) clearTimeout(timer);
  };
  input.signal?.addEventListener('abort', stop, { once: true });
  schedule();
  return { check, stop };
}
