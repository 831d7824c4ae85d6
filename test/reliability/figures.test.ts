import { describe, expect, it } from 'vitest';
import { formatFigures } from './figures.ts';

describe('formatFigures', () => {
  it('groups rows, keeps their order within a group and marks failures', () => {
    const table = formatFigures([
      { group: 'load', name: 'served', value: 10 },
      { group: 'fuzz', name: 'requests', value: 10000, bound: '>= 10000', ok: true },
      { group: 'load', name: '5xx', value: 1, bound: '= 0', ok: false },
    ]);
    const lines = table.split('\n');
    expect(lines[0]).toMatch(/group.*figure.*value.*bound/);
    expect(lines.slice(2).map((l) => l.split('|')[1]!.trim())).toEqual(['fuzz', 'load', 'load']);
    expect(lines[3]).toContain('served');
    expect(lines[4]).toContain('FAIL');
  });
});
