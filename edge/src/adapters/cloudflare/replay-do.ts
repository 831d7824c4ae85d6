/**
 * The replay window of signed internal calls (heartbeats, usage) in a Durable Object with SQLite
 * storage. Isolates share no memory, so a window kept per isolate lets a captured request be
 * replayed against another isolate; every isolate asks this object instead. Ids are spread over a
 * few objects by a hash of the id (ports.ts), and a replay carries the same id, so it always
 * reaches the object that saw the original.
 */
import { DurableObject } from 'cloudflare:workers';
import type { DurableObjectState } from '@cloudflare/workers-types';
import { type SyncReplayWindow, sqlReplayWindow } from '../../stores/sql-replay.ts';
import { doSql } from './do-sql.ts';

export class ReplayDO extends DurableObject {
  private readonly window: SyncReplayWindow;

  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env as never);
    this.window = sqlReplayWindow(doSql(ctx.storage));
  }

  /** Record a request id; false when it was seen inside the window (a replay). */
  claim(id: string, now: number): boolean {
    return this.window.check(id, now);
  }
}
