/**
 * The output items of a streamed response, built as chat deltas arrive, with the events that
 * open, fill and close each one. Text goes into a message item (opened on its first piece), each
 * tool call into a `function_call` item (opened on its first piece, which names the function);
 * opening an item closes the one before it, so items are added and done in output order and every
 * event's `output_index` is the item's place in the final `output`.
 */

import type { z } from 'zod';
import type { ToolCallDelta } from '#shared/openai-tools.ts';
import { functionCallItemId, type OutputItem, type OutputMessage, outputText, type ResponseIds } from './response.ts';

/** One stream event: its `type` is also the SSE `event:` name. */
export type ResponseEvent = { type: string; sequence_number: number } & Record<string, unknown>;
/** Makes an event, numbering it in the stream. */
export type EmitEvent = (type: string, fields: Record<string, unknown>) => ResponseEvent;
type ItemStatus = OutputMessage['status'];

export interface StreamedOutput {
  /** Events for a piece of the assistant's text. */
  text(delta: string): ResponseEvent[];
  /** Events for a piece of a tool call. */
  call(delta: z.infer<typeof ToolCallDelta>): ResponseEvent[];
  /** Events closing the open item with `status`; an output with no item gets an empty message first. */
  close(status: ItemStatus): ResponseEvent[];
  /** The items as they stand (the open one with `status`), copies safe to hand out. */
  items(status?: ItemStatus): OutputItem[];
}

// Events carry copies: an item keeps changing after the event that announced it.
const copy = (item: OutputItem): OutputItem => (item.type === 'message' ? { ...item, content: item.content.map((p) => ({ ...p })) } : { ...item });

/** The output of one streamed response, ids from `ids`, events made by `emit`. */
export function streamedOutput(ids: ResponseIds, emit: EmitEvent): StreamedOutput {
  const items: OutputItem[] = [];
  /** Output index of each chat tool-call index. */
  const calls = new Map<number, number>();
  let open: number | undefined;
  let messages = 0;

  const closeOpen = (status: ItemStatus): ResponseEvent[] => {
    if (open === undefined) return [];
    const at = open;
    const item = items[at]!;
    open = undefined;
    item.status = status;
    const events: ResponseEvent[] = [];
    if (item.type === 'function_call') {
      events.push(emit('response.function_call_arguments.done', { item_id: item.id, output_index: at, name: item.name, arguments: item.arguments }));
    } else {
      const part = item.content[0]!;
      const where = { item_id: item.id, output_index: at, content_index: 0 };
      events.push(emit('response.output_text.done', { ...where, text: part.text, logprobs: [] }));
      events.push(emit('response.content_part.done', { ...where, part: { ...part } }));
    }
    events.push(emit('response.output_item.done', { output_index: at, item: copy(item) }));
    return events;
  };

  const openItem = (item: OutputItem): ResponseEvent[] => {
    const events = closeOpen('completed');
    open = items.push(item) - 1;
    events.push(emit('response.output_item.added', { output_index: open, item: copy(item) }));
    return events;
  };

  const openMessage = (): ResponseEvent[] => {
    const id = messages === 0 ? ids.messageId : `${ids.messageId}_${messages}`;
    messages += 1;
    const item: OutputMessage = { type: 'message', id, status: 'in_progress', role: 'assistant', content: [] };
    const events = openItem(item);
    item.content.push(outputText(''));
    events.push(emit('response.content_part.added', { item_id: id, output_index: open, content_index: 0, part: outputText('') }));
    return events;
  };

  return {
    text(delta) {
      const events = open !== undefined && items[open]!.type === 'message' ? [] : openMessage();
      const item = items[open!] as OutputMessage;
      item.content[0]!.text += delta;
      events.push(emit('response.output_text.delta', { item_id: item.id, output_index: open, content_index: 0, delta, logprobs: [] }));
      return events;
    },
    call(delta) {
      const events: ResponseEvent[] = [];
      let at = calls.get(delta.index);
      if (at === undefined) {
        const id = functionCallItemId(ids, calls.size);
        events.push(...openItem({ type: 'function_call', id, call_id: delta.id ?? id, name: delta.function.name ?? '', arguments: '', status: 'in_progress' }));
        at = open!;
        calls.set(delta.index, at);
      }
      const item = items[at]!;
      const piece = delta.function.arguments ?? '';
      if (item.type !== 'function_call' || piece === '') return events;
      item.arguments += piece;
      // A piece for a call already closed (engines send calls one after another) has no event to
      // go in; it still reaches the final response.
      if (at === open) events.push(emit('response.function_call_arguments.delta', { item_id: item.id, output_index: at, delta: piece }));
      return events;
    },
    close(status) {
      const events = items.length === 0 ? openMessage() : [];
      return [...events, ...closeOpen(status)];
    },
    items(status) {
      return items.map((item, i) => (i === open && status ? { ...copy(item), status } : copy(item)));
    },
  };
}
