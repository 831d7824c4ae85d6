/**
 * How a fault case reports: one figure for what the client saw, and the ledger's lost and
 * duplicated counts with their bound (= 0), in the suite's figures table (group `faults`).
 */
import type { LedgerAudit } from '../helpers/ledger.ts';
import { recordFigure } from './figures.ts';

export function recordFaultCase(name: string, outcome: string, audit: Pick<LedgerAudit, 'lost' | 'duplicated' | 'unbilledExtra'>): void {
  const extra = audit.unbilledExtra > 0 ? `; ${audit.unbilledExtra} unbilled record(s) beside a failed-over request's` : '';
  recordFigure({ group: 'faults', name: `${name}: outcome`, value: outcome + extra });
  recordFigure({ group: 'faults', name: `${name}: lost`, value: audit.lost.length, bound: '= 0', ok: audit.lost.length === 0 });
  recordFigure({ group: 'faults', name: `${name}: duplicated`, value: audit.duplicated.length, bound: '= 0', ok: audit.duplicated.length === 0 });
}
