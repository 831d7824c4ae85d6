/**
 * Scheduler plugins registered by type string, and the profile config that selects them. The
 * profile is a zod schema whose enums come from the registry, so an unknown plugin name fails at
 * startup with a message naming it. A new plugin is a new folder plus one line here.
 */
import { z } from 'zod';
import { circuitFilter } from './circuit-filter/circuit-filter.ts';
import { inflightScorer } from './inflight-scorer/inflight-scorer.ts';
import { kvScorer } from './kv-scorer/kv-scorer.ts';
import { leastLoadPicker } from './least-load-picker/least-load-picker.ts';
import { maxScorePicker } from './max-score-picker/max-score-picker.ts';
import { modelFilter } from './model-filter/model-filter.ts';
import { prefillScorer } from './prefill-scorer/prefill-scorer.ts';
import { PrefixAffinityParams, prefixAffinityScorer } from './prefix-affinity-scorer/prefix-affinity-scorer.ts';
import { promptSizeFilter } from './prompt-size-filter/prompt-size-filter.ts';
import { queueScorer } from './queue-scorer/queue-scorer.ts';
import { readyFilter, readyFilterTtl } from './ready-filter/ready-filter.ts';
import { roundRobinPicker } from './round-robin-picker/round-robin-picker.ts';
import { saturationFilter } from './saturation-filter/saturation-filter.ts';
import { SessionAffinityParams, sessionAffinityScorer } from './session-affinity-scorer/session-affinity-scorer.ts';
import type { Filter, Picker, Scorer } from './types.ts';

const NoParams = z.object({}).strict();

/** A plugin without params: any param given is refused (strict), then the plugin is made. */
const withoutParams =
  <T>(make: () => T) =>
  (params: Record<string, unknown>): T => {
    NoParams.parse(params);
    return make();
  };

const ReadyFilterParams = z.object({ ttlMs: z.number().positive().optional() }).strict();

const FILTERS = {
  'model-filter': (params: Record<string, unknown>) => modelFilter(z.object({ revision: z.string().optional() }).strict().parse(params)),
  'ready-filter': (params: Record<string, unknown>) => readyFilter(ReadyFilterParams.parse(params)),
  'circuit-filter': withoutParams(circuitFilter),
  'prompt-size-filter': withoutParams(promptSizeFilter),
  'saturation-filter': (params: Record<string, unknown>) =>
    saturationFilter(
      z
        .object({ maxKvUsage: z.number().gt(0).max(1).optional() })
        .strict()
        .parse(params),
    ),
} as const satisfies Record<string, (p: Record<string, unknown>) => Filter>;

/** Scorers that remember what they routed (affinity) age their memory on `now`. */
const SCORERS = {
  'queue-scorer': withoutParams(queueScorer),
  'kv-scorer': withoutParams(kvScorer),
  'inflight-scorer': withoutParams(inflightScorer),
  'prefill-scorer': withoutParams(prefillScorer),
  'prefix-affinity-scorer': (params: Record<string, unknown>, now: () => number) => prefixAffinityScorer(PrefixAffinityParams.parse(params), now),
  'session-affinity-scorer': (params: Record<string, unknown>, now: () => number) => sessionAffinityScorer(SessionAffinityParams.parse(params), now),
} as const satisfies Record<string, (p: Record<string, unknown>, now: () => number) => Scorer>;

const PICKERS = {
  'max-score-picker': withoutParams(maxScorePicker),
  'least-load-picker': withoutParams(leastLoadPicker),
  'round-robin-picker': withoutParams(roundRobinPicker),
} as const satisfies Record<string, (p: Record<string, unknown>) => Picker>;

const FilterType = z.enum(Object.keys(FILTERS) as [keyof typeof FILTERS, ...(keyof typeof FILTERS)[]]);
const ScorerType = z.enum(Object.keys(SCORERS) as [keyof typeof SCORERS, ...(keyof typeof SCORERS)[]]);
const PickerType = z.enum(Object.keys(PICKERS) as [keyof typeof PICKERS, ...(keyof typeof PICKERS)[]]);
const Params = z.record(z.string(), z.unknown()).default({});

export const SchedulerProfile = z.object({
  filters: z.array(z.object({ type: FilterType, params: Params })),
  /** Each scorer's score in [0,1] counts `weight` times towards a candidate's total. */
  scorers: z.array(z.object({ type: ScorerType, weight: z.number().nonnegative().max(1000).default(1), params: Params }).strict()).default([]),
  picker: z.object({ type: PickerType, params: Params }),
});
export type SchedulerProfile = z.input<typeof SchedulerProfile>;

/**
 * The default profile: serve the model, ready and fresh, its circuit not open, with room for the
 * prompt and for one more request; then prefer where the prompt's prefix (or the session) was
 * served last, unless that replica is loaded well above the others, and otherwise the least
 * loaded. The prompt size is judged after rotation, among replicas in it: a prompt none of them
 * can fit is the client's 400 (even when the pool is busy), while no replica in rotation at all,
 * or none with room, is a 503. Within the bounded-load limit
 * affinity usually decides, past it load does (the weights are argued in routing/README.md).
 */
export const DEFAULT_PROFILE: SchedulerProfile = {
  filters: [{ type: 'model-filter' }, { type: 'ready-filter' }, { type: 'circuit-filter' }, { type: 'prompt-size-filter' }, { type: 'saturation-filter' }],
  scorers: [
    { type: 'queue-scorer', weight: 1 },
    { type: 'kv-scorer', weight: 1 },
    { type: 'inflight-scorer', weight: 1 },
    { type: 'prefill-scorer', weight: 1 },
    { type: 'prefix-affinity-scorer', weight: 2 },
    { type: 'session-affinity-scorer', weight: 1 },
  ],
  picker: { type: 'max-score-picker' },
};

/**
 * Profiles an operator (or the routing benchmark) can name instead of writing one: the default;
 * the load-only picker over the same filters; and round-robin, the baseline that ignores load and
 * affinity alike.
 */
export const NAMED_PROFILES = {
  default: DEFAULT_PROFILE,
  'least-loaded': { filters: DEFAULT_PROFILE.filters, picker: { type: 'least-load-picker' } },
  'round-robin': { filters: DEFAULT_PROFILE.filters, picker: { type: 'round-robin-picker' } },
} as const satisfies Record<string, SchedulerProfile>;

/**
 * A profile from configuration text: a name of NAMED_PROFILES or a JSON profile. Validated the
 * way the scheduler will build it, so a bad profile fails at startup naming the problem.
 */
export function parseProfile(text: string): SchedulerProfile {
  const named = (NAMED_PROFILES as Record<string, SchedulerProfile>)[text.trim()];
  if (named) return named;
  let profile: unknown;
  try {
    profile = JSON.parse(text);
  } catch {
    throw new Error(`expected one of ${Object.keys(NAMED_PROFILES).join(', ')} or a JSON profile (routing/README.md)`);
  }
  buildPlugins(profile, () => 0);
  return profile as SchedulerProfile;
}

/** A scorer of the profile with its weight. */
export interface WeightedScorer {
  scorer: Scorer;
  weight: number;
}

export interface Plugins {
  filters: Filter[];
  scorers: WeightedScorer[];
  picker: Picker;
  rotationTtlMs: number;
}

/**
 * Instantiate a profile's plugins, with the heartbeat TTL that decides rotation: the profile's
 * ready-filter's (the shortest if it has several), else the protocol default, so what the edge
 * reports matches what it routes to. An unknown plugin name or bad params throw an Error naming
 * where in the profile and what is allowed.
 */
export function buildPlugins(profile: unknown, now: () => number): Plugins {
  const p = valid([], () => SchedulerProfile.parse(profile));
  const filters = p.filters.map((f, i) => valid(['filters', i, 'params'], () => FILTERS[f.type](f.params)));
  const ttls = p.filters.filter((f) => f.type === 'ready-filter').map((f) => readyFilterTtl(ReadyFilterParams.parse(f.params)));
  return {
    filters,
    scorers: p.scorers.map((s, i) => ({ scorer: valid(['scorers', i, 'params'], () => SCORERS[s.type](s.params, now)), weight: s.weight })),
    picker: valid(['picker', 'params'], () => PICKERS[p.picker.type](p.picker.params)),
    rotationTtlMs: ttls.length > 0 ? Math.min(...ttls) : readyFilterTtl(),
  };
}

/** `make()`, its ZodError turned into one that says where in the profile (`at`) and what is wrong. */
function valid<T>(at: PropertyKey[], make: () => T): T {
  try {
    return make();
  } catch (err) {
    if (!(err instanceof z.ZodError)) throw err;
    const where = (path: PropertyKey[]) => [...at, ...path].map(String).join('.') || '(root)';
    throw new Error(`invalid scheduler profile: ${err.issues.map((i) => `${where(i.path)}: ${i.message}`).join('; ')}`, { cause: err });
  }
}
