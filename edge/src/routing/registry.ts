/**
 * Scheduler plugins registered by type string, and the profile config that selects them. The
 * profile is a zod schema whose enums come from the registry, so an unknown plugin name fails at
 * startup with a message naming it. A new plugin is a new folder plus one line here.
 */
import { z } from 'zod';
import { circuitFilter } from './circuit-filter/circuit-filter.ts';
import { leastLoadPicker } from './least-load-picker/least-load-picker.ts';
import { modelFilter } from './model-filter/model-filter.ts';
import { promptSizeFilter } from './prompt-size-filter/prompt-size-filter.ts';
import { readyFilter, readyFilterTtl } from './ready-filter/ready-filter.ts';
import type { Filter, Picker } from './types.ts';

const ReadyFilterParams = z.object({ ttlMs: z.number().positive().optional() }).strict();

const FILTERS = {
  'model-filter': (params: Record<string, unknown>) => modelFilter(z.object({ revision: z.string().optional() }).strict().parse(params)),
  'ready-filter': (params: Record<string, unknown>) => readyFilter(ReadyFilterParams.parse(params)),
  'circuit-filter': (params: Record<string, unknown>) => {
    z.object({}).strict().parse(params);
    return circuitFilter();
  },
  'prompt-size-filter': (params: Record<string, unknown>) => {
    z.object({}).strict().parse(params);
    return promptSizeFilter();
  },
} as const satisfies Record<string, (p: Record<string, unknown>) => Filter>;

const PICKERS = {
  'least-load-picker': (params: Record<string, unknown>) => {
    z.object({}).strict().parse(params);
    return leastLoadPicker();
  },
} as const satisfies Record<string, (p: Record<string, unknown>) => Picker>;

const FilterType = z.enum(Object.keys(FILTERS) as [keyof typeof FILTERS, ...(keyof typeof FILTERS)[]]);
const PickerType = z.enum(Object.keys(PICKERS) as [keyof typeof PICKERS, ...(keyof typeof PICKERS)[]]);

export const SchedulerProfile = z.object({
  filters: z.array(z.object({ type: FilterType, params: z.record(z.string(), z.unknown()).default({}) })),
  picker: z.object({ type: PickerType, params: z.record(z.string(), z.unknown()).default({}) }),
});
export type SchedulerProfile = z.infer<typeof SchedulerProfile>;

/**
 * The default profile: serve the model, ready and fresh, its circuit not open, with room for the
 * prompt, least loaded first. The prompt size is judged last, among replicas in rotation: a prompt none of them can
 * fit is the client's 400, while no replica in rotation at all is a 503.
 */
export const DEFAULT_PROFILE: SchedulerProfile = {
  filters: [
    { type: 'model-filter', params: {} },
    { type: 'ready-filter', params: {} },
    { type: 'circuit-filter', params: {} },
    { type: 'prompt-size-filter', params: {} },
  ],
  picker: { type: 'least-load-picker', params: {} },
};

/**
 * Instantiate a profile's plugins (throws a ZodError on unknown names or bad params), with the
 * heartbeat TTL that decides rotation: the profile's ready-filter's (the shortest if it has
 * several), else the protocol default, so what the edge reports matches what it routes to.
 */
export function buildPlugins(profile: unknown): { filters: Filter[]; picker: Picker; rotationTtlMs: number } {
  const p = SchedulerProfile.parse(profile);
  const filters = p.filters.map((f) => FILTERS[f.type](f.params));
  const ttls = p.filters.filter((f) => f.type === 'ready-filter').map((f) => readyFilterTtl(ReadyFilterParams.parse(f.params)));
  return {
    filters,
    picker: PICKERS[p.picker.type](p.picker.params),
    rotationTtlMs: ttls.length > 0 ? Math.min(...ttls) : readyFilterTtl(),
  };
}
