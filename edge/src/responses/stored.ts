/**
 * Stored responses (the Responses API's `store`, on by default as OpenAI has it): a finished
 * response is kept for its tenant with a TTL, with the conversation that led to it as input items
 * (the chain of previous responses resolved, its own output last). `previous_response_id` then
 * continues from it: the stored items go ahead of the new input (the previous `instructions` do
 * not carry over, as OpenAI documents), so an agent loop sends only what is new each turn.
 * `GET /v1/responses/{id}` returns a stored response, `DELETE` removes it; another tenant's id is
 * not found. Without a store, `store: true` and `previous_response_id` are a 400.
 */
import type { Context } from 'hono';
import { z } from 'zod';
import { ApiError } from '#shared/errors.ts';
import type { EdgeEnv } from '../context.ts';
import type { Clock, ResponseStore, StoredResponse } from '../ports.ts';
import { InputItem, inputIssues } from './input.ts';
import { inputItems, type ResponsesRequest } from './request.ts';
import type { ResponseObject } from './response.ts';

export interface StoredResponsesDeps {
  /** Where responses are kept; unset = nothing is stored. */
  store?: ResponseStore;
  /** How long a stored response can be read or continued from. */
  ttlMs: number;
  clock: Clock;
  log: (msg: string, fields?: Record<string, unknown>) => void;
}

const StoredItems = z.array(InputItem);

const notStored = (param: string) => new ApiError('invalid_request_error', `responses are not stored by this server: '${param}' is not available.`, { param });

/** Whether `req`'s response is to be stored. */
export function storing(deps: StoredResponsesDeps, req: ResponsesRequest): boolean {
  if (req.store === true && !deps.store) throw notStored('store');
  return deps.store !== undefined && req.store !== false;
}

/** The items stored with `record`, or undefined when they no longer read as input items. */
function itemsOf(record: StoredResponse): InputItem[] | undefined {
  try {
    const parsed = StoredItems.safeParse(JSON.parse(record.items));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The items `req` continues from: none, or its previous response's conversation. A function
 * output in `req.input` must answer a call in that conversation or earlier in the input.
 */
export async function historyOf(deps: StoredResponsesDeps, tenantId: string, req: ResponsesRequest): Promise<InputItem[]> {
  const previous = req.previous_response_id;
  if (previous == null) return [];
  if (!deps.store) throw notStored('previous_response_id');
  const record = await deps.store.get(tenantId, previous, deps.clock.now());
  const items = record ? itemsOf(record) : undefined;
  if (!items) throw new ApiError('invalid_request_error', `Previous response with id '${previous}' not found.`, { param: 'previous_response_id' });
  for (const issue of inputIssues([...items, ...inputItems(req)])) {
    const [, at, ...rest] = issue.path;
    if (typeof at === 'number' && at >= items.length) {
      throw new ApiError('invalid_request_error', issue.message, { param: ['input', at - items.length, ...rest].join('.') });
    }
  }
  return items;
}

/** Keep a finished response; a failure is logged, never the client's error (the answer is out). */
export async function keepResponse(
  deps: StoredResponsesDeps,
  tenantId: string,
  req: ResponsesRequest,
  history: readonly InputItem[],
  response: ResponseObject,
): Promise<void> {
  if (!deps.store) return;
  const now = deps.clock.now();
  const record: StoredResponse = {
    tenantId,
    id: response.id,
    createdAt: now,
    expiresAt: now + deps.ttlMs,
    response: JSON.stringify(response),
    items: JSON.stringify([...history, ...inputItems(req), ...response.output]),
  };
  await deps.store.put(record).catch((err: unknown) => deps.log('storing a response failed', { id: response.id, error: String(err) }));
}

async function found(deps: StoredResponsesDeps, c: Context<EdgeEnv>): Promise<StoredResponse> {
  const id = c.req.param('id') ?? '';
  const record = deps.store ? await deps.store.get(c.get('principal').tenantId, id, deps.clock.now()) : null;
  if (!record) throw new ApiError('not_found', `No response found with id '${id}'.`);
  return record;
}

/** `GET /v1/responses/{id}`. */
export function getStoredResponse(deps: StoredResponsesDeps) {
  return async (c: Context<EdgeEnv>) => {
    const record = await found(deps, c);
    try {
      return c.json(JSON.parse(record.response) as Record<string, unknown>);
    } catch {
      // A row that no longer reads is as good as gone: never a 500.
      throw new ApiError('not_found', `No response found with id '${record.id}'.`);
    }
  };
}

/** `DELETE /v1/responses/{id}`. */
export function deleteStoredResponse(deps: StoredResponsesDeps) {
  return async (c: Context<EdgeEnv>) => {
    const record = await found(deps, c);
    await deps.store?.delete(record.tenantId, record.id);
    return c.json({ id: record.id, object: 'response', deleted: true });
  };
}
