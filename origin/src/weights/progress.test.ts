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

  it('writes plain lines off a TTY every logEveryMs, the first after one interval', () => {
    let t = 0;
    const out: string[] = [];
    const p = createProgress({ label: 'upload', tty: false, write: (s) => out.push(s), now: () => t, logEveryMs: 5000 });
    for (t = 1000; t <= 12_000; t += 1000) p.update(t, 20_000);
    expect(out.length).toBe(2);
    expect(out.every((l) => l.startsWith('upload ') && l.endsWith('\n') && !l.includes('\r'))).toBe(true);
  });

  it('a short transfer off a TTY logs only its summary, without a rate measured over milliseconds', () => {
    let t = 0;
    const out: string[] = [];
    const p = createProgress({ label: 'upload', tty: false, write: (s) => out.push(s), now: () => t });
    t = 3;
    p.update(900 * 1024, 900 * 1024);
    t = 40;
    p.finish('ok');
    expect(out).toEqual(['upload done: 900.0 KiB in 0.0s — ok\n']);
  });

  it('shows no rate or ETA in the first second, however much has landed', () => {
    let t = 0;
    const out: string[] = [];
    const p = createProgress({ label: 'download', tty: true, write: (s) => out.push(s), now: () => t, width: 10 });
    t = 1; // one 16 MiB part of 5 GiB after 1 ms: 16 GiB/s, "ETA 0:00"
    p.update(16 * 1024 ** 2, 5 * 1024 ** 3);
    t = 300; // 1 byte of 1 GiB: "ETA 83:00:00"
    p.update(16 * 1024 ** 2 + 1, 5 * 1024 ** 3);
    expect(out).toHaveLength(2);
    for (const l of out) expect(l).toContain('-- B/s ETA -:--');
  });

  it('takes the rate from the trailing window, so an early jump (resumed bytes) fades out', () => {
    let t = 0;
    const out: string[] = [];
    const GiB = 1024 ** 3;
    const MiB = 1024 ** 2;
    const p = createProgress({ label: 'download', tty: true, write: (s) => out.push(s), now: () => t, width: 10, windowMs: 5000 });
    t = 10;
    p.update(GiB / 2, GiB); // half the file resumed from disk at once
    for (t = 110; t <= 10_010; t += 100) p.update(GiB / 2 + ((t - 10) / 1000) * 10 * MiB, GiB); // then 10 MiB/s
    const last = out.at(-1)!;
    expect(last).toContain('10.0 MiB/s');
    // (1024 - 512 - 100) MiB left at 10 MiB/s = 41.2 s
    expect(last).toContain('ETA 0:41');
  });

  it('says so when an ETA would be past any use', () => {
    let t = 0;
    const out: string[] = [];
    const p = createProgress({ label: 'download', tty: true, write: (s) => out.push(s), now: () => t });
    t = 2000;
    p.update(1, 1024 ** 4);
    expect(out.at(-1)).toContain('ETA >100h');
  });
});
