/** bench:weights' verdict on hand-made rounds, and where it looks for aws-cli. */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findAwsCli, type Kind, type LayoutRounds, pairedRatio, type Sample, verdict } from './report.ts';

const kinds: Kind[] = ['serving', 'ours', 'aws', 'aws+sync'];
const at = (rate: number): Sample => ({ rate, clientMs: 1, serverMs: 1 });
const rounds = (layout: LayoutRounds['layout'], rows: number[][]): LayoutRounds => ({ layout, kinds, rounds: rows.map((r) => r.map(at)) });

describe('bench:weights verdict', () => {
  it('pairs ours with the other kind round by round and takes the median', () => {
    const r = rounds('pinned', [
      [400, 360, 200, 150],
      [100, 90, 60, 50],
      [500, 300, 250, 200],
    ]);
    expect(pairedRatio(r, 'serving')).toBeCloseTo(0.9);
    expect(pairedRatio(r, 'aws')).toBeCloseTo(1.5);
  });

  it('prints four lines, two per layout, each against its own target', () => {
    const v = verdict([rounds('pinned', [[400, 330, 200, 150]]), rounds('shared', [[400, 250, 200, 150]])]);
    expect(v.lines).toHaveLength(4);
    expect(v.lines[0]).toMatch(/pinned +ours\/serving-limit +83% +\(target ≥ 80%: met\)/);
    expect(v.lines[1]).toMatch(/pinned +ours\/aws-cli +1\.65× +\(target ≥ 1\.5×: met; vs aws-cli \+ sync 2\.20×\)/);
    expect(v.lines[2]).toMatch(/shared +ours\/serving-limit +63% +\(target ≥ 60%: met\)/);
    expect(v.lines[3]).toMatch(/shared +ours\/aws-cli +1\.25× +\(target ≥ 1\.5×: NOT met/);
    expect(v.met).toBe(false);
  });

  it('counts a layout with no aws-cli sample as not met, never as n/a', () => {
    const r: LayoutRounds = { layout: 'pinned', kinds, rounds: [[at(400), at(390), null, null]] };
    const v = verdict([r]);
    expect(v.lines[1]).toContain('none paired');
    expect(v.lines[1]).toContain('NOT met');
    expect(v.met).toBe(false);
  });
});

describe('findAwsCli', () => {
  it('finds `aws` on PATH, or $AWS_CLI, and null when there is none', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-aws-'));
    try {
      expect(findAwsCli({ PATH: dir })).toBeNull();
      expect(findAwsCli({ PATH: dir, AWS_CLI: path.join(dir, 'missing') })).toBeNull();
      const bin = path.join(dir, 'aws');
      await fs.writeFile(bin, '#!/bin/sh\necho "aws-cli/9.9.9 Python/3 Linux"\n', { mode: 0o755 });
      expect(findAwsCli({ PATH: `/nonexistent${path.delimiter}${dir}` })).toEqual({ bin, version: 'aws-cli/9.9.9' });
      expect(findAwsCli({ PATH: '', AWS_CLI: bin })).toEqual({ bin, version: 'aws-cli/9.9.9' });
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
