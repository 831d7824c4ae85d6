import { describe, expect, it } from 'vitest';
import { createLifecycle, withEngineHealth } from './lifecycle.ts';

describe('lifecycle', () => {
  it('starting → ready → draining, once', async () => {
    const l = createLifecycle();
    expect(l.state).toBe('starting');
    l.markReady();
    expect(l.state).toBe('ready');
    let runs = 0;
    const steps = async () => void runs++;
    await Promise.all([l.drain(steps), l.drain(steps)]);
    expect(runs).toBe(1);
    l.markReady();
    expect(l.state).toBe('draining');
  });

  it('suspend/resume reports draining for a swap, then ready again', () => {
    const l = createLifecycle('ready');
    expect(l.suspend()).toBe(true);
    expect(l.state).toBe('draining');
    expect(l.suspend()).toBe(false);
    l.resume();
    expect(l.state).toBe('ready');
  });

  it('a real drain during a suspension wins over resume', async () => {
    const l = createLifecycle('ready');
    l.suspend();
    await l.drain(async () => {});
    l.resume();
    expect(l.state).toBe('draining');
  });

  it.each(['starting', 'draining'] as const)('cannot suspend while %s', (state) => {
    const l = createLifecycle(state);
    expect(l.suspend()).toBe(false);
    l.resume();
    expect(l.state).toBe(state);
  });

  it.each([
    ['ready, engine up', 'ready', true, 'ready'],
    ['ready, engine restarting', 'ready', false, 'starting'],
    ['starting, engine down', 'starting', false, 'starting'],
    ['draining, engine down', 'draining', false, 'draining'],
  ] as const)('withEngineHealth: %s → %s', (_name, initial, healthy, expected) => {
    expect(withEngineHealth(createLifecycle(initial), () => healthy).state).toBe(expected);
  });

  it('withEngineHealth passes transitions through', () => {
    let up = true;
    const l = withEngineHealth(createLifecycle(), () => up);
    l.markReady();
    expect(l.state).toBe('ready');
    up = false;
    expect(l.state).toBe('starting');
    up = true;
    expect(l.suspend()).toBe(true);
    expect(l.state).toBe('draining');
    l.resume();
    expect(l.state).toBe('ready');
  });
});
