/**
 * The inference rows of the route table (routes.ts): completions and the Responses API, stored
 * responses included.
 */
import { z } from 'zod';
import { ChatCompletion, ChatCompletionRequest, Completion, CompletionRequest } from '#shared/openai.ts';
import { ResponsesRequest } from '../responses/request.ts';
import { ResponseObject } from '../responses/response.ts';
import { idParam, json, type RouteDoc } from './route-doc.ts';

const DeletedResponse = z.object({ id: z.string(), object: z.literal('response'), deleted: z.literal(true) });

export const INFERENCE_ROUTES: RouteDoc[] = [
  {
    method: 'post',
    path: '/v1/chat/completions',
    summary: 'Create a chat completion (OpenAI-compatible; `stream: true` answers with server-sent events).',
    tag: 'Inference',
    access: 'inference',
    body: json('ChatCompletionRequest', ChatCompletionRequest),
    response: json('ChatCompletion', ChatCompletion),
    alternative: { mediaType: 'text/event-stream', description: 'With `stream: true`: one `data:` event per ChatCompletionChunk, then `data: [DONE]`.' },
    errors: [404, 408, 413, 415, 429, 502, 503, 504],
    cached: true,
  },
  {
    method: 'post',
    path: '/v1/completions',
    summary: 'Create a text completion (OpenAI-compatible legacy API).',
    tag: 'Inference',
    access: 'inference',
    body: json('CompletionRequest', CompletionRequest),
    response: json('Completion', Completion),
    alternative: { mediaType: 'text/event-stream', description: 'With `stream: true`: one `data:` event per Completion chunk, then `data: [DONE]`.' },
    errors: [404, 408, 413, 415, 429, 502, 503, 504],
    cached: true,
  },
  {
    method: 'post',
    path: '/v1/responses',
    summary: 'Create a response (OpenAI Responses API, the subset one chat generation serves; stored unless `store` is false).',
    tag: 'Inference',
    access: 'inference',
    body: json('ResponsesRequest', ResponsesRequest),
    response: json('Response', ResponseObject),
    alternative: {
      mediaType: 'text/event-stream',
      description:
        'With `stream: true`: `event: <type>` + `data:` per Responses stream event, ending with `response.completed`, `response.incomplete` or `response.failed`.',
    },
    errors: [404, 408, 413, 415, 429, 502, 503, 504],
    cached: true,
  },
  {
    method: 'get',
    path: `/v1/responses/${idParam}`,
    summary: "A stored response of the caller's tenant (kept 30 days by default).",
    tag: 'Inference',
    access: 'inference',
    response: json('Response', ResponseObject),
    errors: [404],
  },
  {
    method: 'delete',
    path: `/v1/responses/${idParam}`,
    summary: "Delete a stored response of the caller's tenant.",
    tag: 'Inference',
    access: 'inference',
    response: json('DeletedResponse', DeletedResponse),
    errors: [404],
  },
];
