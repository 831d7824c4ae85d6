/**
 * Fixed bad-input cases through the real stack, the ones a fuzzer reaches rarely or only by luck:
 * bodies over the limit (declared and chunked), deep JSON, invalid UTF-8, lone surrogates, 1e400,
 * wrong content types, token ids outside the vocabulary, a flood of headers and one huge header.
 * Each must be answered below 500 with OpenAI error JSON when refused, and both processes must
 * stay up.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../helpers/stack.ts';
import { recordFigure } from './figures.ts';
import { encodeRequest, type RawRequest, type RawResponse, rawExchange } from './support/raw-http.ts';
import { errorShapeProblem } from './support/verdict.ts';

let stack: TestStack;
let port: number;

beforeAll(async () => {
  stack = await startTestStack();
  port = Number(new URL(stack.edgeUrl).port);
});
afterAll(async () => {
  await stack?.dispose();
});

const MAX_BODY = 2 * 1024 * 1024;
const enc = new TextEncoder();
const chat = (extra: Record<string, unknown> = {}) => ({ model: stack.model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 2, ...extra });
const json = (v: unknown) => enc.encode(JSON.stringify(v));
const bytes = (...parts: (string | number[])[]) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))));

interface Case {
  name: string;
  request: () => RawRequest;
  /** Allowed statuses; every one below 500. */
  status: number[];
}

const auth = (): [string, string][] => [
  ['authorization', `Bearer ${stack.apiKey}`],
  ['content-type', 'application/json'],
];
const post = (path: string, body: Uint8Array, more: Partial<RawRequest> = {}): RawRequest => ({ method: 'POST', path, headers: auth(), body, ...more });

const CASES: Case[] = [
  {
    name: 'a body over the limit with its content-length',
    request: () => post('/v1/chat/completions', new Uint8Array(MAX_BODY + 1).fill(0x20)),
    status: [413],
  },
  {
    name: 'a body over the limit, chunked, no content-length',
    request: () => post('/v1/chat/completions', new Uint8Array(3 * MAX_BODY).fill(0x20), { chunkSize: 64 * 1024 }),
    status: [413],
  },
  { name: 'a valid request uploaded in 7-byte chunks', request: () => post('/v1/chat/completions', json(chat()), { chunkSize: 7 }), status: [200] },
  {
    name: 'JSON nested 100,000 deep as the body',
    request: () => post('/v1/chat/completions', enc.encode(`${'['.repeat(100_000)}${']'.repeat(100_000)}`)),
    status: [400],
  },
  {
    name: 'JSON nested 100,000 deep in a message',
    request: () => post('/v1/chat/completions', enc.encode(JSON.stringify(chat()).replace('"hi"', `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`))),
    status: [400],
  },
  { name: 'invalid UTF-8 in the body', request: () => post('/v1/chat/completions', bytes('{"model":"', [0xff, 0xfe], '","messages":[]}')), status: [400] },
  {
    name: 'a lone surrogate as raw (CESU-8) bytes',
    request: () => post('/v1/chat/completions', bytes(JSON.stringify(chat()).replace('"hi"', '"'), [0xed, 0xa0, 0x80], '"')),
    status: [400],
  },
  {
    name: 'a lone surrogate as a JSON escape in a message',
    request: () => post('/v1/chat/completions', enc.encode(JSON.stringify(chat()).replace('"hi"', '"a\\ud800b"'))),
    status: [200, 400],
  },
  {
    name: 'a lone surrogate in a completion prompt',
    request: () => post('/v1/completions', enc.encode(`{"model":"${stack.model}","prompt":"\\udfff","max_tokens":2}`)),
    status: [200, 400],
  },
  {
    name: 'max_tokens 1e400',
    request: () => post('/v1/chat/completions', enc.encode(JSON.stringify(chat()).replace('"max_tokens":2', '"max_tokens":1e400'))),
    status: [400],
  },
  {
    name: 'temperature -1e400',
    request: () => post('/v1/chat/completions', enc.encode(JSON.stringify(chat()).replace('"max_tokens":2', '"max_tokens":2,"temperature":-1e400'))),
    status: [400],
  },
  {
    name: 'max_tokens 2^31 on a tiny model',
    request: () => post('/v1/completions', json({ model: stack.model, prompt: 'x', max_tokens: 2 ** 31 })),
    status: [200, 400],
  },
  {
    name: 'token ids outside the vocabulary',
    request: () => post('/v1/completions', json({ model: stack.model, prompt: [1, 2, 1e9], max_tokens: 2 })),
    status: [400],
  },
  { name: 'a prompt of 2^53', request: () => post('/v1/completions', json({ model: stack.model, prompt: [2 ** 53], max_tokens: 2 })), status: [400] },
  {
    name: 'seed 2^53 - 1',
    request: () => post('/v1/completions', json({ model: stack.model, prompt: 'x', max_tokens: 2, seed: 2 ** 53 - 1 })),
    status: [200, 400],
  },
  {
    name: '20,000 messages',
    request: () => post('/v1/chat/completions', json(chat({ messages: Array.from({ length: 20_000 }, () => ({ role: 'user', content: 'x' })) }))),
    status: [400],
  },
  {
    name: 'four 100 KB stop strings',
    request: () => post('/v1/chat/completions', json(chat({ stop: Array.from({ length: 4 }, () => 's'.repeat(100_000)) }))),
    status: [200, 400],
  },
  {
    name: 'text/plain content type with a JSON body',
    request: () => ({
      method: 'POST',
      path: '/v1/chat/completions',
      headers: [
        ['authorization', `Bearer ${stack.apiKey}`],
        ['content-type', 'text/plain'],
      ],
      body: json(chat()),
    }),
    status: [200, 400, 415],
  },
  {
    name: 'form content type with a form body',
    request: () => ({
      method: 'POST',
      path: '/v1/completions',
      headers: [
        ['authorization', `Bearer ${stack.apiKey}`],
        ['content-type', 'application/x-www-form-urlencoded'],
      ],
      body: enc.encode('model=x&prompt=y'),
    }),
    status: [400, 415],
  },
  { name: 'no body at all', request: () => post('/v1/chat/completions', new Uint8Array(0)), status: [400] },
  {
    name: '10,000 headers',
    request: () => ({
      method: 'GET',
      path: '/v1/models',
      headers: [...auth(), ...Array.from({ length: 10_000 }, (_, i) => [`x-h-${i}`, 'y'] as [string, string])],
    }),
    status: [431],
  },
  { name: 'one 100 KB header', request: () => ({ method: 'GET', path: '/v1/models', headers: [...auth(), ['x-big', 'z'.repeat(100_000)]] }), status: [431] },
  {
    name: 'an 8 KB API key',
    request: () => ({ method: 'GET', path: '/v1/models', headers: [['authorization', `Bearer ${'k'.repeat(8_000)}`]] }),
    status: [401],
  },
  { name: 'a 10 KB path', request: () => ({ method: 'GET', path: `/v1/models/${'m'.repeat(10_000)}`, headers: auth() }), status: [404] },
];

describe('fixed bad input through the edge', () => {
  const answered: RawResponse[] = [];

  it.each(CASES)('$name', async ({ request, status }) => {
    const req = request();
    const outcome = await rawExchange(port, encodeRequest(req, `127.0.0.1:${port}`), { timeoutMs: 60_000 });
    expect(outcome.kind, outcome.kind === 'no-response' ? outcome.detail : '').toBe('response');
    if (outcome.kind !== 'response') return;
    const res = outcome.response;
    answered.push(res);
    expect(status, `${res.status} ${res.body.subarray(0, 300).toString()}`).toContain(res.status);
    if (res.status >= 400) expect(errorShapeProblem(res.headers['content-type'], res.body)).toBeNull();
  });

  it('both processes are still up', async () => {
    const edge = await fetch(`${stack.edgeUrl}/healthz`).catch(() => null);
    const origin = await fetch(`${stack.originUrl}/healthz`).catch(() => null);
    const crashes = (edge?.status === 200 ? 0 : 1) + (origin?.status === 200 ? 0 : 1);
    recordFigure({ group: 'fuzz', name: 'fixed bad-input cases answered', value: `${answered.length}/${CASES.length}`, ok: answered.length === CASES.length });
    recordFigure({ group: 'fuzz', name: 'crashes after fixed cases', value: crashes, bound: '= 0', ok: crashes === 0 });
    expect(crashes).toBe(0);
  });
});
