/**
 * What the fuzzer holds every answer to: no 5xx (a 503 with `retry-after` is overload, counted
 * apart; none is expected at the fuzzer's pace), every error body OpenAI-shaped, and an answer at
 * all (no hang, no dropped connection). `Tally` counts the verdicts for the figures table and
 * keeps the first few failures, request included, for the failure message.
 */
import { ErrorBody } from '#shared/errors.ts';
import type { RawOutcome } from './raw-http.ts';

export type Verdict = 'ok' | '5xx' | 'overload' | 'bad-error-shape' | 'no-response';

export function judge(outcome: RawOutcome, method: string): { verdict: Verdict; detail?: string } {
  if (outcome.kind === 'no-response') return { verdict: 'no-response', detail: outcome.detail };
  const { status, headers, body } = outcome.response;
  if (status === 503 && headers['retry-after'] !== undefined) return { verdict: 'overload' };
  if (status >= 500) return { verdict: '5xx', detail: `${status} ${body.subarray(0, 300).toString('utf8')}` };
  if (status < 400 || method === 'HEAD') return { verdict: 'ok' };
  const problem = errorShapeProblem(headers['content-type'], body);
  return problem ? { verdict: 'bad-error-shape', detail: `${status} ${problem}` } : { verdict: 'ok' };
}

/** Why an error body is not OpenAI error JSON, or null when it is. */
export function errorShapeProblem(contentType: string | undefined, body: Buffer | string): string | null {
  const text = typeof body === 'string' ? body : body.toString('utf8');
  if (!contentType?.toLowerCase().startsWith('application/json')) return `content-type ${contentType ?? '(none)'}: ${text.slice(0, 200)}`;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return `not JSON: ${text.slice(0, 200)}`;
  }
  const parsed = ErrorBody.safeParse(json);
  return parsed.success ? null : `not {error:{message,type,param,code}}: ${text.slice(0, 200)}`;
}

export class Tally {
  readonly counts: Record<Verdict, number> = { ok: 0, '5xx': 0, overload: 0, 'bad-error-shape': 0, 'no-response': 0 };
  readonly statuses = new Map<number, number>();
  readonly failures: string[] = [];

  get total(): number {
    return Object.values(this.counts).reduce((a, b) => a + b, 0);
  }

  add(outcome: RawOutcome, method: string, describe: () => string): Verdict {
    const { verdict, detail } = judge(outcome, method);
    this.counts[verdict]++;
    if (outcome.kind === 'response') this.statuses.set(outcome.response.status, (this.statuses.get(outcome.response.status) ?? 0) + 1);
    if (verdict !== 'ok' && this.failures.length < 10) this.failures.push(`${verdict}: ${detail ?? ''}\n  request: ${describe()}`);
    return verdict;
  }

  /** `400:123 401:45 …`, for the log. */
  statusSummary(): string {
    return [...this.statuses]
      .sort((a, b) => a[0] - b[0])
      .map(([s, n]) => `${s}:${n}`)
      .join(' ');
  }
}
