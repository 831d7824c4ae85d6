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
