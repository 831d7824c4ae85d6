import { describe, expect, it } from 'vitest';
import { ApiError } from '#shared/errors.ts';
import type { Lifecycle, SwapLock } from '../ports.ts';
import { createLifecycle } from '../server/lifecycle.ts';
import { createEngineSlot, type EngineSlot } from './engine-slot.ts';
import { createRollout, type RolloutOptions } from './rolling-update.ts';
import type { SwapStrategyOption } from './strategy.ts';
import { createMemorySwapLock, type EventLog, GatedEngine, type MemoryRevisions, memoryRevisions, type StageGate, settle } from './test-support.ts';

interface Rig {
  events: EventLog;
  slot: EngineSlot;
  first: GatedEngine;
  lifecycle: Lifecycle;
  revisions: MemoryRevisions;
  /** Lifecycle state at every announce (heartbeat pushed). */
  announced: string[];
  engines: Map<string, GatedEngine[]>;
  failLoad: Map<string, Error>;
  rollout: ReturnType<typeof createRollout>;
}

function rig(
  o: { strategy?: SwapStrategyOption; lock?: SwapLock; events?: EventLog; name?: string; stageGate?: StageGate; extra?: Partial<RolloutOptions> } = {},
): Rig {
  const events = o.events ?? [];
  const first = new GatedEngine('a', events);
  first.loaded = true;
  const slot = createEngineSlot(first);
  const lifecycle = createLifecycle('ready');
  const revisions = memoryRevisions(events, o.stageGate ? { stageGate: o.stageGate } : {});
  revisions.leased.add('a');
  const announced: string[] = [];
  const engines = new Map<string, GatedEngine[]>();
  const failLoad = new Map<string, Error>();
  const rollout = createRollout({
    slot,
    lifecycle,
    revisions,
    lock: o.lock ?? createMemorySwapLock(),
    createEngine: ({ revision }) => {
      const fail = failLoad.get(revision);
      const e = new GatedEngine(revision, events, fail ? { failLoad: fail } : {});
      engines.set(revision, [...(engines.get(revision) ?? []), e]);
      return e;
    },
    served: { revision: 'a', dir: '/store/snapshots/a', lease: { release: async () => void revisions.leased.delete('a') } },
    strategy: o.strategy ?? 'overlap',
    backend: 'native',
    availableMemory: () => 1e12,
    drainTimeoutMs: 60_000,
    announce: async () => {
      announced.push(lifecycle.state);
      events.push(`announce ${o.name ?? ''}${lifecycle.state}`);
    },
    ...o.extra,
  });
  return { events, slot, first, lifecycle, revisions, announced, engines, failLoad, rollout };
}

/** Start a request on the slot's current engine the way the server does (pin, generate, first event). */
async function startRequest(slot: EngineSlot) {
  const pin = slot.pin();
  const it = pin.engine
    .generate(
      {
        requestId: 'r',
        prompt: { kind: 'text', text: 'x' },
        sampling: { temperature: 0, topP: 1, topK: 0, minP: 0, presencePenalty: 0, frequencyPenalty: 0, repetitionPenalty: 1 },
        stop: [],
      },
      new AbortController().signal,
    )
    [Symbol.asyncIterator]();
  await it.next();
  let text = '';
  const done = (async () => {
    for (let r = await it.next(); !r.done; r = await it.next()) if (r.value.type === 'delta') text += r.value.text;
    pin.release();
    return text;
  })();
  return { revision: pin.engine.info().revision, done };
}

describe('overlap swap', () => {
  it('routes new requests to the new engine while running ones finish on the old one', async () => {
    const r = rig();
    const old = await startRequest(r.slot);
    const update = r.rollout.update('b');
    await settle();
    // The new engine serves new requests at once; the old one waits for its request.
    expect(r.slot.current().info().revision).toBe('b');
    expect(r.first.closed).toBe(false);
    const fresh = await startRequest(r.slot);
    expect(fresh.revision).toBe('b');
    r.first.finishAll();
    expect(await old.done).toBe('from a');
    expect(await update).toBe('swapped');
    expect(r.first.closed).toBe(true);
    expect(r.events.indexOf('load b')).toBeLessThan(r.events.indexOf('close a'));
    expect(r.announced).toEqual(['ready']);
    expect(r.lifecycle.state).toBe('ready');
    expect(r.rollout.revision).toBe('b');
    expect([...r.revisions.leased]).toEqual(['b']);
    expect(r.revisions.current).toBe('b');
    expect(r.events).toContain('collect');
    r.engines.get('b')![0]!.finishAll();
    expect(await fresh.done).toBe('from b');
    expect(r.rollout.metrics.render()).toMatch(/motif_origin_weights_revision\{revision="b"\} 1/);
    expect(r.rollout.metrics.render()).toMatch(/motif_origin_rollout_swaps_total\{strategy="overlap"\} 1/);
  });

  it('keeps serving the old revision when the new one fails to load', async () => {
    const r = rig();
    r.failLoad.set('b', new ApiError('unprocessable_entity', 'tensor model.norm.weight is missing'));
    await expect(r.rollout.update('b')).rejects.toThrow('model.norm.weight');
    expect(r.slot.current()).toBe(r.first);
    expect(r.engines.get('b')![0]!.closed).toBe(true);
    expect(r.rollout.revision).toBe('a');
    expect([...r.revisions.leased]).toEqual(['a']);
    expect(r.rollout.metrics.render()).toMatch(/motif_origin_rollout_failures_total\{stage="load"\} 1/);
  });

  it('reports "unchanged" for the served revision', async () => {
    const r = rig();
    expect(await r.rollout.update('a')).toBe('unchanged');
    expect(r.events).toEqual([]);
  });
});

describe('failed verification', () => {
  it('keeps the old revision, backs off, then retries', async () => {
    const r = rig();
    r.revisions.failStage.set('b', new ApiError('unprocessable_entity', 'sha256 mismatch for model.safetensors'));
    // One entry per poll: attempt, attempt, skip, attempt, skip, skip, skip, attempt.
    const outcomes: string[] = [];
    for (let poll = 0; poll < 8; poll++) outcomes.push(await r.rollout.update('b').catch((e: ApiError) => e.code));
    expect(outcomes).toEqual([
      'unprocessable_entity',
      'unprocessable_entity',
      'deferred',
      'unprocessable_entity',
      'deferred',
      'deferred',
      'deferred',
      'unprocessable_entity',
    ]);
    expect(r.slot.current()).toBe(r.first);
    expect(r.lifecycle.state).toBe('ready');
    expect([...r.revisions.leased]).toEqual(['a']);
    expect(r.rollout.metrics.render()).toMatch(/motif_origin_rollout_failures_total\{stage="verify"\} 4/);
    // A fixed revision is not held back by the failures of the broken one.
    expect(await r.rollout.update('c')).toBe('swapped');
    expect(r.rollout.revision).toBe('c');
  });
});

describe('drain-first swap', () => {
  it('reports draining, finishes running requests, closes the old engine before loading the new one', async () => {
    const r = rig({ strategy: 'drain-first' });
    const old = await startRequest(r.slot);
    const update = r.rollout.update('b');
    await settle();
    expect(r.lifecycle.state).toBe('draining');
    expect(r.first.closed).toBe(false);
    expect(r.events).not.toContain('load b');
    r.first.finishAll();
    expect(await old.done).toBe('from a');
    expect(await update).toBe('swapped');
    expect(r.announced).toEqual(['draining', 'ready']);
    expect(r.events.indexOf('close a')).toBeLessThan(r.events.indexOf('load b'));
    expect(r.slot.current().info().revision).toBe('b');
    expect(r.rollout.metrics.render()).toMatch(/swaps_total\{strategy="drain-first"\} 1/);
  });

  it('reloads the previous revision when the new one fails to load', async () => {
    const r = rig({ strategy: 'drain-first' });
    r.failLoad.set('b', new ApiError('unprocessable_entity', 'bad config.json'));
    await expect(r.rollout.update('b')).rejects.toThrow('bad config.json');
    expect(r.lifecycle.state).toBe('ready');
    const current = r.slot.current();
    expect(current).not.toBe(r.first);
    expect(current.info().revision).toBe('a');
    expect(r.engines.get('a')![0]!.loaded).toBe(true);
    expect(r.announced).toEqual(['draining', 'ready']);
  });

  it('stays out of rotation when neither revision loads, until an update succeeds', async () => {
    const r = rig({ strategy: 'drain-first' });
    r.failLoad.set('b', new Error('no memory'));
    r.failLoad.set('a', new Error('no memory'));
    await expect(r.rollout.update('b')).rejects.toThrow('no memory');
    expect(r.lifecycle.state).toBe('draining');
    r.failLoad.clear();
    // The served revision is offered again: a broken replica does not treat it as unchanged.
    expect(await r.rollout.update('a')).toBe('swapped');
    expect(r.lifecycle.state).toBe('ready');
    expect(r.slot.current().info().revision).toBe('a');
  });

  it('the node lock keeps two replicas from draining at the same time', async () => {
    const lock = createMemorySwapLock();
    const events: EventLog = [];
    const x = rig({ strategy: 'drain-first', lock, events, name: 'x:' });
    const y = rig({ strategy: 'drain-first', lock, events, name: 'y:' });
    const both: string[] = [];
    // Sample both states whenever either replica announces.
    const check = () => both.push(`${x.lifecycle.state}/${y.lifecycle.state}`);
    const ux = x.rollout.update('b');
    const uy = y.rollout.update('b');
    for (let i = 0; i < 10; i++) {
      check();
      await settle(5);
    }
    await Promise.all([ux, uy]);
    check();
    expect(both).not.toContain('draining/draining');
    expect(events.filter((e) => e.startsWith('announce'))).toEqual(['announce x:draining', 'announce x:ready', 'announce y:draining', 'announce y:ready']);
  });
});

describe('strategy auto', () => {
  it.each([
    ['overlap', 1e12, ['ready']],
    ['drain-first', 1500, ['draining', 'ready']],
  ])('chooses %s with %d bytes available', async (_name, available, announced) => {
    const r = rig({ strategy: 'auto', extra: { availableMemory: () => available } });
    expect(await r.rollout.update('b')).toBe('swapped');
    expect(r.announced).toEqual(announced);
  });
});

describe('shutdown', () => {
  it('stop() cancels a sync in progress and refuses later updates', async () => {
    const r = rig({ stageGate: (_rev, signal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true })) });
    const update = r.rollout.update('b');
    await settle();
    await r.rollout.stop();
    await expect(update).rejects.toThrow('shutting down');
    expect(r.rollout.metrics.render()).toMatch(/failures_total\{stage="aborted"\} 1/);
    await expect(r.rollout.update('c')).rejects.toThrow('shutting down');
    expect(r.slot.current()).toBe(r.first);
  });

  it('refuses overlapping updates', async () => {
    const r = rig();
    const first = r.rollout.update('b');
    await expect(r.rollout.update('c')).rejects.toThrow('already in progress');
    await first;
  });
});
