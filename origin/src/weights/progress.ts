/**
 * Progress rendering for the weights CLI (pure; clock and output injected). On a TTY: one bar
 * redrawn in place with bytes/s and ETA, at most ~10 times a second. Otherwise: a plain log line
 * every `logEveryMs`, so CI logs and journald stay readable.
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
}

/** A reporter for one transfer; speed is averaged over the whole transfer so far. */
export function createProgress(o: ProgressOptions): ProgressReporter {
  const now = o.now ?? (() => performance.now());
  const start = now();
  let lastDraw = -Infinity;
  let done = 0;
  let total = 0;
  const every = o.tty ? 100 : (o.logEveryMs ?? 5000);

  function line(): string {
    const secs = Math.max(1e-3, (now() - start) / 1000);
    const rate = done / secs;
    const pct = total > 0 ? Math.min(1, done / total) : 1;
    const eta = rate > 0 && total > done ? (total - done) / rate : 0;
    const stats = `${(pct * 100).toFixed(1).padStart(5)}% ${fmtBytes(done)}/${fmtBytes(total)} ${fmtBytes(rate)}/s ETA ${fmtDuration(eta)}`;
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
      if (ts - lastDraw < every) return;
      lastDraw = ts;
      o.write(o.tty ? `\r${line()}\x1b[K` : `${line()}\n`);
    },
    finish(note) {
      const secs = (now() - start) / 1000;
      const summary = `${o.label} done: ${fmtBytes(done)} in ${secs.toFixed(1)}s (${fmtBytes(done / Math.max(secs, 1e-3))}/s)${note ? ` — ${note}` : ''}`;
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
