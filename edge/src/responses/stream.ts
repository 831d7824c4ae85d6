/**
 * The client's Responses event stream, translated from the chat SSE stream the completions path
 * answers with (relayed or replayed from the cache). A transform, so backpressure and a client's
 * cancel reach the chat stream (and through it the origin) unchanged.
 */
import { ErrorBody } from '#shared/errors.ts';
import { type SseEvent, SseParser } from '#shared/sse.ts';
import type { ResponseEvent, ResponseEventsState } from './events.ts';
import type { ResponseObject } from './response.ts';

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

/** The events that end a stream, each carrying the final response object. */
const FINAL_EVENTS = new Set(['response.completed', 'response.incomplete', 'response.failed']);

/**
 * Translate `chatSse` (chat completion chunks, usage chunk included) into Responses events.
 * `settle` gets the final response before its event goes out (a stored response can be read as
 * soon as the client has seen it end).
 */
export function responsesStream(
  chatSse: ReadableStream<Uint8Array>,
  events: ResponseEventsState,
  settle?: (response: ResponseObject) => Promise<void>,
): ReadableStream<Uint8Array> {
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
  const send = async (ctrl: TransformStreamDefaultController<Uint8Array>, list: ResponseEvent[]) => {
    const last = list.at(-1);
    if (settle && last && FINAL_EVENTS.has(last.type)) await settle(last.response as ResponseObject);
    for (const e of list) ctrl.enqueue(encodeEvent(e));
  };

  return chatSse.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      start(ctrl) {
        return send(ctrl, events.start());
      },
      async transform(bytes, ctrl) {
        for (const ev of parser.push(dec.decode(bytes, { stream: true }))) await send(ctrl, handle(ev));
      },
      async flush(ctrl) {
        for (const ev of parser.push(`${dec.decode()}\n\n`)) await send(ctrl, handle(ev));
        if (!ended) {
          ended = true;
          await send(ctrl, events.fail(TRUNCATED));
        }
      },
    }),
  );
}
