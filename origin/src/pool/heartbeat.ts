/**
 * The replica's heartbeat (DESIGN §4): every second a signed `Heartbeat` to the edge's pool
 * registry. The edge drops a replica whose last beat is older than 3 s, so beats must keep coming
 * while the edge is down or slow: failures are logged once per outage, never thrown, and a beat
 * never overlaps the previous one.
 */
import { Heartbeat, INTERNAL_PATHS } from '#shared/protocol.ts';
import type { EdgeClient } from './edge-client.ts';

export interface HeartbeatOptions {
  client: EdgeClient;
  /** The current state of this replica; called once per beat. */
  snapshot: () => Heartbeat;
  intervalMs?: number;
  log?: (line: string) => void;
  onResult?: (ok: boolean) => void;
}

export interface HeartbeatLoop {
  start(): void;
  /** Send one beat now; resolves true when the edge accepted it. */
  beat(): Promise<boolean>;
  /** Stop the loop; waits for an in-flight beat. */
  stop(): Promise<void>;
}

/** Create the heartbeat loop (not started). */
export function createHeartbeat(opts: HeartbeatOptions): HeartbeatLoop {
  const intervalMs = opts.intervalMs ?? 1_000;
  if (!Number.isFinite(intervalMs) || intervalMs < 10) throw new Error('heartbeat interval must be at least 10 ms');
  const log = opts.log ?? (() => {});
  let timer: ReturnType<typeof setTimeout> | undefined;
  let inFlight: Promise<boolean> | undefined;
  let running = false;
  let healthy: boolean | undefined;

  async function send(): Promise<boolean> {
    let ok = false;
    let why = '';
    try {
      const res = await opts.client.post(INTERNAL_PATHS.heartbeat, Heartbeat.parse(opts.snapshot()));
      ok = res.ok;
      if (!ok) why = `HTTP ${res.status} ${(await res.text().catch(() => '')).slice(0, 200)}`;
      else await res.body?.cancel();
    } catch (err) {
      why = (err as Error).message;
    }
    // Log transitions only: an edge that is down for an hour must not flood the log.
    if (ok !== healthy)
      log(
        ok
          ? `heartbeat: edge ${opts.client.baseUrl} reachable`
          : `heartbeat: edge ${opts.client.baseUrl} not accepting beats (${why}); retrying every ${intervalMs} ms`,
      );
    healthy = ok;
    opts.onResult?.(ok);
    return ok;
  }

  function beat(): Promise<boolean> {
    inFlight ??= send().finally(() => (inFlight = undefined));
    return inFlight;
  }

  function schedule(): void {
    if (!running) return;
    timer = setTimeout(() => {
      void beat().finally(schedule);
    }, intervalMs);
    // The heartbeat alone must not keep a process alive.
    timer.unref?.();
  }

  return {
    start() {
      if (running) return;
      running = true;
      void beat().finally(schedule);
    },
    beat,
    async stop() {
      running = false;
      if (timer) clearTimeout(timer);
      await inFlight;
    },
  };
}
