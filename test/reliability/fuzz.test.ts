/**
 * Bad input through the real stack (embedded S3 → origin with the native engine → edge on Node):
 * fast-check generates structurally plausible but wrong requests for every surface — the public
 * API, the admin API, the internal signed endpoints origins call, and the origin's own signed
 * API — and each answer must be below 500 with an OpenAI-shaped error body; both processes must
 * still be up at the end. Full mode sends ≥ 10,000 requests through the edge.
 *
 * A failure prints the seed: `MOTIF_FUZZ_SEED=<seed> npx vitest run --project reliability
 * test/reliability/fuzz.test.ts` replays the same requests (with MOTIF_RELIABILITY=full for the
 * full run's sizes).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STACK_NODE_ID } from '../../scripts/stack/config.ts';
import { startTestStack, type TestStack } from '../helpers/stack.ts';
import { byMode, recordFigure } from './figures.ts';
import { encodeRequest, rawExchange } from './support/raw-http.ts';
import { adminSpecs, buildRequest, describeSpec, internalSpecs, originSpecs, publicSpecs, type Spec, type Target } from './support/surfaces.ts';
import { Tally } from './support/verdict.ts';

const SEED = Number(process.env.MOTIF_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const ADMIN_TOKEN = 'fuzz-admin-token-0123456789abcdef';
const RUNS = {
  public: byMode(240, 7_000),
  admin: byMode(40, 1_000),
  internal: byMode(80, 2_000),
  origin: byMode(60, 1_000),
};

let stack: TestStack;
let target: Target;
/** One tally per surface; the edge's three count toward the ≥ 10,000 of the full run. */
const tallies: { surface: string; atEdge: boolean; tally: Tally }[] = [];

beforeAll(async () => {
  // Unlimited rate so every generated request reaches validation instead of a 429.
  stack = await startTestStack({ edgeEnv: { MOTIF_ADMIN_TOKEN: ADMIN_TOKEN, MOTIF_EDGE_RPM: '0', MOTIF_EDGE_TPM: '0' } });
  target = {
    model: stack.model,
    apiKey: stack.apiKey,
    adminToken: ADMIN_TOKEN,
    originSecret: stack.originSecret,
    nodeKey: stack.nodeKey,
    nodeId: STACK_NODE_ID,
  };
  console.log(`fuzz seed ${SEED} (replay: MOTIF_FUZZ_SEED=${SEED})`);
});

afterAll(async () => {
  await stack?.dispose();
});

const port = (url: string) => Number(new URL(url).port);

/** Send every generated spec, in order, and tally the answers. */
async function fuzz(surface: string, specs: fc.Arbitrary<Spec>, numRuns: number, url: string): Promise<void> {
  const tally = new Tally();
  tallies.push({ surface, atEdge: url === stack.edgeUrl, tally });
  const started = Date.now();
  await fc.assert(
    fc.asyncProperty(specs, async (spec) => {
      const req = await buildRequest(spec, target);
      const outcome = await rawExchange(port(url), encodeRequest(req, new URL(url).host), { head: req.method === 'HEAD', timeoutMs: 30_000 });
      tally.add(outcome, req.method, () => describeSpec(spec));
      return true;
    }),
    // Every case runs (the property never fails): the tally keeps all verdicts, the seed replays them.
    { numRuns, seed: SEED, endOnFailure: true },
  );
  console.log(`fuzz ${surface}: ${tally.total} requests in ${((Date.now() - started) / 1000).toFixed(1)} s; statuses ${tally.statusSummary()}`);
}

async function alive(): Promise<{ edge: boolean; origin: boolean }> {
  const up = async (url: string, proc: TestStack['edge']) => {
    const exited = await Promise.race([proc.exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 10))]);
    if (exited) return false;
    const res = await fetch(`${url}/healthz`).catch(() => null);
    return res?.status === 200;
  };
  return { edge: await up(stack.edgeUrl, stack.edge), origin: await up(stack.originUrl, stack.origin) };
}

describe('fuzzing every surface with bad input', () => {
  it('public API', async () => {
    await fuzz('public', publicSpecs(target), RUNS.public, stack.edgeUrl);
  });

  it('admin API', async () => {
    await fuzz('admin', adminSpecs(target), RUNS.admin, stack.edgeUrl);
  });

  it('internal signed endpoints', async () => {
    await fuzz('internal', internalSpecs(target, String(SEED)), RUNS.internal, stack.edgeUrl);
  });

  it("origin's signed API, reached directly", async () => {
    await fuzz('origin', originSpecs(target), RUNS.origin, stack.originUrl);
  });

  it('no 5xx, every error OpenAI-shaped, no hang, both processes up', async () => {
    const up = await alive();
    const crashes = (up.edge ? 0 : 1) + (up.origin ? 0 : 1);
    const edgeTotal = tallies.filter((t) => t.atEdge).reduce((n, t) => n + t.tally.total, 0);
    const originTotal = tallies.filter((t) => !t.atEdge).reduce((n, t) => n + t.tally.total, 0);
    const all = tallies.map((t) => t.tally);
    const sum = (k: keyof Tally['counts']) => all.reduce((n, t) => n + t.counts[k], 0);
    const edgeMin = byMode(300, 10_000);
    recordFigure({ group: 'fuzz', name: 'requests fuzzed through the edge', value: edgeTotal, bound: `>= ${edgeMin}`, ok: edgeTotal >= edgeMin });
    recordFigure({ group: 'fuzz', name: 'requests fuzzed at the origin', value: originTotal });
    recordFigure({ group: 'fuzz', name: '5xx seen', value: sum('5xx') + sum('overload'), bound: '= 0', ok: sum('5xx') + sum('overload') === 0 });
    recordFigure({ group: 'fuzz', name: 'non-OpenAI-shaped errors', value: sum('bad-error-shape'), bound: '= 0', ok: sum('bad-error-shape') === 0 });
    recordFigure({ group: 'fuzz', name: 'no answer (hang or dropped)', value: sum('no-response'), bound: '= 0', ok: sum('no-response') === 0 });
    recordFigure({ group: 'fuzz', name: 'process crashes', value: crashes, bound: '= 0', ok: crashes === 0 });
    const failures = all.flatMap((t) => t.failures).slice(0, 10);
    const context = `seed ${SEED} (replay: MOTIF_FUZZ_SEED=${SEED})\n${failures.join('\n')}\n--- stack logs ---\n${stack.logs.slice(-30).join('\n')}`;
    expect(edgeTotal, context).toBeGreaterThanOrEqual(edgeMin);
    expect({ '5xx': sum('5xx'), overload: sum('overload'), badShape: sum('bad-error-shape'), noResponse: sum('no-response'), ...up }, context).toEqual({
      '5xx': 0,
      overload: 0,
      badShape: 0,
      noResponse: 0,
      edge: true,
      origin: true,
    });
  });
});
