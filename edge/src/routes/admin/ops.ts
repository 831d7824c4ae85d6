/**
 * The operator's view of the running edge: Prometheus metrics, the pool as this edge sees it, and
 * draining a replica out of rotation (its running requests finish; new ones go elsewhere).
 * Mounted behind the admin auth: the edge is the public face, its internals are not.
 */
import { Hono } from 'hono';
import { ApiError } from '#shared/errors.ts';
import { family } from '#shared/prometheus-text.ts';
import type { EdgeEnv } from '../../context.ts';
import type { Clock, PoolEntry, PoolView } from '../../ports.ts';
import type { CircuitBreaker, CircuitState } from '../../routing/circuit-breaker.ts';
import type { InflightTracker } from '../../routing/inflight.ts';
import type { Scheduler } from '../../routing/scheduler.ts';
import { shownId } from './views.ts';

export interface OpsDeps {
  pool: PoolView;
  clock: Clock;
  scheduler: Scheduler;
  inflight: InflightTracker;
  /** This edge's circuits, shown per replica. */
  breaker: CircuitBreaker;
  /** Exposition text the runtime adds (Node: the event-loop delay gauges). */
  extraMetrics?: () => string;
}

/**
 * `GET /metrics`, `GET /pool`, `POST /replicas/{id}/drain` and `POST /replicas/{id}/undrain`
 * (mount under `/admin`). Drain and undrain are idempotent and answer the replica as `/pool`
 * shows it; an id the pool does not list is 404.
 */
export function opsRoutes(deps: OpsDeps): Hono<EdgeEnv> {
  const app = new Hono<EdgeEnv>();
  const view = (e: PoolEntry, now: number) => ({
    ...e.heartbeat,
    age_ms: now - e.lastSeen,
    in_rotation: deps.scheduler.inRotation(e, now),
    inflight: deps.inflight.get(e.heartbeat.replica_id),
    circuit: deps.breaker.state(e.heartbeat.replica_id),
    drained_at: e.drainedAt === null ? null : Math.floor(e.drainedAt / 1000),
  });
  app.get('/metrics', async (c) => {
    const now = deps.clock.now();
    const entries = await deps.pool.list(now);
    const live = entries.filter((e) => deps.scheduler.inRotation(e, now)).length;
    const replicas = family('motif_edge_replicas', 'gauge', 'Replicas the edge knows, by whether they are in rotation.', [
      [{ in_rotation: 'true' }, live],
      [{ in_rotation: 'false' }, entries.length - live],
    ]);
    const byState: Record<CircuitState, number> = { closed: 0, open: 0, 'half-open': 0 };
    for (const e of entries) byState[deps.breaker.state(e.heartbeat.replica_id)] += 1;
    const circuits = family(
      'motif_edge_replica_circuits',
      'gauge',
      "Replicas the edge knows, by the state of this process's (or isolate's) circuit breaker for them.",
      Object.entries(byState).map(([state, n]) => [{ state }, n]),
    );
    return c.text(`${replicas}\n${circuits}\n${deps.extraMetrics?.() ?? ''}`, 200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
  });

  app.get('/pool', async (c) => {
    const now = deps.clock.now();
    const data = (await deps.pool.list(now)).map((e) => view(e, now));
    return c.json({ object: 'list', data });
  });

  for (const [action, drained] of [
    ['drain', true],
    ['undrain', false],
  ] as const) {
    app.post(`/replicas/:id/${action}`, async (c) => {
      const id = c.req.param('id');
      const now = deps.clock.now();
      const entry = await deps.pool.setDrained(id, drained, now);
      if (!entry) throw new ApiError('not_found', `No replica with id '${shownId(id)}' in the pool.`, { param: 'id' });
      return c.json(view(entry, now));
    });
  }
  return app;
}
