import { describe, expect, it } from 'vitest';
import type { HourlyUsage } from '../ports.ts';
import { csvField, exportRows, FINAL_AFTER_MS, toCsv, usageIdempotencyKey } from './export.ts';
import { HOUR_MS } from './usage-query.ts';

const HOUR = Date.UTC(2026, 0, 2, 10);
const hourly = (o: Partial<HourlyUsage> = {}): HourlyUsage => ({
  tenant_id: 'acme',
  model: 'motif-test',
  hour_start: HOUR,
  requests: 2,
  prompt_tokens: 20,
  cached_tokens: 4,
  completion_tokens: 10,
  cache_hits: 1,
  ...o,
});

describe('usage export rows', () => {
  it('idempotency keys: the same for the same tenant × model × hour, different for any other, short', async () => {
    const key = await usageIdempotencyKey('acme', 'motif-test', HOUR);
    expect(key).toBe(await usageIdempotencyKey('acme', 'motif-test', HOUR));
    expect(key).toMatch(/^mu_[0-9a-f]{48}$/);
    const others = await Promise.all([
      usageIdempotencyKey('acme', 'motif-test', HOUR + HOUR_MS),
      usageIdempotencyKey('acme2', 'motif-test', HOUR),
      usageIdempotencyKey('acme', 'motif-test2', HOUR),
      // A `:` in the model cannot make one triple read as another.
      usageIdempotencyKey('acme', 'a:b', HOUR),
      usageIdempotencyKey('acme:a', 'b', HOUR),
      usageIdempotencyKey('acme', 'x'.repeat(10_000), HOUR),
    ]);
    expect(new Set([key, ...others]).size).toBe(others.length + 1);
    for (const k of others) expect(k.length).toBeLessThanOrEqual(100);
  });

  it('rows carry the sums, total tokens, ISO hour and finality after the grace period', async () => {
    const closesAt = HOUR + HOUR_MS + FINAL_AFTER_MS;
    const [open] = await exportRows([hourly()], closesAt - 1);
    expect(open).toEqual({
      idempotency_key: await usageIdempotencyKey('acme', 'motif-test', HOUR),
      tenant_id: 'acme',
      model: 'motif-test',
      hour_start: '2026-01-02T10:00:00Z',
      requests: 2,
      prompt_tokens: 20,
      cached_tokens: 4,
      completion_tokens: 10,
      total_tokens: 30,
      cache_hits: 1,
      final: false,
    });
    expect((await exportRows([hourly()], closesAt))[0]?.final).toBe(true);
    // Re-exporting (later, with more usage) keeps the key: the provider drops the repeat.
    expect((await exportRows([hourly({ requests: 3 })], closesAt + HOUR_MS))[0]?.idempotency_key).toBe(open?.idempotency_key);
  });
});

describe('CSV (RFC 4180)', () => {
  it.each([
    ['plain', 'motif-test', 'motif-test'],
    ['comma', 'a,b', '"a,b"'],
    ['quote', 'say "hi"', '"say ""hi"""'],
    ['line break', 'a\nb', '"a\nb"'],
    ['carriage return', 'a\rb', '"a\rb"'],
    ['number', 12, '12'],
    ['boolean', true, 'true'],
  ])('%s', (_name, value, expected) => {
    expect(csvField(value)).toBe(expected);
  });

  it('a header row, one line per row, CRLF line ends', async () => {
    const csv = toCsv(await exportRows([hourly({ model: 'm,"1"' })], HOUR));
    const lines = csv.split('\r\n');
    expect(lines[0]).toBe('idempotency_key,tenant_id,model,hour_start,requests,prompt_tokens,cached_tokens,completion_tokens,total_tokens,cache_hits,final');
    expect(lines[1]).toMatch(/^mu_[0-9a-f]{48},acme,"m,""1""",2026-01-02T10:00:00Z,2,20,4,10,30,1,false$/);
    expect(lines.slice(2)).toEqual(['']);
    expect(toCsv([])).toBe(`${lines[0]}\r\n`);
  });
});
