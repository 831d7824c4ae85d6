/**
 * Flags of `npm run bench:edge`, parsed once (a bad flag stops the run with a message naming it).
 *
 *   --quick            one short round: a smoke run that the table prints (numbers meaningless)
 *   --rounds N         interleaved rounds (default 3); every round is printed, then the medians
 *   --phase-ms MS      length of each measured phase (default 3000), after a warm-up of its own
 *   --connections N    connections of the loaded phase (default 50)
 *   --cpu-prof         run the edge under `node --cpu-prof` and print its top self-time functions
 *   --no-pin           don't pin with taskset (default: edge on core 0, the rest on core 1)
 */
import { parseArgs } from 'node:util';
import { z } from 'zod';

export const BenchOptions = z.object({
  quick: z.boolean(),
  rounds: z.coerce.number().int().min(1).max(20),
  phaseMs: z.coerce.number().int().min(100).max(60_000),
  warmupMs: z.number().int().min(0),
  connections: z.coerce.number().int().min(2).max(200),
  cpuProf: z.boolean(),
  pin: z.boolean(),
});
export type BenchOptions = z.infer<typeof BenchOptions>;

/** Parse argv (without node and the script); throws an Error naming the bad flag. */
export function parseBenchArgs(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      rounds: { type: 'string' },
      'phase-ms': { type: 'string' },
      connections: { type: 'string', default: '50' },
      'cpu-prof': { type: 'boolean', default: false },
      'no-pin': { type: 'boolean', default: false },
    },
  });
  const quick = values.quick === true;
  const parsed = BenchOptions.safeParse({
    quick,
    rounds: values.rounds ?? (quick ? 1 : 3),
    phaseMs: values['phase-ms'] ?? (quick ? 300 : 3000),
    warmupMs: quick ? 100 : 500,
    connections: values.connections,
    cpuProf: values['cpu-prof'] === true,
    pin: values['no-pin'] !== true,
  });
  if (!parsed.success) {
    const flag = (k: string) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
    throw new Error(parsed.error.issues.map((i) => `${flag(String(i.path[0]))}: ${i.message}`).join('; '));
  }
  return parsed.data;
}
