/**
 * CLI: generate a deterministic random Motif checkpoint directory.
 *   tsx scripts/gen-model.ts --out <dir> --preset tiny|motif-2.6b [--seed N] [--dtype F32|BF16|F16] [--shards N]
 * Prints the directory, file count, size and throughput; exits 2 on bad arguments.
 */
import { parseArgs } from 'node:util';
import { toApiError } from '#shared/errors.ts';
import { type GenerateModelOptions, generateModel } from '../tools/model-gen/index.ts';

const USAGE = 'usage: gen-model --out <dir> --preset tiny|motif-2.6b [--seed N] [--dtype F32|BF16|F16] [--shards N]';

function intArg(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  // Left as a string when not a plain integer, so option validation reports it by name.
  return /^\d+$/.test(v) ? Number(v) : (v as unknown as number);
}

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        out: { type: 'string' },
        preset: { type: 'string' },
        seed: { type: 'string' },
        dtype: { type: 'string' },
        shards: { type: 'string' },
        help: { type: 'boolean' },
      },
      strict: true,
    }));
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (!values.out || !values.preset) {
    console.error(USAGE);
    return 2;
  }
  const tty = process.stderr.isTTY;
  let lastPct = -1;
  const opts = {
    outDir: values.out,
    preset: values.preset,
    seed: intArg(values.seed),
    dtype: values.dtype,
    shards: intArg(values.shards),
    onProgress: ({ bytes, totalBytes }: { bytes: number; totalBytes: number }) => {
      const pct = Math.floor((100 * bytes) / totalBytes);
      if (tty && pct !== lastPct) process.stderr.write(`\rwriting weights ${pct}%`);
      lastPct = pct;
    },
  } as GenerateModelOptions;
  const t0 = performance.now();
  try {
    const res = await generateModel(opts);
    const secs = (performance.now() - t0) / 1000;
    if (tty && lastPct >= 0) process.stderr.write('\n');
    const mb = res.bytes / 1e6;
    const how = lastPct < 0 ? 'already up to date' : `${secs.toFixed(1)} s, ${(mb / secs).toFixed(0)} MB/s`;
    console.log(`${res.dir}: ${res.files.length} files, ${mb.toFixed(1)} MB (${how})`);
    return 0;
  } catch (err) {
    const e = toApiError(err);
    console.error(`gen-model: ${e.message}`);
    return e.status === 400 || e.status === 409 ? 2 : 1;
  }
}

process.exitCode = await main();
