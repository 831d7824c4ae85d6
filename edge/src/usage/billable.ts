/**
 * Which record bills a client request. The edge sends one request id to every replica it tries
 * (proxy/upstream.ts), so a failover can leave records of the same request on two replicas: one
 * refused or cut before any byte reached the client, one that served it. Exactly one record per
 * (tenant_id, request_id) is billable, chosen by `outranks` whatever order they arrive in:
 *
 * 1. a refusal never bills;
 * 2. a completed record (`finish`, `stop`, or `cached`: a response-cache hit) beats a cut one (`abort`, `error`);
 * 3. then the one with more completion tokens (what the client was handed);
 * 4. then the smaller replica id, so the choice is deterministic.
 */
import type { UsageOutcome, UsageRecord } from '#shared/usage.ts';

/** The fields the choice reads. */
export type BillingCandidate = Pick<UsageRecord, 'replica_id' | 'outcome' | 'completion_tokens'>;

/** Whether a record of this outcome can bill at all. */
export const isBillableOutcome = (o: UsageOutcome | string): boolean => o !== 'refused';

// A cache hit is a whole answer handed to the client, like a completed generation.
const completed = (o: string) => o === 'finish' || o === 'stop' || o === 'cached';

/** True when `a` should bill instead of `b` (both records of one request id). */
export function outranks(a: BillingCandidate, b: BillingCandidate): boolean {
  if (isBillableOutcome(a.outcome) !== isBillableOutcome(b.outcome)) return isBillableOutcome(a.outcome);
  if (completed(a.outcome) !== completed(b.outcome)) return completed(a.outcome);
  if (a.completion_tokens !== b.completion_tokens) return a.completion_tokens > b.completion_tokens;
  return a.replica_id < b.replica_id;
}

/** The billable record among one request id's records, or undefined when none may bill. */
export function billableOf<T extends BillingCandidate>(records: readonly T[]): T | undefined {
  let best: T | undefined;
  for (const r of records) if (isBillableOutcome(r.outcome) && (!best || outranks(r, best))) best = r;
  return best;
}
