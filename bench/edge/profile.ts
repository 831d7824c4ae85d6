/**
 * Where the edge's CPU goes: the top self-time functions of a V8 `.cpuprofile` (what
 * `node --cpu-prof` writes), counted only inside given time windows (the edge's measured phases,
 * not its start-up or the direct baseline's phases). Pure: takes the parsed profile.
 *
 * Timestamps in a profile are microseconds of the monotonic clock that `process.hrtime` reads
 * on Linux, so another process can name the windows with `process.hrtime.bigint() / 1000n`.
 */

export interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface HotFunction {
  name: string;
  /** `file:line` (repo-relative when under `root`), or '' for V8's own entries. */
  location: string;
  selfMs: number;
  /** Share of the busy (non-idle) time sampled inside the windows. */
  share: number;
}

export interface ProfileSummary {
  top: HotFunction[];
  /** Self time summed by where the code lives (a package, a Node subsystem, a folder of ours, V8). */
  areas: { area: string; selfMs: number; share: number }[];
  busyMs: number;
  /** Whether the windows overlapped the profile; when not, the whole profile was counted. */
  windowed: boolean;
}

/** Top `n` functions by self time inside `windows` ([startUs, endUs] pairs on the profile's clock). */
export function topSelfTime(profile: CpuProfile, windows: readonly (readonly [number, number])[], n = 10, root = ''): ProfileSummary {
  const frames = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
  const times: number[] = [];
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    times.push(t);
  }
  const inWindow = (ts: number) => windows.some(([a, b]) => ts >= a && ts <= b);
  const windowed = windows.length > 0 && times.some(inWindow);
  const self = new Map<string, { name: string; location: string; us: number }>();
  let busyUs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    if (windowed && !inWindow(times[i]!)) continue;
    // A sample stands for the time until the next one.
    const us = i + 1 < times.length ? times[i + 1]! - times[i]! : 0;
    const f = frames.get(profile.samples[i]!);
    if (!f || f.functionName === '(idle)') continue;
    const location = f.url ? `${shortUrl(f.url, root)}:${f.lineNumber + 1}` : '';
    const key = `${f.functionName}\n${location}`;
    const entry = self.get(key) ?? { name: f.functionName || '(anonymous)', location, us: 0 };
    entry.us += us;
    self.set(key, entry);
    busyUs += us;
  }
  const share = (us: number) => (busyUs ? us / busyUs : 0);
  const sorted = [...self.values()].sort((a, b) => b.us - a.us);
  const top = sorted.slice(0, n).map((e) => ({ name: e.name, location: e.location, selfMs: e.us / 1000, share: share(e.us) }));
  const byArea = new Map<string, number>();
  for (const e of sorted) byArea.set(areaOf(e.name, e.location), (byArea.get(areaOf(e.name, e.location)) ?? 0) + e.us);
  const areas = [...byArea]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([area, us]) => ({ area, selfMs: us / 1000, share: share(us) }));
  return { top, areas, busyMs: busyUs / 1000, windowed };
}

/**
 * Where a function lives, coarsely: `hono`, `@hono/node-server`, `node:internal/webstreams`,
 * `edge/src/proxy`, or V8's own entry (`(garbage collector)`).
 */
export function areaOf(name: string, location: string): string {
  if (!location) return name || '(anonymous)';
  const path = location.replace(/:\d+$/, '');
  const nm = /^node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (nm) return nm[1]!;
  const parts = path.split('/');
  if (path.startsWith('node:internal/')) return parts.slice(0, parts[1] === 'deps' ? 3 : 2).join('/');
  if (path.startsWith('node:')) return parts[0]!;
  return parts.slice(0, Math.min(3, parts.length - 1)).join('/') || path;
}

/** `file:///repo/edge/src/app.ts` → `edge/src/app.ts`; a dependency keeps its `node_modules/…` path. */
export function shortUrl(url: string, root: string): string {
  const path = url.startsWith('file://') ? decodeURIComponent(url.slice('file://'.length)) : url;
  const nm = path.lastIndexOf('/node_modules/');
  if (nm >= 0) return path.slice(nm + 1);
  const base = root.endsWith('/') ? root : `${root}/`;
  return root && path.startsWith(base) ? path.slice(base.length) : path;
}
