/**
 * The client's Responses event stream, translated from the chat SSE stream the completions path
 * answers with (relayed or replayed from the cache). A transform, so backpressure and a client's
 * cancel reach the chat stream (and through it the origin) unchanged.
 */
import { ErrorBody } from '#shared/errors.ts';
import { type SseEvent, SseParser } from '#shared/sse.ts';
import type { ResponseEvent, ResponseEventsState } from './events.ts';

const enc = new TextEncoder();

/** One event as SSE: `event: <type>` and its JSON on one `data:` line (JSON has no raw newlines). */
export function encodeEvent(e: ResponseEvent): Uint8Array {
  return enc.encode(`event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
}

const TRUNCATED: ErrorBody['error'] = {
  message: 'The origin ended the stream before it was complete.',
  type: 'server_error',
  param: null,
  code: 'origin_error',
};

function errorOf(data: string): ErrorBody['error'] {
  try {
    const parsed = ErrorBody.safeParse(JSON.parse(data));
    if (parsed.success) return parsed.data.error;
  } catch {
    // not JSON: reported as a generic failure below
  }
  return { ...TRUNCATED, message: 'The origin failed while streaming the response.' };
}

/** Translate `chatSse` (chat completion chunks, usage chunk included) into Responses events. */
export function responsesStream(chatSse: ReadableStream<Uint8Array>, events: ResponseEventsState): ReadableStream<Uint8Array> {
  const parser = new SseParser();
  const dec = new TextDecoder();
  let ended = false;

  const handle = (ev: SseEvent): ResponseEvent[] => {
    if (ended) return [];
    if (ev.event === 'error') {
      ended = true;
      return events.fail(errorOf(ev.data));
    }
    if (ev.data === '[DONE]') {
      ended = true;
      return events.done();
    }
    let chunk: unknown;
    try {
      chunk = JSON.parse(ev.data);
    } catch {
      return [];
    }
    return typeof chunk === 'object' && chunk !== null && !Array.isArray(chunk) ? events.chunk(chunk as Record<string, unknown>) : [];
  };
  const send = (ctrl: TransformStreamDefaultController<Uint8Array>, list: ResponseEvent[]) => {
    for (const e of list) ctrl.enqueue(encodeEvent(e));
  };

  return chatSse.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      start(ctrl) {
        send(ctrl, events.start());
      },
      transform(bytes, ctrl) {
        for (const ev of parser.push(dec.decode(bytes, { stream: true }))) send(ctrl, handle(ev));
      },
      flush(ctrl) {
        for (const ev of parser.push(`${dec.decode()}\n\n`)) send(ctrl, handle(ev));
        if (!ended) {
          ended = true;
          send(ctrl, events.fail(TRUNCATED));
        }
      },
    }),
  );
}
