import { describe, expect, it } from 'vitest';
import { flights } from './flights.ts';

describe('flights', () => {
  it('the first joiner leads, later ones follow and get the leader result', async () => {
    const f = flights<string>();
    const leader = f.join('k');
    const a = f.join('k');
    const b = f.join('k');
    expect(leader.role).toBe('leader');
    expect([a.role, b.role]).toEqual(['follower', 'follower']);
    if (leader.role !== 'leader' || a.role !== 'follower' || b.role !== 'follower') throw new Error('roles');
    leader.settle('answer');
    expect(await Promise.all([a.result, b.result])).toEqual(['answer', 'answer']);
    expect(f.size()).toBe(0);
  });

  it('a failed leader gives followers undefined, and the next joiner leads anew', async () => {
    const f = flights<string>();
    const leader = f.join('k');
    const follower = f.join('k');
    if (leader.role !== 'leader' || follower.role !== 'follower') throw new Error('roles');
    leader.settle(undefined);
    leader.settle('late'); // a second settle changes nothing
    expect(await follower.result).toBeUndefined();
    expect(f.join('k').role).toBe('leader');
  });

  it('keys are independent', () => {
    const f = flights<string>();
    expect(f.join('a').role).toBe('leader');
    expect(f.join('b').role).toBe('leader');
    expect(f.size()).toBe(2);
  });
});
