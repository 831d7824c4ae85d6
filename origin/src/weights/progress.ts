/**
 * Progress rendering for the weights CLI (pure; clock and output injected). On a TTY: one bar
 * redrawn in place with bytes/s and ETA, at most ~10 times a second. Otherwise: a plain log line
 * every `logEveryMs` (none for a transfer that ends sooner), so CI logs and journald stay readable.
 *
 * Rate and ETA come from the last `windowMs` of samples, and only once `minEtaMs` have passed: in
 * the first milliseconds one 16 MiB part, or a resumed file counted at once, makes any average
 * absurd (an ETA of 0:00 for a 5 GiB sync, or hours for one that ends in a second).
 */

export interface ProgressReporter {
  update(done: number, total: number): void;
  /** Final line (always printed). */
  finish(note?: string): void;
}

export interface ProgressOptions {
  label: string;
  tty: boolean;
  write: (s: string) => void;
  now?: () => number;
  width?: number;
  logEveryMs?: number;
  /** No rate or ETA before this much time has passed (default 1 s). */
  minEtaMs?: number;
  /** Rate over this trailing window (default 5 s): follows a rate that changes, forgets early jumps. */
  windowMs?: number;
}

/** ETAs beyond this say so instead of printing a number nobody can use. */
const MAX_ETA_SECS = 100 * 3600;
const SAMPLE_EVERY_MS = 100;

/** A reporter for one transfer. */
export function createProgress(o: ProgressOptions): ProgressReporter {
  const now = o.now ?? (() => performance.now());
  const start = now();
  const every = o.tty ? 100 : (o.logEveryMs ?? 5000);
  const minEtaMs = o.minEtaMs ?? 1000;
  const windowMs = o.windowMs ?? 5000;
  // Off a TTY the first line waits a full interval: a short transfer logs only its summary.
  let lastDraw = o.tty ? -Infinity : start;
  let done = 0;
  let total = 0;
  // (time, bytes) samples, oldest first; the first one is the start.
  const samples: { t: number; done: number }[] = [{ t: start, done: 0 }];

  function sample(t: number): void {
    if (t - samples[samples.length - 1]!.t >= SAMPLE_EVERY_MS) samples.push({ t, done });
    // Keep one sample at or before the window's start, so the window spans windowMs.
    while (samples.length > 2 && samples[1]!.t <= t - windowMs) samples.shift();
  }

  /** Bytes per second over the window, or null while there is too little to go on. */
  function rate(t: number): number | null {
    if (t - start < minEtaMs) return null;
    const first = samples[0]!;
    const secs = (t - first.t) / 1000;
    const r = secs > 0 ? (done - first.done) / secs : 0;
    return r > 0 ? r : null;
  }

  function line(): string {
    const t = now();
    const r = rate(t);
    const pct = total > 0 ? Math.min(1, done / total) : 1;
    const eta = r === null ? null : Math.max(0, total - done) / r;
    const speed = r === null ? '-- B/s' : `${fmtBytes(r)}/s`;
    const etaText = eta === null ? '-:--' : eta > MAX_ETA_SECS ? `>${MAX_ETA_SECS / 3600}h` : fmtDuration(eta);
    const stats = `${(pct * 100).toFixed(1).padStart(5)}% ${fmtBytes(done)}/${fmtBytes(total)} ${speed} ETA ${etaText}`;
    if (!o.tty) return `${o.label} ${stats}`;
    const width = o.width ?? 30;
    const fill = Math.round(pct * width);
    return `${o.label} [${'#'.repeat(fill)}${'-'.repeat(width - fill)}] ${stats}`;
  }

  return {
    update(d, t) {
      done = d;
      total = t;
      const ts = now();
      sample(ts);
      if (ts - lastDraw < every) return;
      lastDraw = ts;
      o.write(o.tty ? `\r${line()}\x1b[K` : `${line()}\n`);
    },
    finish(note) {
      const secs = (now() - start) / 1000;
      // A rate over a few milliseconds says more about timer resolution than about the link.
      const speed = secs * 1000 >= minEtaMs ? ` (${fmtBytes(done / secs)}/s)` : '';
      const summary = `${o.label} done: ${fmtBytes(done)} in ${secs.toFixed(1)}s${speed}${note ? ` — ${note}` : ''}`;
      o.write(o.tty ? `\r${summary}\x1b[K\n` : `${summary}\n`);
    },
  };
}

/** 1536 → "1.5 KiB" (binary units, like the sizes people compare against). */
export function fmtBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}

/** 75 → "1:15", 3700 → "1:01:40". */
export function fmtDuration(secs: number): string {
  const s = Math.max(0, Math.round(secs));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}
