/**
 * `npm run bench:roofline [-- --bytes=<n> --runs=<n>]`: the memory-bandwidth roofline of this
 * machine (native read loop in the kernels addon, 1 core and all cores, medians).
 */
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { loadKernelsAddon } from '../../origin/src/adapters/node/engine/kernels-addon/kernels-addon.ts';
import { formatRoofline, measureRoofline } from './measure.ts';

const Args = z.object({
  bytes: z.coerce
    .number()
    .int()
    .min(2 ** 20)
    .default(2 ** 30),
  runs: z.coerce.number().int().min(1).max(50).default(5),
});

const { values } = parseArgs({ options: { bytes: { type: 'string' }, runs: { type: 'string' } } });
const args = Args.safeParse(values);
if (!args.success) {
  console.error(`bench:roofline: ${args.error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('; ')}`);
  process.exit(2);
}
const addon = loadKernelsAddon({}, (m) => console.error(m));
if (!addon) {
  console.error('bench:roofline needs the native kernels addon (npm run build:kernels)');
  process.exit(1);
}
console.log(`kernels addon: ${addon.info.simd}, ${addon.info.threads} threads (${addon.info.arch})`);
for (const line of formatRoofline(await measureRoofline(addon, args.data))) console.log(line);
