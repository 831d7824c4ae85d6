import { describe, expect, it } from 'vitest';
import { ApiError } from '#shared/errors.ts';
import { createScheduler } from '../scheduler.ts';
import { candidate } from '../testing/candidate.ts';
import type { Candidate, RouteRequest } from '../types.ts';
import { promptSizeFilter } from './prompt-size-filter.ts';

const replica = (id: string, maxPromptBytes?: Candidate['maxPromptBytes']): Candidate => candidate(id, maxPromptBytes ? { maxPromptBytes } : {});

// Two messages: the bound is on their contents together.
const chat = (bytes: number): RouteRequest => ({ model: 'm', prompt: { field: 'messages', parts: ['x'.repeat(bytes - 1), 'y'] } });
const text = (bytes: number): RouteRequest => ({ model: 'm', prompt: { field: 'prompt', parts: ['x'.repeat(bytes)] } });
const kept = (req: RouteRequest, bounds: Candidate['maxPromptBytes']) => promptSizeFilter().filter(req, [replica('a', bounds)]).length === 1;

describe('prompt-size-filter', () => {
  it.each([
    { name: 'no prompt text (token ids)', req: { model: 'm' }, bounds: { prompt: 1, messages: 1 }, want: true },
    { name: 'no bound advertised (older origin)', req: chat(10_000_000), bounds: undefined, want: true },
    { name: 'no bound for this field', req: chat(10_000_000), bounds: { prompt: 10 }, want: true },
    { name: 'exactly at the bound', req: text(100), bounds: { prompt: 100 }, want: true },
    { name: 'one byte over the bound', req: text(101), bounds: { prompt: 100 }, want: false },
    { name: 'chat judged by the messages bound', req: chat(101), bounds: { prompt: 1000, messages: 100 }, want: false },
    {
      name: 'multibyte text: bytes count, not characters',
      req: { model: 'm', prompt: { field: 'prompt' as const, parts: ['é'.repeat(51)] } },
      bounds: { prompt: 101 },
      want: false,
    },
    {
      name: 'chat parts add up',
      req: { model: 'm', prompt: { field: 'messages' as const, parts: ['x'.repeat(60), '🙂'.repeat(10)] } },
      bounds: { messages: 100 },
      want: true,
    },
  ])('$name → $want', ({ req, bounds, want }) => {
    expect(kept(req, bounds)).toBe(want);
  });
});

describe('in the default scheduler', () => {
  const s = createScheduler({ random: () => 0.5 });

  it('routes a long prompt only to the replicas that could fit it', () => {
    const cs = [replica('small', { messages: 1000 }), replica('big', { messages: 100_000 }), replica('old')];
    expect(s.rank(chat(50_000), cs).map((c) => c.id)).toEqual(['big', 'old']);
  });

  it('refuses with 400 context_length_exceeded naming the field when no replica in rotation could fit it', () => {
    const cs = [replica('a', { messages: 1000 }), replica('b', { messages: 2000 }), { ...replica('stale'), ageMs: 60_000 }];
    let err: unknown;
    try {
      s.rank(chat(2_000_000), cs);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ code: 'context_length_exceeded', status: 400, param: 'messages' });
    expect((err as Error).message).toContain('over 2000 bytes');
  });

  it('still answers "nothing ready" (empty) rather than refusing when no replica is in rotation', () => {
    expect(s.rank(text(2_000_000), [{ ...replica('a', { prompt: 10 }), state: 'draining' }])).toEqual([]);
  });

  it('is a registered plugin that takes no params', () => {
    expect(promptSizeFilter().type).toBe('prompt-size-filter');
    expect(() =>
      createScheduler({ profile: { filters: [{ type: 'prompt-size-filter', params: { x: 1 } }], picker: { type: 'least-load-picker' } } }),
    ).toThrow();
  });
});
