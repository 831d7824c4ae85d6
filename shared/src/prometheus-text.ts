/**
 * Prometheus exposition text (`text/plain; version=0.0.4`), the one format the metrics of edge and
 * origin speak, so every family (the origin's server and rollout, the edge's admin metrics, the
 * event-loop gauges of both) renders alike.
 */

export type Labels = Record<string, string>;

function labelText(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

/** A family of samples sharing name, type and help (exposition text, no trailing newline). */
export function family(name: string, type: 'counter' | 'gauge', help: string, samples: [Labels, number][]): string {
  const lines = [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`];
  for (const [labels, value] of samples) lines.push(`${name}${labelText(labels)} ${Number.isFinite(value) ? value : 0}`);
  return lines.join('\n');
}

/** A cumulative histogram (Prometheus `histogram` type): observations counted into upper bounds. */
export interface Histogram {
  observe(value: number): void;
  /** The family with `_bucket` (cumulative, `le` labels, `+Inf` last), `_sum` and `_count` samples. */
  render(name: string, help: string, labels: Labels): string;
}

/** A histogram over `bounds` (ascending upper bounds; `+Inf` is implied). */
export function createHistogram(bounds: readonly number[]): Histogram {
  if (bounds.some((b, i) => !Number.isFinite(b) || (i > 0 && b <= bounds[i - 1]!))) throw new RangeError('histogram bounds must be finite and ascending');
  const counts = new Array<number>(bounds.length + 1).fill(0);
  let sum = 0;
  let count = 0;
  return {
    observe(value) {
      let i = bounds.findIndex((b) => value <= b);
      if (i < 0) i = bounds.length;
      counts[i]!++;
      sum += value;
      count++;
    },
    render(name, help, labels) {
      const lines = [`# HELP ${name} ${help}`, `# TYPE ${name} histogram`];
      let cumulative = 0;
      bounds.forEach((b, i) => {
        cumulative += counts[i]!;
        lines.push(`${name}_bucket${labelText({ ...labels, le: String(b) })} ${cumulative}`);
      });
      lines.push(`${name}_bucket${labelText({ ...labels, le: '+Inf' })} ${count}`);
      lines.push(`${name}_sum${labelText(labels)} ${sum}`, `${name}_count${labelText(labels)} ${count}`);
      return lines.join('\n');
    },
  };
}
