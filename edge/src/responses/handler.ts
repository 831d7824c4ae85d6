/**
 * `POST /v1/responses`: the Responses API translated onto the chat completions path. The body is
 * validated against the Responses schema (request.ts), turned into a chat request and served by
 * the same code as `/v1/chat/completions` (limits, response cache, routing, failover, metering:
 * usage records say `chat.completions`); its answer, JSON or SSE, is translated back
 * (response.ts, events.ts). The response id is `resp_` + the request id that keys the usage record.
 * A finished response is stored unless `store` is false (stored.ts).
 */
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { ApiError, fromZodError } from '#shared/errors.ts';
import { ChatCompletion } from '#shared/openai.ts';
import { parseJson, readBodyLimited } from '#shared/request-body.ts';
import type { EdgeEnv } from '../context.ts';
import { type CompletionsDeps, serveCompletion } from '../proxy/completions.ts';
import { responseEvents } from './events.ts';
import type { InputItem } from './input.ts';
import { ResponsesRequest, responsesParam, toChatRequest } from './request.ts';
import { type ResponseIds, type ResponseObject, toResponseObject } from './response.ts';
import { historyOf, keepResponse, type StoredResponsesDeps, storing } from './stored.ts';
import { responsesStream } from './stream.ts';

/** Headers of the chat answer that describe the body, which the translation replaces. */
const BODY_HEADERS = new Set(['content-length', 'content-type', 'content-encoding', 'etag']);

/** The route handler. */
export function responsesHandler(deps: CompletionsDeps, stored: StoredResponsesDeps) {
  const serve = serveCompletion(deps, 'chat.completions');
  return async function responses(c: Context<EdgeEnv>): Promise<Response> {
    const tenantId = c.get('principal').tenantId;
    let req: ResponsesRequest;
    let history: InputItem[];
    let store: boolean;
    try {
      const parsed = ResponsesRequest.safeParse(parseJson(await readBodyLimited(c.req.raw, deps.maxBodyBytes)));
      if (!parsed.success) throw fromZodError(parsed.error);
      req = parsed.data;
      store = storing(stored, req);
      history = await historyOf(stored, tenantId, req);
    } catch (err) {
      await deps.limits.annotate(c); // refused before admission, still with the rate-limit headers
      throw err;
    }
    const requestId = c.get('upstreamRequestId');
    const ids: ResponseIds = { id: `resp_${requestId}`, messageId: `msg_${requestId}`, createdAt: Math.floor(deps.clock.now() / 1000), stored: store };
    const keep = (response: ResponseObject) => (store ? keepResponse(stored, tenantId, req, history, response) : Promise.resolve());
    const chat = await serve(c, toChatRequest(req, history)).catch((err: unknown) => {
      throw renamedParam(err);
    });
    const headers: Record<string, string> = {};
    chat.headers.forEach((v, k) => {
      if (!BODY_HEADERS.has(k)) headers[k] = v;
    });

    if (req.stream === true && chat.body && (chat.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
      headers['content-type'] = chat.headers.get('content-type') ?? 'text/event-stream';
      return c.body(responsesStream(chat.body, responseEvents(req, ids), keep), 200, headers);
    }
    const parsed = ChatCompletion.safeParse(await chat.json().catch(() => undefined));
    if (!parsed.success) throw new ApiError('origin_error', 'The origin sent a chat completion this server could not read.', { cause: parsed.error });
    const response = toResponseObject(parsed.data, req, ids);
    await keep(response);
    return c.json(response, chat.status as ContentfulStatusCode, headers);
  };
}

/** An error from the chat path, naming the parameter as the Responses request called it. */
function renamedParam(err: unknown): unknown {
  if (!(err instanceof ApiError) || err.param === null) return err;
  const param = responsesParam(err.param);
  if (param === err.param) return err;
  return new ApiError(err.code, err.message, { param, retryAfter: err.retryAfter, cause: err.cause });
}
