/**
 * Relays an origin's SSE stream to the client as it arrives (pull-driven: one origin chunk is
 * read only when the client has taken the previous output, so nothing piles up at the edge).
 *
 * - The usage chunk (`usage` set, `choices` empty) is read for limits reconciliation and dropped
 *   unless the client asked for it (`stream_options.include_usage`).
 * - `data: [DONE]` ends the relay cleanly.
 * - If the origin fails or its stream ends without `[DONE]` after bytes reached the client, an
 *   SSE `event: error` frame is sent and the stream ends without `[DONE]` (DESIGN §1).
 * - A client cancel aborts the origin request.
 */
import { ApiError } from '#shared/errors.ts';
import { Usage } from '#shared/openai.ts';
import { SSE_DONE, type SseEvent, SseParser, sseData, sseError } from '#shared/sse.ts';

export type RelayOutcome = 'done' | 'origin-error' | 'truncated' | 'cancelled';

export interface RelayOptions {
  clientWantsUsage: boolean;
  onUsage: (usage: Usage) => void;
  /** Each JSON chunk the origin sent, as sent (usage chunk included), before any is stripped. */
  onChunk?: (chunk: Record<string, unknown>) => void;
  /** Called exactly once when the relay ends, however it ends. */
  onEnd: (outcome: RelayOutcome, err?: unknown) => void;
  /** Abort the origin request (client went away). */
  abortOrigin: (reason: unknown) => void;
  /** The error to report when reading the origin fails (e.g. a deadline abort's reason). */
  failureReason?: () => unknown;
}

const enc = new TextEncoder();

/** Wrap an origin SSE body into the client's stream. */
export function relaySse(origin: ReadableStream<Uint8Array>, opts: RelayOptions): ReadableStream<Uint8Array> {
  const reader = origin.getReader();
  const parser = new SseParser();
  const dec = new TextDecoder();
  let ended = false;

  const end = (outcome: RelayOutcome, err?: unknown) => {
    if (ended) return;
    ended = true;
    opts.onEnd(outcome, err);
  };

  /** What to send the client for one origin event; null = nothing. Sets `terminal` on DONE/error. */
  const handle = (ev: SseEvent): { out: Uint8Array | null; terminal?: RelayOutcome } => {
    if (ev.event === 'error') {
      return { out: enc.encode(`event: error\ndata: ${ev.data.split(/\r?\n/).join('\ndata: ')}\n\n`), terminal: 'origin-error' };
    }
    if (ev.data === '[DONE]') return { out: SSE_DONE, terminal: 'done' };
    let chunk: unknown;
    try {
      chunk = JSON.parse(ev.data);
    } catch {
      return { out: frame(ev) };
    }
    if (isRecord(chunk)) opts.onChunk?.(chunk);
    if (!isRecord(chunk) || chunk.usage == null) return { out: frame(ev) };
    const usage = Usage.safeParse(chunk.usage);
    if (usage.success) opts.onUsage(usage.data);
    if (opts.clientWantsUsage) return { out: frame(ev) };
    const choices = Array.isArray(chunk.choices) ? chunk.choices : [];
    if (choices.length === 0) return { out: null };
    // Usage attached to a content chunk: keep the content, hide the usage.
    return { out: sseData({ ...chunk, usage: null }) };
  };

  return new ReadableStream<Uint8Array>(
    {
      async pull(ctrl) {
        // Loop until something was enqueued or the stream ended, so each pull makes progress.
        for (;;) {
          let read: ReadableStreamReadResult<Uint8Array>;
          try {
            read = await reader.read();
          } catch (err) {
            if (ended) return;
            const reason = opts.failureReason?.() ?? new ApiError('origin_error', 'The origin failed while streaming the response.', { cause: err });
            ctrl.enqueue(sseError(reason));
            ctrl.close();
            end('origin-error', err);
            return;
          }
          const events = read.done ? parser.push(`${dec.decode()}\n\n`) : parser.push(dec.decode(read.value, { stream: true }));
          let wrote = false;
          for (const ev of events) {
            const { out, terminal } = handle(ev);
            if (out) {
              ctrl.enqueue(out);
              wrote = true;
            }
            if (terminal) {
              ctrl.close();
              end(terminal);
              // Nothing after [DONE] or an error frame matters; free the origin connection.
              reader.cancel().catch(() => {});
              return;
            }
          }
          if (read.done) {
            ctrl.enqueue(sseError(new ApiError('origin_error', 'The origin ended the stream before it was complete.')));
            ctrl.close();
            end('truncated');
            return;
          }
          if (wrote) return;
        }
      },
      cancel(reason) {
        end('cancelled', reason);
        opts.abortOrigin(reason);
        reader.cancel(reason).catch(() => {});
      },
    },
    { highWaterMark: 0 },
  );
}

function frame(ev: SseEvent): Uint8Array {
  if (ev.event === undefined || ev.event === 'message') return sseData(ev.data);
  return enc.encode(`event: ${ev.event}\n${new TextDecoder().decode(sseData(ev.data))}`);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
