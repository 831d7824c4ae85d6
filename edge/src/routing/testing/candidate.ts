/** Routing tests' candidate: an idle, ready replica of model `m` at `http://<id>`, with overrides. */
import type { Candidate } from '../types.ts';

export function candidate(id: string, o: Partial<Candidate> = {}): Candidate {
  return {
    id,
    url: `http://${id}`,
    model: 'm',
    revision: 'r',
    state: 'ready',
    waiting: 0,
    running: 0,
    maxRunning: 8,
    kvUsage: 0,
    inflight: 0,
    ageMs: 0,
    ...o,
  };
}
