/**
 * One tenant's usage ledger in a Durable Object (SQLite storage), addressed by tenant id: the
 * tenant's records and queries never contend with other tenants', and the per-tenant table stays
 * small enough to aggregate on demand. The tenant's stored Responses API responses live here too.
 */
import { DurableObject } from 'cloudflare:workers';
import type { DurableObjectState } from '@cloudflare/workers-types';
import type { UsageRecord, UsageRow } from '#shared/usage.ts';
import type { HourlyUsage, LedgerInsertResult, StoredResponse, UsageQueryInput, UsageRange } from '../../ports.ts';
import type { SqlDb } from '../../stores/sql.ts';
import { initLedger, ledgerHourly, ledgerInsert, ledgerQuery } from '../../stores/sql-ledger.ts';
import { deleteResponse, getResponse, initResponses, putResponse } from '../../stores/sql-responses.ts';
import { doSql } from './do-sql.ts';

export class LedgerDO extends DurableObject {
  private readonly db: SqlDb;

  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env as never);
    this.db = doSql(ctx.storage);
    initLedger(this.db);
    initResponses(this.db);
  }

  /** Store a Responses API response of this tenant (stores/sql-responses.ts). */
  putResponse(record: StoredResponse): void {
    putResponse(this.db, record);
  }

  getResponse(tenantId: string, id: string, now: number): StoredResponse | null {
    return getResponse(this.db, tenantId, id, now);
  }

  deleteResponse(tenantId: string, id: string): boolean {
    return deleteResponse(this.db, tenantId, id);
  }

  /** Insert records (all of this DO's tenant) idempotently. */
  insert(records: UsageRecord[], receivedAt: number): LedgerInsertResult {
    return ledgerInsert(this.db, records, receivedAt);
  }

  /** This tenant's usage, grouped. */
  query(tenantId: string, q: UsageQueryInput): UsageRow[] {
    return ledgerQuery(this.db, tenantId, q);
  }

  /** This tenant's billed usage per model × hour. */
  hourly(tenantId: string, range: UsageRange, limit: number): HourlyUsage[] {
    return ledgerHourly(this.db, tenantId, range, limit);
  }
}
