/**
 * `model-filter`: keep replicas that serve the requested model (and, when pinned, revision).
 */
import type { Filter } from '../types.ts';

export interface ModelFilterOptions {
  /** Only route to this weights revision (e.g. during a canary); undefined = any revision. */
  revision?: string;
}

/** Create the filter; validates options. */
export function modelFilter(opts: ModelFilterOptions = {}): Filter {
  if (opts.revision !== undefined && opts.revision.length === 0) throw new Error('model-filter: revision must not be empty');
  return {
    type: 'model-filter',
    filter: (req, cs) => cs.filter((c) => c.model === req.model && (opts.revision === undefined || c.revision === opts.revision)),
  };
}
