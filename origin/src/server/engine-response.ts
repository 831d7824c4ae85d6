/**
 * Turns one admitted run's engine events into an OpenAI response: JSON, or SSE. Up to the
 * engine's first event a failure is thrown, and generation-request.ts answers it with a proper
 * status and error JSON (overloaded, context too long…); once streaming has begun, the stream's
 * pump settles the run itself: an SSE `error` frame, and the stream ends without `[DONE]`
 * (DESIGN §1).
 */
import { ApiError } from '#shared/errors.ts';
import { SSE_DONE, SSE_HEADERS, sseData, sseError } from '#shared/sse.ts';
import type { Engine, EngineEvent, TokenLogprob } from '../engine/types.ts';
import type { MappedRequest } from './map-request.ts';
import type { Renderer } from './render.ts';
import { clientClosed, type RequestRun } from './request-run.ts';

type Events = AsyncIterator<EngineEvent>;
/** An SSE chunk and the completion tokens it hands to the client. */
interface Outgoing {
  bytes: Uint8Array;
  tokens: number;
}

/** Why an engine `finish` with reason `abort` happened, as the error to report. */
function abortError(run: RequestRun): ApiError {
  const reason: unknown = run.signal.reason;
  if (run.signal.aborted && reason instanceof ApiError) return reason;
  return new ApiError('engine_unavailable', 'The engine cancelled the request.', { retryAfter: 1 });
}

function closeQuietly(events: Events): void {
  void events.return?.()?.catch(() => {});
}

/**
 * Start `engine` on the run's request and wait for its first event; then answer (JSON or SSE).
 * Throws while no response exists; the caller settles the run on a throw.
 */
export async function engineResponse(engine: Engine, run: RequestRun, mapped: MappedRequest, renderer: Renderer): Promise<Response> {
  const events = engine.generate(mapped.generate, run.signal)[Symbol.asyncIterator]();
  let first: IteratorResult<EngineEvent>;
  try {
    first = await events.next();
  } catch (err) {
    closeQuietly(events);
    throw err;
  }
  if (first.done) throw new ApiError('internal_error', 'The engine produced no events.');
  return mapped.stream ? streamResponse(run, events, first.value, mapped, renderer) : await jsonResponse(run, events, first.value, renderer);
}

async function jsonResponse(run: RequestRun, events: Events, first: EngineEvent, renderer: Renderer): Promise<Response> {
  let text = '';
  const logprobs: TokenLogprob[] = [];
  try {
    for (let r: IteratorResult<EngineEvent> = { done: false, value: first }; !r.done; r = await events.next()) {
      const ev = r.value;
      run.observe(ev);
      if (ev.type === 'delta') {
        text += ev.text;
        if (ev.logprobs) logprobs.push(...ev.logprobs);
      } else if (ev.type === 'finish') {
        if (ev.reason === 'abort') throw abortError(run);
        // `finish` is the last event: end the engine's iterator so its cleanup runs now.
        closeQuietly(events);
        await run.settle('finish');
        return Response.json(renderer.complete(text, logprobs, ev.reason, ev.usage));
      }
    }
  } catch (err) {
    closeQuietly(events);
    throw err;
  }
  throw new ApiError('internal_error', 'The engine ended without a finish event.');
}

function streamResponse(run: RequestRun, events: Events, first: EngineEvent, mapped: MappedRequest, renderer: Renderer): Response {
  let cancelled = false;
  let wakePull: (() => void) | undefined;

  // One pump reads the engine sequentially; after a cancel it keeps reading (without emitting)
  // until the engine's `finish`, because that event carries the exact usage of the aborted request.
  async function pump(ctrl: ReadableStreamDefaultController<Outgoing>): Promise<void> {
    const emit = (bytes: Uint8Array, tokens = 0) => {
      if (!cancelled) ctrl.enqueue({ bytes, tokens });
    };
    const end = () => {
      if (!cancelled) ctrl.close();
    };
    // Tokens generated since the last emitted delta (their text is still held back).
    let unsent = 0;
    // With tools, text and calls leave as the splitter decides them (logprobs are refused with tools).
    const tools = mapped.tools ? renderer.toolStream() : null;
    const emitAll = (chunks: object[]) => {
      chunks.forEach((c, i) => emit(sseData(c), i === 0 ? unsent : 0));
      if (chunks.length > 0) unsent = 0;
    };
    try {
      const head = renderer.first();
      if (head) emit(sseData(head));
      for (let r: IteratorResult<EngineEvent> = { done: false, value: first }; !r.done; r = await events.next()) {
        const ev = r.value;
        run.observe(ev);
        if (ev.type === 'delta') {
          unsent += ev.tokenIds.length;
          if (tools) {
            const chunks = tools.push(ev.text);
            if (chunks.length === 0) continue;
            emitAll(chunks);
          } else {
            // An empty delta (a token that completes a character later) only matters for its logprobs.
            if (ev.text === '' && !(mapped.logprobs && ev.logprobs?.length)) continue;
            // Held-back tokens go out with the delta that carries their text.
            emitAll([renderer.delta(ev.text, ev.logprobs)]);
          }
          if (!cancelled && (ctrl.desiredSize ?? 1) <= 0) await new Promise<void>((res) => (wakePull = res));
        } else if (ev.type === 'finish') {
          if (ev.reason === 'abort') throw abortError(run);
          closeQuietly(events);
          // Durable before the response ends: the record is stored before the last bytes go out.
          await run.settle('finish');
          emitAll(tools ? tools.end(ev.reason) : [renderer.finish(ev.reason)]);
          if (mapped.includeUsage) emit(sseData(renderer.usage(ev.usage)));
          emit(SSE_DONE);
          end();
          return;
        }
      }
      throw new ApiError('internal_error', 'The engine ended without a finish event.');
    } catch (err) {
      closeQuietly(events);
      const e = run.explain(err);
      await run.fail(e);
      emit(sseError(e));
      end();
    }
  }

  const source = new ReadableStream<Outgoing>(
    {
      start(ctrl) {
        void pump(ctrl);
      },
      pull() {
        wakePull?.();
        wakePull = undefined;
      },
      cancel() {
        cancelled = true;
        run.abort(clientClosed());
        wakePull?.();
      },
    },
    new CountQueuingStrategy({ highWaterMark: 64 }),
  );
  // Tokens count as handed to the client when the HTTP layer takes their chunk, not when it is
  // queued above (a slow client can leave 64 chunks there): the usage journal must never record
  // more than the client could have received. No queue here (high-water mark 0), so a chunk
  // passes only when the HTTP layer asks for it, after the journal's checkpoint if one is due.
  const body = source.pipeThrough(
    new TransformStream<Outgoing, Uint8Array>({ transform: (out, ctrl) => run.deliver(out.tokens, () => ctrl.enqueue(out.bytes)) }, undefined, {
      highWaterMark: 0,
    }),
  );
  return new Response(body, { status: 200, headers: SSE_HEADERS });
}
