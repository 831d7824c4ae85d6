/**
 * Chat completion chunks → Responses API stream events, as a pure state machine. The stream
 * opens with `response.created` and `response.in_progress`; text deltas fill a message item and
 * tool-call deltas `function_call` items (output-items.ts: each item added, filled with
 * `response.output_text.delta` or `response.function_call_arguments.delta`, and done); the end
 * closes the open item and finishes with `response.completed` (or `response.incomplete` when the
 * token budget cut it), carrying the items and usage. A failure after the first byte becomes an
 * `error` event and `response.failed`. Every event has a `sequence_number`, counted from 0.
 */
import type { ErrorBody } from '#shared/errors.ts';
import { FinishReason, Usage } from '#shared/openai.ts';
import { ToolCallDelta } from '#shared/openai-tools.ts';
import { type ResponseEvent, streamedOutput } from './output-items.ts';
import type { ResponsesRequest } from './request.ts';
import { finishStatus, outputTextOf, type ResponseIds, type ResponseObject, responseShell, responseUsage } from './response.ts';

export type { ResponseEvent } from './output-items.ts';

export interface ResponseEventsState {
  /** Events that open the stream (sent before the first chunk arrives). */
  start(): ResponseEvent[];
  /** Events for one chat chunk (text and call deltas; finish reason and usage are kept for the end). */
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
  let finish: FinishReason = null;
  let usage: Usage | undefined;
  const event = (type: string, fields: Record<string, unknown>): ResponseEvent => ({ type, sequence_number: sequence++, ...fields });
  const output = streamedOutput(ids, event);
  const shell = (): ResponseObject => responseShell(req, ids, model);

  return {
    start() {
      const created = shell();
      return [event('response.created', { response: created }), event('response.in_progress', { response: created })];
    },
    chunk(chunk) {
      if (typeof chunk.model === 'string') model = chunk.model;
      const chunkUsage = Usage.safeParse(chunk.usage);
      if (chunkUsage.success) usage = chunkUsage.data;
      const out: ResponseEvent[] = [];
      const choices: { delta?: { content?: unknown; tool_calls?: unknown }; finish_reason?: unknown }[] = Array.isArray(chunk.choices) ? chunk.choices : [];
      for (const choice of choices) {
        const text = choice?.delta?.content;
        if (typeof text === 'string' && text !== '') out.push(...output.text(text));
        const calls: unknown[] = Array.isArray(choice?.delta?.tool_calls) ? choice.delta.tool_calls : [];
        for (const call of calls) {
          const parsed = ToolCallDelta.safeParse(call);
          if (parsed.success) out.push(...output.call(parsed.data));
        }
        const reason = FinishReason.safeParse(choice?.finish_reason);
        if (reason.success && reason.data !== null) finish = reason.data;
      }
      return out;
    },
    done() {
      const finished = finishStatus(finish);
      const closing = output.close(finished.status === 'completed' ? 'completed' : 'incomplete');
      const items = output.items();
      const response: ResponseObject = {
        ...shell(),
        ...finished,
        output: items,
        output_text: outputTextOf(items),
        usage: usage ? responseUsage(usage) : null,
      };
      return [...closing, event(finished.status === 'completed' ? 'response.completed' : 'response.incomplete', { response })];
    },
    fail(error) {
      const items = output.items('incomplete');
      const response: ResponseObject = {
        ...shell(),
        status: 'failed',
        error: { code: 'server_error', message: error.message },
        output: items,
        output_text: outputTextOf(items),
      };
      return [event('error', { code: error.code ?? error.type, message: error.message, param: error.param ?? null }), event('response.failed', { response })];
    },
  };
}
