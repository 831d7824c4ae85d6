/**
 * The engine slot of one replica: which Engine new requests run on, and the engines still
 * finishing requests after a swap. The server pins the current engine when a request arrives and
 * releases the pin when the request settles, so a request that started on the old revision ends
 * on it even if it waited in the admission queue across the swap; `retire` waits for those pins
 * before draining and closing the old engine. `engine` is a facade over the slot for code that
 * wants one Engine (metrics, heartbeat, shutdown drain): its counters never go backwards across
 * swaps and its load figures cover every engine still running requests.
 */
import type { Engine, EngineEvent, EngineStats, GenerateRequest } from '../engine/types.ts';
import type { EnginePin } from '../ports.ts';

export interface RetireResult {
  /** Pinned requests still unfinished when the timeout passed (cut by `close`). */
  cut: number;
  /** `close` failed (the engine is out of the slot either way). */
  closeError?: Error;
}

export interface EngineSlot {
  /** One Engine over the slot: info of the current engine, load summed over live engines. */
  readonly engine: Engine;
  /** The engine new requests run on. */
  current(): Engine;
  /** Pin the current engine for one request; `release` (idempotent) once the request settled. */
  pin(): EnginePin;
  /** Route new requests to `next`; returns the engine it replaced (still finishing its requests). */
  swap(next: Engine): Engine;
  /**
   * Wait (at most `timeoutMs`) until nothing pins `engine`, then drain and close it. Works on the
   * current engine too (drain-first), which then stays current, closed, until the next `swap`.
   */
  retire(engine: Engine, timeoutMs: number): Promise<RetireResult>;
  /** Requests currently pinned to `engine`. */
  pins(engine: Engine): number;
}

type Totals = Pick<EngineStats, 'promptTokensTotal' | 'generationTokensTotal' | 'prefixCacheQueries' | 'prefixCacheHits'>;
const TOTAL_KEYS = ['promptTokensTotal', 'generationTokensTotal', 'prefixCacheQueries', 'prefixCacheHits'] as const;

/** A slot serving `initial`. */
export function createEngineSlot(initial: Engine): EngineSlot {
  let current = initial;
  // Engines not yet retired (current included until it is): their stats are live.
  const live = new Set<Engine>([initial]);
  const pinCounts = new Map<Engine, number>();
  const idleWaiters = new Map<Engine, (() => void)[]>();
  // Counters of closed engines, so the exported totals stay monotonic.
  const retired: Totals = { promptTokensTotal: 0, generationTokensTotal: 0, prefixCacheQueries: 0, prefixCacheHits: 0 };

  function pin(): EnginePin {
    const engine = current;
    pinCounts.set(engine, (pinCounts.get(engine) ?? 0) + 1);
    let released = false;
    return {
      engine,
      release() {
        if (released) return;
        released = true;
        const left = (pinCounts.get(engine) ?? 1) - 1;
        if (left > 0) return void pinCounts.set(engine, left);
        pinCounts.delete(engine);
        for (const wake of idleWaiters.get(engine)?.splice(0) ?? []) wake();
      },
    };
  }

  /** Resolves true once `engine` has no pins, false when `ms` passed first. */
  function whenUnpinned(engine: Engine, ms: number): Promise<boolean> {
    if (!pinCounts.has(engine)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const list = idleWaiters.get(engine) ?? [];
      idleWaiters.set(engine, list);
      const wake = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        const i = list.indexOf(wake);
        if (i >= 0) list.splice(i, 1);
        resolve(false);
      }, ms);
      list.push(wake);
    });
  }

  async function retire(engine: Engine, timeoutMs: number): Promise<RetireResult> {
    if (!live.has(engine)) return { cut: 0 };
    const t0 = Date.now();
    const clean = await whenUnpinned(engine, timeoutMs);
    if (clean) {
      // Nothing is pinned, so this only stops admission; still bounded, in case it hangs.
      let timer: ReturnType<typeof setTimeout> | undefined;
      const left = Math.max(0, timeoutMs - (Date.now() - t0));
      await Promise.race([engine.drain().catch(() => {}), new Promise((r) => (timer = setTimeout(r, left)))]);
      clearTimeout(timer);
    }
    const cut = pinCounts.get(engine) ?? 0;
    const s = engine.stats();
    for (const k of TOTAL_KEYS) retired[k] += s[k];
    live.delete(engine);
    try {
      await engine.close();
    } catch (err) {
      return { cut, closeError: err instanceof Error ? err : new Error(String(err)) };
    }
    return { cut };
  }

  const facade: Engine = {
    info: () => current.info(),
    load: () => current.load(),
    async *generate(req: GenerateRequest, signal: AbortSignal): AsyncGenerator<EngineEvent> {
      // Bound at the first next(): the inner engine submits in the same tick, so a swap can
      // never fall between choosing the engine and handing it the request.
      const p = pin();
      try {
        yield* p.engine.generate(req, signal);
      } finally {
        p.release();
      }
    },
    async drain() {
      await Promise.all([...live].map((e) => e.drain()));
    },
    healthy: () => current.healthy?.() ?? true,
    stats() {
      const out: EngineStats = { ...current.stats(), waiting: 0, running: 0, kvUsage: 0, tokensPerSecond: 0, ...retired };
      for (const e of live) {
        const s = e.stats();
        out.waiting += s.waiting;
        out.running += s.running;
        out.tokensPerSecond += s.tokensPerSecond;
        // Each engine has its own KV budget: report the fuller one, never above 1.
        out.kvUsage = Math.max(out.kvUsage, s.kvUsage);
        for (const k of TOTAL_KEYS) out[k] += s[k];
      }
      return out;
    },
    async close() {
      const all = [...live];
      live.clear();
      await Promise.all(all.map((e) => e.close()));
    },
  };

  return {
    engine: facade,
    current: () => current,
    pin,
    swap(next) {
      const prev = current;
      current = next;
      live.add(next);
      return prev;
    },
    retire,
    pins: (engine) => pinCounts.get(engine) ?? 0,
  };
}
