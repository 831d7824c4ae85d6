import { describe, expect, it } from 'vitest';
import { createProgress, fmtBytes, fmtDuration } from './progress.ts';

describe('progress rendering', () => {
  it.each([
    [0, '0 B'],
    [1536, '1.5 KiB'],
    [5 * 1024 ** 3, '5.0 GiB'],
  ])('fmtBytes(%i) = %s', (n, s) => expect(fmtBytes(n)).toBe(s));

  it.each([
    [0, '0:00'],
    [75, '1:15'],
    [3700, '1:01:40'],
  ])('fmtDuration(%i) = %s', (n, s) => expect(fmtDuration(n)).toBe(s));

  it('draws a TTY bar in place with rate and ETA, throttled', () => {
    let t = 0;
    const out: string[] = [];
    const p = createProgress({ label: 'download', tty: true, write: (s) => out.push(s), now: () => t, width: 10 });
    t = 1000;
    p.update(100 * 1024 ** 2, 400 * 1024 ** 2);
    t = 1050;
    p.update(110 * 1024 ** 2, 400 * 1024 ** 2);
    expect(out).toHaveLength(1);
    expect(out[0]).toBe('\rdownload [###-------]  25.0% 100.0 MiB/400.0 MiB 100.0 MiB/s ETA 0:03\x1b[K');
    t = 2000;
    p.finish('ok');
    expect(out[1]).toBe('\rdownload done: 110.0 MiB in 2.0s (55.0 MiB/s) — ok\x1b[K\n');
  });

  it('writes plain lines off a TTY every logEveryMs', () => {
    let t = 0;
    const out: string[] = [];
    const p = createProgress({ label: 'upload', tty: false, write: (s) => out.push(s), now: () => t, logEveryMs: 5000 });
    for (t = 1000; t <= 12_000; t += 1000) p.update(t, 20_000);
    expect(out.length).toBe(3);
    expect(out.every((l) => l.startsWith('upload ') && l.endsWith('\n') && !l.includes('\r'))).toBe(true);
  });
});
