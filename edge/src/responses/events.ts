/**
 * Chat completion chunks → Responses API stream events, as a pure state machine. The stream
 * opens with `response.created`, `response.in_progress`, the message item and its text part;
 * each chat delta becomes `response.output_text.delta`; the end closes the part and the item and
 * finishes with `response.completed` (or `response.incomplete` when the token budget cut it),
 * carrying usage. A failure after the first byte becomes an `error` event and `response.failed`.
 * Every event has a `sequence_number`, counted from 0.
 */
import type { ErrorBody } from '#shared/errors.ts';
import { type FinishReason, Usage } from '#shared/openai.ts';
import type { ResponsesRequest } from './request.ts';
import { finishStatus, type OutputMessage, outputText, type ResponseIds, type ResponseObject, responseShell, responseUsage } from './response.ts';

/** One stream event: its `type` is also the SSE `event:` name. */
export type ResponseEvent = { type: string; sequence_number: number } & Record<string, unknown>;

export interface ResponseEventsState {
  /** Events that open the stream (sent before the first chunk arrives). */
  start(): ResponseEvent[];
  /** Events for one chat chunk (text deltas; finish reason and usage are kept for the end). */
  chunk(chunk: Record<string, unknown>): ResponseEvent[];
  /** Events that close a stream that ended cleanly. */
  done(): ResponseEvent[];
  /** Events that close a stream that failed, from the error's OpenAI JSON. */
  fail(error: ErrorBody['error']): ResponseEvent[];
}

/** The translation state for one streamed response (the model is the request's until a chunk names it). */
export function responseEvents(req: ResponsesRequest, ids: ResponseIds): ResponseEventsState {
  let sequence = 0;
  let model = req.model;
  let text = '';
  let finish: FinishReason = null;
  let usage: Usage | undefined;
  const at = { output_index: 0, content_index: 0, item_id: ids.messageId };
  const event = (type: string, fields: Record<string, unknown>): ResponseEvent => ({ type, sequence_number: sequence++, ...fields });
  const message = (status: OutputMessage['status'], content: OutputMessage['content']): OutputMessage => ({
    type: 'message',
    id: ids.messageId,
    status,
    role: 'assistant',
    content,
  });
  const shell = (): ResponseObject => responseShell(req, ids, model);

  return {
    start() {
      const created = shell();
      return [
        event('response.created', { response: created }),
        event('response.in_progress', { response: created }),
        event('response.output_item.added', { output_index: 0, item: message('in_progress', []) }),
        event('response.content_part.added', { ...at, part: outputText('') }),
      ];
    },
    chunk(chunk) {
      if (typeof chunk.model === 'string') model = chunk.model;
      const chunkUsage = Usage.safeParse(chunk.usage);
      if (chunkUsage.success) usage = chunkUsage.data;
      const out: ResponseEvent[] = [];
      const choices: { delta?: { content?: unknown }; finish_reason?: unknown }[] = Array.isArray(chunk.choices) ? chunk.choices : [];
      for (const choice of choices) {
        const delta = choice?.delta?.content;
        if (typeof delta === 'string' && delta !== '') {
          text += delta;
          out.push(event('response.output_text.delta', { ...at, delta, logprobs: [] }));
        }
        const reason = choice?.finish_reason;
        if (reason === 'stop' || reason === 'length' || reason === 'content_filter') finish = reason;
      }
      return out;
    },
    done() {
      const finished = finishStatus(finish);
      const item = message(finished.status === 'completed' ? 'completed' : 'incomplete', [outputText(text)]);
      const response: ResponseObject = {
        ...shell(),
        ...finished,
        output: [item],
        output_text: text,
        usage: usage ? responseUsage(usage) : null,
      };
      return [
        event('response.output_text.done', { ...at, text, logprobs: [] }),
        event('response.content_part.done', { ...at, part: outputText(text) }),
        event('response.output_item.done', { output_index: 0, item }),
        event(finished.status === 'completed' ? 'response.completed' : 'response.incomplete', { response }),
      ];
    },
    fail(error) {
      const response: ResponseObject = {
        ...shell(),
        status: 'failed',
        error: { code: 'server_error', message: error.message },
        output: [message('incomplete', [outputText(text)])],
        output_text: text,
      };
      return [event('error', { code: error.code ?? error.type, message: error.message, param: error.param ?? null }), event('response.failed', { response })];
    },
  };
}
