/**
 * The parsers between processes, fuzzed in-process as the pure functions they are: the SSE parser
 * (any text, any chunking), the edge's SSE relay (any origin byte stream), the usage and error
 * bodies an origin sends back, request bodies and the usage query. Each must either answer or
 * throw an ApiError (never anything that would become a 500), and the SSE parser must give the
 * same events however the stream was cut.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ApiError, ErrorBody, parseErrorBody, toApiError } from '#shared/errors.ts';
import { Usage } from '#shared/openai.ts';
import { parseJson } from '#shared/request-body.ts';
import { readSse, type SseEvent, SseParser, sseData, sseError } from '#shared/sse.ts';
import { UsageBatch, UsageQuery } from '#shared/usage.ts';
import { relaySse } from '../../edge/src/proxy/sse-relay.ts';
import { toLedgerQuery } from '../../edge/src/usage/usage-query.ts';
import { byMode, recordFigure } from './figures.ts';

const SEED = Number(process.env.MOTIF_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const RUNS = byMode(300, 5_000);
const params = { numRuns: RUNS, seed: SEED };
let cases = 0;

const enc = new TextEncoder();

/** Text that looks like SSE: real frames, comments, CRLF, stray fields, garbage between. */
const sseText = fc
  .array(
    fc.oneof(
      fc.string().map((s) => new TextDecoder().decode(sseData(s))),
      fc.constantFrom('data: [DONE]\n\n', ': keep-alive\n\n', 'event: error\ndata: {"error":{}}\n\n', 'retry: 10\n', 'id: 1\n', '\r\n', '\n\n', 'data:\n\n'),
      fc.string({ unit: fc.constantFrom('d', 'a', 't', ':', ' ', '\n', '\r', 'x', '{', '}', '"') }),
      fc.string({ unit: 'binary' }),
    ),
    { maxLength: 12 },
  )
  .map((parts) => parts.join(''));

/** Cut points for a string of length n. */
const cuts = fc.array(fc.nat(), { maxLength: 8 });

function split(text: string, at: number[]): string[] {
  const points = [...new Set(at.map((a) => a % (text.length + 1)))].sort((a, b) => a - b);
  const out: string[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(text.slice(prev, p));
    prev = p;
  }
  out.push(text.slice(prev));
  return out;
}

function parseWhole(text: string): SseEvent[] {
  return new SseParser().push(`${text}\n\n`);
}

function stream(chunks: Uint8Array[], fail: boolean): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream({
    pull(c) {
      if (i < chunks.length) c.enqueue(chunks[i++]!);
      else if (fail) c.error(new Error('reset'));
      else c.close();
    },
  });
}

/** Runs a property and counts its cases for the figures. */
async function check<T>(arb: fc.Arbitrary<T>, predicate: (v: T) => void | Promise<void>): Promise<void> {
  await fc.assert(
    fc.asyncProperty(arb, async (v) => {
      cases++;
      await predicate(v);
    }),
    params,
  );
}

function onlyApiErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBeLessThan(500);
  }
}

describe(`parsers fuzzed in-process (seed ${SEED}; replay with MOTIF_FUZZ_SEED=${SEED})`, () => {
  it('SseParser: never throws, and gives the same events however the text is cut', async () => {
    await check(fc.tuple(sseText, cuts), ([text, at]) => {
      const parser = new SseParser();
      const events = split(`${text}\n\n`, at).flatMap((piece) => parser.push(piece));
      expect(events).toEqual(parseWhole(text));
    });
  });

  it('readSse over bytes cut anywhere (mid UTF-8 sequence too) equals the whole parse', async () => {
    await check(fc.tuple(sseText, cuts), async ([text, at]) => {
      const bytes = enc.encode(text);
      const points = [...new Set(at.map((a) => a % (bytes.length + 1)))].sort((a, b) => a - b);
      const chunks: Uint8Array[] = [];
      let prev = 0;
      for (const p of [...points, bytes.length]) {
        chunks.push(bytes.subarray(prev, p));
        prev = p;
      }
      const events: SseEvent[] = [];
      for await (const ev of readSse(stream(chunks, false))) events.push(ev);
      expect(events).toEqual(parseWhole(new TextDecoder().decode(bytes)));
    });
  });

  it('relaySse: any origin stream ends the client stream with [DONE] or an error frame, once', async () => {
    const originBytes = fc.tuple(
      fc.oneof(
        sseText,
        fc.uint8Array({ maxLength: 200 }).map((b) => new TextDecoder().decode(b)),
      ),
      cuts,
      fc.boolean(),
      fc.boolean(),
    );
    await check(originBytes, async ([text, at, fail, wantsUsage]) => {
      const ends: string[] = [];
      const usages: unknown[] = [];
      const out = relaySse(
        stream(
          split(text, at).map((s) => enc.encode(s)),
          fail,
        ),
        {
          clientWantsUsage: wantsUsage,
          onUsage: (u) => usages.push(u),
          onEnd: (o) => ends.push(o),
          abortOrigin: () => {},
        },
      );
      const events: SseEvent[] = [];
      for await (const ev of readSse(out)) events.push(ev);
      expect(ends).toHaveLength(1);
      const last = events.at(-1);
      expect(last?.data === '[DONE]' || last?.event === 'error', JSON.stringify(events.slice(-2))).toBe(true);
      for (const u of usages) expect(Usage.safeParse(u).success).toBe(true);
    });
  });

  it('error frames and origin error bodies: any text becomes an ApiError with a 4xx/5xx status', async () => {
    await check(fc.tuple(fc.integer({ min: 100, max: 599 }), fc.oneof(fc.string(), fc.json())), ([status, text]) => {
      const e = parseErrorBody(status, text);
      expect(e).toBeInstanceOf(ApiError);
      expect(e.status).toBeGreaterThanOrEqual(400);
      const frame = new TextDecoder().decode(sseError(e));
      const ev = new SseParser().push(frame)[0]!;
      expect(ErrorBody.safeParse(JSON.parse(ev.data)).success).toBe(true);
    });
  });

  it('request bodies, usage batches and usage queries: a 4xx ApiError or a value, nothing else', async () => {
    const anyJson = fc.oneof(fc.jsonValue(), fc.anything());
    await check(fc.tuple(fc.uint8Array({ maxLength: 300 }), anyJson, fc.dictionary(fc.string(), fc.string())), ([bytes, value, query]) => {
      onlyApiErrors(() => parseJson(bytes));
      const batch = UsageBatch.safeParse(value);
      if (!batch.success) expect(toApiError(batch.error).status).toBe(400);
      onlyApiErrors(() => {
        const q = UsageQuery.safeParse(query);
        if (!q.success) throw toApiError(q.error);
        toLedgerQuery(q.data);
      });
    });
  });

  it('records its figures', () => {
    recordFigure({ group: 'fuzz', name: 'parser cases (in-process)', value: cases });
  });
});
