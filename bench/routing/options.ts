/** `npm run bench:routing` flags (the header of run.ts lists them). */
import { DEFAULT_WORKLOAD, type WorkloadOptions } from './workload.ts';

export interface RoutingBenchOptions {
  replicas: number;
  clients: number;
  maxTokens: number;
  workload: WorkloadOptions;
  /** Each replica's engine slots (`MOTIF_MAX_RUNNING`). */
  maxRunning: number;
  /** Run one workload only (`--only shared|unique`). */
  only?: 'shared' | 'unique';
}

export function parseRoutingArgs(argv: readonly string[]): RoutingBenchOptions {
  const o: RoutingBenchOptions = { replicas: 8, clients: 32, maxTokens: 32, maxRunning: 8, workload: { ...DEFAULT_WORKLOAD } };
  const num = (flag: string, v: string | undefined) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`${flag} needs a positive integer, got ${v}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--quick') Object.assign(o, { replicas: 4, clients: 12, workload: { ...o.workload, sessions: 16, turns: 4 } });
    else if (a === '--replicas') o.replicas = num(a, argv[++i]);
    else if (a === '--clients') o.clients = num(a, argv[++i]);
    else if (a === '--max-tokens') o.maxTokens = num(a, argv[++i]);
    else if (a === '--max-running') o.maxRunning = num(a, argv[++i]);
    else if (a === '--sessions') o.workload.sessions = num(a, argv[++i]);
    else if (a === '--turns') o.workload.turns = num(a, argv[++i]);
    else if (a === '--only') {
      const w = argv[++i];
      if (w !== 'shared' && w !== 'unique') throw new Error(`--only needs shared or unique, got ${w}`);
      o.only = w;
    } else if (a === '--user-bytes') o.workload.userBytes = num(a, argv[++i]);
    else if (a === '--system-bytes') o.workload.systemBytes = num(a, argv[++i]);
    else throw new Error(`unknown argument: ${a} (see the header of bench/routing/run.ts)`);
  }
  return o;
}
