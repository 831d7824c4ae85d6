/**
 * A random multi-file "model" for weight-transfer benchmarks: `files` valid safetensors shards
 * (one U8 tensor each, random bytes) plus a config.json, `totalBytes` in all. Random so no layer
 * (disk, network, store) can compress or dedupe it.
 */
import { randomFillSync } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

/** Write the model into `dir`; returns its file names. */
export async function generateRandomModel(dir: string, totalBytes: number, files: number): Promise<string[]> {
  await fs.mkdir(dir, { recursive: true });
  const names: string[] = [];
  const per = Math.floor(totalBytes / files);
  const chunk = Buffer.alloc(16 * 1024 * 1024);
  for (let i = 0; i < files; i++) {
    const name = `model-${String(i + 1).padStart(5, '0')}-of-${String(files).padStart(5, '0')}.safetensors`;
    let json = JSON.stringify({ __metadata__: { format: 'pt' }, [`layer.${i}.weight`]: { dtype: 'U8', shape: [per], data_offsets: [0, per] } });
    json += ' '.repeat((8 - (json.length % 8)) % 8);
    const fh = await fs.open(path.join(dir, name), 'w');
    const head = Buffer.alloc(8);
    head.writeBigUInt64LE(BigInt(json.length));
    await fh.write(Buffer.concat([head, Buffer.from(json)]));
    for (let left = per; left > 0; left -= chunk.length) {
      const n = Math.min(left, chunk.length);
      randomFillSync(chunk, 0, n);
      await fh.write(chunk, 0, n);
    }
    await fh.close();
    names.push(name);
  }
  await fs.writeFile(path.join(dir, 'config.json'), JSON.stringify({ model_type: 'motif', note: 'random benchmark weights' }));
  return [...names, 'config.json'];
}
