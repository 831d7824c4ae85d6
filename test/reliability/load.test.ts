/**
 * Overload through the real stack: far more concurrent streams than the origin runs and queues
 * (full: 500, fast: 60, against 8 running + 8 queued), from two tenants at once, with a
 * per-tenant rate limit under what each sends. Every request is either served to `[DONE]` or
 * refused as 503 + `retry-after` (origin at capacity) or 429 (rate limit); nothing else. Both
 * processes stay up. Once the origin's outbox has delivered, the edge's ledger bills exactly one
 * finished record per served stream (none lost, none duplicated, none billed that was not served;
 * the origin's refusals are recorded as `refused` and never billed),
 * each under the tenant that sent it; each tenant's `/v1/usage` shows only its own requests.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeDigests } from '../../edge/src/adapters/node/digests.ts';
import { pepperedKeyHasher } from '../../edge/src/keys/key-hash.ts';
import { seededKeyRecord } from '../../edge/src/keys/key-record.ts';
import { startTestStack, type TestStack } from '../helpers/stack.ts';
import { byMode, recordFigure } from './figures.ts';
import { addTenantKey, type LedgerRow, ledgerRows, metricValue, originMetricsHeaders } from './support/stack-probes.ts';

const CONCURRENT = byMode(60, 500);
const MAX_RUNNING = 8;
const MAX_QUEUE = 8;
const MAX_TOKENS = 12;
// Each tenant sends half; a limit under that makes the edge refuse some with 429.
const RPM = Math.floor((CONCURRENT / 2) * 0.8);
const TENANT_B_KEY = 'sk-motif-load-tenant-b-0123456789abcdef';

let stack: TestStack;
const tenants: { name: string; key: string; keyId: string }[] = [];

beforeAll(async () => {
  stack = await startTestStack({
    originEnv: { MOTIF_MAX_RUNNING: String(MAX_RUNNING), MOTIF_MAX_QUEUE: String(MAX_QUEUE) },
    edgeEnv: { MOTIF_EDGE_RPM: String(RPM) },
  });
  tenants.push({
    name: 'dev',
    key: stack.apiKey,
    keyId: (await seededKeyRecord(stack.apiKey, { tenantId: 'dev', createdAt: 0 }, pepperedKeyHasher(stack.keyPepper, nodeDigests))).keyId,
  });
  tenants.push({ name: 'tenant-b', key: TENANT_B_KEY, keyId: await addTenantKey(stack.dataDir, 'tenant-b', TENANT_B_KEY) });
});
afterAll(async () => {
  await stack?.dispose();
});

interface Outcome {
  tenant: string;
  status: number;
  retryAfter: string | null;
  requestId: string | null;
  cache: string | null;
  /** For a 200: the stream ended with [DONE] and no error frame. */
  complete?: boolean;
  error?: string;
}

async function oneStream(i: number): Promise<Outcome> {
  const tenant = tenants[i % 2]!;
  const endpoint = i % 4 < 2 ? 'chat/completions' : 'completions';
  const body =
    endpoint === 'completions'
      ? { model: stack.model, prompt: `load ${i}`, max_tokens: MAX_TOKENS, ignore_eos: true, stream: true }
      : { model: stack.model, messages: [{ role: 'user', content: `load ${i}` }], max_tokens: MAX_TOKENS, ignore_eos: true, stream: true };
  try {
    const res = await fetch(`${stack.edgeUrl}/v1/${endpoint}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tenant.key}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    const out: Outcome = {
      tenant: tenant.name,
      status: res.status,
      retryAfter: res.headers.get('retry-after'),
      requestId: res.headers.get('x-request-id'),
      cache: res.headers.get('x-cache'),
    };
    if (res.status === 200) out.complete = text.trimEnd().endsWith('data: [DONE]') && !text.includes('event: error');
    else out.error = text.slice(0, 200);
    return out;
  } catch (err) {
    return { tenant: tenant.name, status: 0, retryAfter: null, requestId: null, cache: null, error: String(err) };
  }
}

async function originMetrics(): Promise<string> {
  return (await fetch(`${stack.originUrl}/metrics`, { headers: originMetricsHeaders(stack) })).text();
}

describe(`overload: ${CONCURRENT} concurrent streams from two tenants`, () => {
  let outcomes: Outcome[] = [];
  let rows: LedgerRow[] = [];

  it('every request is served or refused with 503 + retry-after or 429; both processes stay up', async () => {
    const started = Date.now();
    outcomes = await Promise.all(Array.from({ length: CONCURRENT }, (_, i) => oneStream(i)));
    const seconds = (Date.now() - started) / 1000;
    const served = outcomes.filter((o) => o.status === 200);
    const refused503 = outcomes.filter((o) => o.status === 503 && o.retryAfter !== null);
    const refused429 = outcomes.filter((o) => o.status === 429);
    const other = outcomes.filter((o) => !served.includes(o) && !refused503.includes(o) && !refused429.includes(o));
    const other5xx = other.filter((o) => o.status >= 500 || o.status === 0);
    const incomplete = served.filter((o) => !o.complete);
    const edgeUp = (await fetch(`${stack.edgeUrl}/healthz`).catch(() => null))?.status === 200;
    const originUp = (await fetch(`${stack.originUrl}/healthz`).catch(() => null))?.status === 200;
    console.log(`load: ${CONCURRENT} streams in ${seconds.toFixed(1)} s: ${served.length} served, ${refused503.length} 503, ${refused429.length} 429`);
    // A 503 the edge gives because the replica's heartbeat came late (out of rotation), not
    // because the origin's queue was full: still a valid refusal, shown apart.
    const outOfRotation = refused503.filter((o) => o.error?.includes('is ready right now')).length;
    const loopMaxMs = (metricValue(await originMetrics(), 'motif_event_loop_delay_max_seconds') ?? Number.NaN) * 1000;

    recordFigure({ group: 'load', name: 'concurrent streams', value: CONCURRENT, bound: `running ${MAX_RUNNING} + queue ${MAX_QUEUE}` });
    recordFigure({ group: 'load', name: 'served to [DONE]', value: served.length, bound: '> 0', ok: served.length > 0 });
    recordFigure({ group: 'load', name: 'refused 503 + retry-after', value: refused503.length });
    recordFigure({ group: 'load', name: '  of which: replica out of rotation', value: outOfRotation });
    recordFigure({ group: 'load', name: 'refused 429', value: refused429.length });
    recordFigure({ group: 'load', name: 'origin event-loop delay max (ms)', value: Math.round(loopMaxMs) });
    recordFigure({ group: 'load', name: '5xx other (or no answer)', value: other5xx.length, bound: '= 0', ok: other5xx.length === 0 });
    recordFigure({ group: 'load', name: 'served streams cut short', value: incomplete.length, bound: '= 0', ok: incomplete.length === 0 });
    recordFigure({ group: 'load', name: 'processes down after', value: (edgeUp ? 0 : 1) + (originUp ? 0 : 1), bound: '= 0', ok: edgeUp && originUp });

    expect(other, JSON.stringify(other.slice(0, 5))).toEqual([]);
    expect(incomplete).toEqual([]);
    expect(served.length).toBeGreaterThan(0);
    expect(refused503.length + refused429.length).toBeGreaterThan(0);
    for (const o of refused429) expect(o.retryAfter).not.toBeNull();
    // There is no response cache: every answer says so, so no tenant can be served another's.
    expect(new Set(served.map((o) => o.cache))).toEqual(new Set(['BYPASS']));
    expect({ edgeUp, originUp }).toEqual({ edgeUp: true, originUp: true });
  });

  it('the ledger holds exactly one finished record per served stream, under its own tenant', async () => {
    // Wait until the origin's outbox has delivered everything it wrote.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const text = await originMetrics();
      const backlog = metricValue(text, 'motif_origin_usage_outbox_backlog');
      rows = ledgerRows(stack.dataDir);
      const written = ['finish', 'stop', 'abort', 'error', 'refused'].reduce(
        (n, o) => n + (metricValue(text, 'motif_origin_usage_records_total', `outcome="${o}"`) ?? 0),
        0,
      );
      if ((backlog === 0 && rows.length >= written) || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const served = outcomes.filter((o) => o.status === 200);
    // Refusals (a full origin queue) are recorded, never billed: the ledger's flag says which bill.
    const billed = rows.filter((r) => r.billable === 1);
    const refusals = rows.filter((r) => r.outcome === 'refused');
    const byId = new Map<string, LedgerRow[]>();
    for (const r of rows) byId.set(r.request_id, [...(byId.get(r.request_id) ?? []), r]);
    const lost = served.filter((o) => !byId.has(o.requestId ?? ''));
    const duplicated = [...byId.values()].filter((rs) => rs.filter((r) => r.billable === 1).length > 1).length;
    const servedIds = new Set(served.map((o) => o.requestId));
    const billedNotServed = billed.filter((r) => !servedIds.has(r.request_id));
    const wrongTenant = served.filter((o) => byId.get(o.requestId ?? '')?.some((r) => r.tenant_id !== o.tenant));
    const wrongTokens = served.filter((o) => byId.get(o.requestId ?? '')?.some((r) => r.completion_tokens !== MAX_TOKENS));

    recordFigure({
      group: 'load',
      name: 'ledger records (finished) vs served',
      value: `${billed.length} / ${served.length}`,
      bound: 'equal',
      ok: billed.length === served.length,
    });
    recordFigure({ group: 'load', name: 'ledger records of refusals (outcome refused, not billed)', value: refusals.length });
    recordFigure({ group: 'load', name: 'ledger records neither billed nor refused', value: rows.length - billed.length - refusals.length });
    recordFigure({ group: 'load', name: 'lost', value: lost.length, bound: '= 0', ok: lost.length === 0 });
    recordFigure({ group: 'load', name: 'duplicated', value: duplicated, bound: '= 0', ok: duplicated === 0 });
    recordFigure({ group: 'load', name: 'billed but not served', value: billedNotServed.length, bound: '= 0', ok: billedNotServed.length === 0 });
    recordFigure({ group: 'load', name: 'billed to the wrong tenant', value: wrongTenant.length, bound: '= 0', ok: wrongTenant.length === 0 });

    expect({
      lost: lost.length,
      duplicated,
      billedNotServed: billedNotServed.length,
      wrongTenant: wrongTenant.length,
      wrongTokens: wrongTokens.length,
    }).toEqual({
      lost: 0,
      duplicated: 0,
      billedNotServed: 0,
      wrongTenant: 0,
      wrongTokens: 0,
    });
    expect(billed.length).toBe(served.length);
  });

  it("each tenant's /v1/usage shows its own requests only, whatever it asks for", async () => {
    let leaks = 0;
    for (const t of tenants) {
      // Billed requests count; the tenant's refusals are reported apart.
      const mine = rows.filter((r) => r.tenant_id === t.name && r.billable === 1);
      const myRefusals = rows.filter((r) => r.tenant_id === t.name && r.outcome === 'refused').length;
      const attempts = ['group_by=key', 'group_by=key&tenant_id=dev', 'group_by=key&tenant_id=tenant-b', 'group_by=model&tenant=dev'];
      for (const q of attempts) {
        const res = await fetch(`${stack.edgeUrl}/v1/usage?${q}`, {
          headers: { authorization: `Bearer ${t.key}`, 'x-tenant-id': t.name === 'dev' ? 'tenant-b' : 'dev' },
        });
        expect(res.status).toBe(200);
        const body = (await res.json()) as { data: { group: string; requests: number; completion_tokens: number; refused: number }[] };
        const requests = body.data.reduce((n, r) => n + r.requests, 0);
        if (body.data.reduce((n, r) => n + r.refused, 0) !== myRefusals) leaks++;
        const tokens = body.data.reduce((n, r) => n + r.completion_tokens, 0);
        if (requests !== mine.length || tokens !== mine.reduce((n, r) => n + r.completion_tokens, 0)) leaks++;
        if (q.startsWith('group_by=key') && body.data.some((r) => r.group !== t.keyId)) leaks++;
      }
    }
    recordFigure({ group: 'load', name: 'tenant isolation violations (usage API)', value: leaks, bound: '= 0', ok: leaks === 0 });
    recordFigure({ group: 'load', name: 'response cache', value: 'none (x-cache: BYPASS)' });
    expect(leaks).toBe(0);
  });
});
