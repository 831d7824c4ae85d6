/**
 * A pool of real origin processes on the simulated engine (`MOTIF_ENGINE=sim`) behind the real
 * Node edge: the stack of `npm start` (embedded S3, edge, origin `local-0`) plus replicas
 * `local-1` … `local-{n-1}` beside it. For the failover suites and `npm run bench:routing`: the
 * sim's latency model and prefix cache stand in for MI250 replicas, so routing is measured on
 * timings shaped like the real tier without a GPU.
 */
import type { ManagedProcess } from '../../scripts/stack/processes.ts';
import { freePort } from '../../scripts/stack/processes.ts';
import { startTestStack, type TestStack } from './stack.ts';

export interface SimPoolOptions {
  replicas: number;
  /** The sim's options (`MOTIF_SIM`, origin/src/engine/sim/README.md). */
  sim?: Record<string, unknown>;
  /** Extra env for every origin (limits, heartbeat period). */
  originEnv?: NodeJS.ProcessEnv;
  /** Extra env for the edge (its routing profile, limits). */
  edgeEnv?: NodeJS.ProcessEnv;
}

export interface SimReplica {
  id: string;
  port: number;
  url: string;
  proc: ManagedProcess;
}

export interface SimPool {
  stack: TestStack;
  replicas: SimReplica[];
  /** GET an admin route of the edge with the stack's admin token. */
  admin(path: string, init?: RequestInit): Promise<Response>;
  /** SIGKILL one replica's process group, as a crash would end it, and wait for it to be gone. */
  kill(id: string): Promise<void>;
  /** Start a stopped or killed replica again (same id, port and data dir); resolves once it is ready. */
  restart(id: string): Promise<void>;
  dispose(): Promise<void>;
}

export async function startSimPool(opts: SimPoolOptions): Promise<SimPool> {
  const originEnv: NodeJS.ProcessEnv = { MOTIF_ENGINE: 'sim', ...(opts.sim ? { MOTIF_SIM: JSON.stringify(opts.sim) } : {}), ...opts.originEnv };
  const stack = await startTestStack({ originEnv, edgeEnv: opts.edgeEnv });
  const replicas: SimReplica[] = [];
  try {
    const first = new URL(stack.originUrl);
    replicas.push({ id: 'local-0', port: Number(first.port), url: stack.originUrl, proc: stack.origin });
    for (let i = 1; i < opts.replicas; i++) {
      const id = `local-${i}`;
      const port = await freePort();
      replicas.push({ id, port, url: `http://127.0.0.1:${port}`, proc: await stack.addOrigin(id, port) });
    }
    await waitInRotation(stack, replicas.length);
  } catch (err) {
    await stack.dispose().catch(() => {});
    throw err;
  }
  const admin = (path: string, init: RequestInit = {}) =>
    fetch(`${stack.edgeUrl}${path}`, { ...init, headers: { authorization: `Bearer ${stack.adminToken}`, ...(init.headers as Record<string, string>) } });
  const find = (id: string) => {
    const r = replicas.find((x) => x.id === id);
    if (!r) throw new Error(`no replica ${id}`);
    return r;
  };
  return {
    stack,
    replicas,
    admin,
    async kill(id) {
      const r = find(id);
      r.proc.kill();
      await r.proc.exited;
    },
    async restart(id) {
      const r = find(id);
      if (id === 'local-0') {
        await stack.restartOrigin();
        r.proc = stack.origin;
      } else {
        r.proc = await stack.addOrigin(id, r.port);
      }
    },
    dispose: () => stack.dispose(),
  };
}

/** Replicas the edge has in rotation now, by id. */
export async function inRotation(stack: TestStack): Promise<Set<string>> {
  const res = await fetch(`${stack.edgeUrl}/admin/pool`, { headers: { authorization: `Bearer ${stack.adminToken}` } });
  const body = (await res.json()) as { data: { replica_id: string; in_rotation: boolean; circuit: string }[] };
  return new Set(body.data.filter((r) => r.in_rotation && r.circuit === 'closed').map((r) => r.replica_id));
}

async function waitInRotation(stack: TestStack, n: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await inRotation(stack)).size >= n) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the edge did not list ${n} replicas in rotation within ${timeoutMs} ms`);
}
