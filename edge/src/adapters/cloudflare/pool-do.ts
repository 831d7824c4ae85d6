/**
 * The pool registry in one Durable Object (SQLite storage): every edge isolate sends heartbeats
 * here and reads the replica list from here, so all isolates route on the same view.
 */
import { DurableObject } from 'cloudflare:workers';
import type { DurableObjectState } from '@cloudflare/workers-types';
import type { Heartbeat } from '#shared/protocol.ts';
import type { PoolEntry } from '../../ports.ts';
import type { SqlDb } from '../../stores/sql.ts';
import { initPool, poolList, poolSetDrained, poolUpsert } from '../../stores/sql-pool.ts';
import { doSql } from './do-sql.ts';

/** A silent replica is forgotten after this long (it stops counting as a known model). */
export const POOL_RETENTION_MS = 10 * 60_000;

export class PoolDO extends DurableObject {
  private readonly db: SqlDb;

  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env as never);
    this.db = doSql(ctx.storage);
    initPool(this.db);
  }

  /** Store a heartbeat (ignored when older than the stored one). */
  upsert(hb: Heartbeat, receivedAt: number): void {
    poolUpsert(this.db, hb, receivedAt);
  }

  /** Replicas heard from within the retention window. */
  list(now: number): PoolEntry[] {
    return poolList(this.db, now, POOL_RETENTION_MS);
  }

  /** Drain or undrain a listed replica; its entry now, or null when none has that id. */
  setDrained(replicaId: string, drained: boolean, now: number): PoolEntry | null {
    return poolSetDrained(this.db, replicaId, drained, now, POOL_RETENTION_MS);
  }
}
