import { describe, expect, it } from 'vitest';
import { type TestEdge, testEdge } from '../testing/harness.ts';

/** A deterministic tie-break sequence (a Lehmer generator), so the test does not lean on luck. */
function seeded(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 48_271) % 2_147_483_647;
    return x / 2_147_483_647;
  };
}

async function threeIdleReplicas(): Promise<TestEdge> {
  const t = await testEdge({ origins: [{ replicaId: 'r1' }, { replicaId: 'r2' }, { replicaId: 'r3' }], deps: { random: seeded(1_234_567_891) } });
  for (const o of t.origins) await t.beat(o);
  return t;
}

type Message = { role: string; content: string };

/** Send a chat; the replica that served it. */
async function servedBy(t: TestEdge, messages: Message[], extra: Record<string, unknown> = {}, headers: Record<string, string> = {}): Promise<string> {
  const before = t.origins.map((o) => o.requests.length);
  const res = await t.post('/v1/chat/completions', { model: 'motif-test', messages, ...extra }, headers);
  await res.text();
  expect(res.status).toBe(200);
  const served = t.origins.filter((o, i) => o.requests.length > before[i]!);
  expect(served).toHaveLength(1);
  return served[0]!.replicaId;
}

/** A conversation's turns: each repeats the history (system prompt, questions, answers) and asks one more. */
function conversation(topic: string, turns: number): Message[][] {
  const history: Message[] = [{ role: 'system', content: `You are an expert on ${topic}. `.repeat(20) }];
  const out: Message[][] = [];
  for (let i = 0; i < turns; i++) {
    history.push({ role: 'user', content: `Question ${i} about ${topic}: ${'why? '.repeat(30)}` });
    out.push([...history]);
    history.push({ role: 'assistant', content: `Answer ${i} about ${topic}: ${'because. '.repeat(30)}` });
  }
  return out;
}

describe('prefix affinity through the proxy', () => {
  it("a conversation's turns all go to the replica that served its first turn", async () => {
    const t = await threeIdleReplicas();
    const served = [];
    for (const messages of conversation('tides', 6)) served.push(await servedBy(t, messages));
    expect(new Set(served).size).toBe(1);
  });

  it('different conversations spread over the replicas, and each keeps to its own', async () => {
    const t = await threeIdleReplicas();
    const topics = ['tides', 'bees', 'glaciers', 'comets', 'ferns', 'owls'];
    const chats = topics.map((topic) => conversation(topic, 3));
    const first = [];
    for (const c of chats) first.push(await servedBy(t, c[0]!));
    expect(new Set(first).size).toBeGreaterThan(1);
    for (let turn = 1; turn < 3; turn++) {
      for (const [i, c] of chats.entries()) expect(await servedBy(t, c[turn]!)).toBe(first[i]);
    }
  });

  it('spills to another replica when the one holding the prefix is much busier, and stays there while it is', async () => {
    const t = await threeIdleReplicas();
    const turns = conversation('tides', 4);
    const home = await servedBy(t, turns[0]!);
    expect(await servedBy(t, turns[1]!)).toBe(home);

    await t.beat(t.origins.find((o) => o.replicaId === home)!, { waiting: 6, running: 8 });
    const spilled = await servedBy(t, turns[2]!);
    expect(spilled).not.toBe(home);
    // The replica that took the spill now holds the longer prefix.
    expect(await servedBy(t, turns[3]!)).toBe(spilled);
  });

  it('a slightly busier replica keeps its conversation (within the bounded load)', async () => {
    const t = await threeIdleReplicas();
    const turns = conversation('bees', 2);
    const home = await servedBy(t, turns[0]!);
    for (const o of t.origins) await t.beat(o, { running: o.replicaId === home ? 5 : 4 });
    expect(await servedBy(t, turns[1]!)).toBe(home);
  });
});

describe('session affinity through the proxy', () => {
  it.each<{ name: string; extra: Record<string, unknown>; headers: Record<string, string> }>([
    { name: 'the x-session-id header', extra: {}, headers: { 'x-session-id': 'session-42' } },
    { name: 'the user field', extra: { user: 'user-42' }, headers: {} },
  ])('requests with unrelated prompts in one session (by $name) go to one replica', async ({ extra, headers }) => {
    const t = await threeIdleReplicas();
    const served = [];
    for (const topic of ['tides', 'bees', 'glaciers', 'comets', 'ferns']) {
      served.push(await servedBy(t, [{ role: 'user', content: `Tell me about ${topic}.` }], extra, headers));
    }
    expect(new Set(served).size).toBe(1);
  });
});
