/**
 * The replay window of signed internal calls (heartbeats, usage) in a Durable Object with SQLite
 * storage. Isolates share no memory, so a window kept per isolate lets a captured request be
 * replayed against another isolate; every isolate asks this object instead. Ids are spread over a
 * few objects by a hash of the id (ports.ts), and a replay carries the same id, so it always
 * reaches the object that saw the original.
 */
import { DurableObject } from 'cloudflare:workers';
import type { DurableObjectState } from '@cloudflare/workers-types';
import { MAX_SKEW_MS } from '#shared/signing.ts';
import type { SqlDb } from '../../stores/sql.ts';
import { initReplay, replayClaim, replayPrune } from '../../stores/sql-replay.ts';
import { doSql } from './do-sql.ts';

/** How long an id is remembered: a signature is accepted up to the skew either side of now. */
export const REPLAY_WINDOW_MS = 2 * MAX_SKEW_MS;
const PRUNE_EVERY_MS = 10_000;

export class ReplayDO extends DurableObject {
  private readonly db: SqlDb;
  private prunedAt = Number.NEGATIVE_INFINITY;

  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env as never);
    this.db = doSql(ctx.storage);
    initReplay(this.db);
  }

  /** Record a request id; false when it was seen inside the window (a replay). */
  claim(id: string, now: number): boolean {
    if (now - this.prunedAt >= PRUNE_EVERY_MS) {
      replayPrune(this.db, now - REPLAY_WINDOW_MS);
      this.prunedAt = now;
    }
    return replayClaim(this.db, id, now, REPLAY_WINDOW_MS);
  }
}
