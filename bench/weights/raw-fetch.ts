/**
 * The endpoint's serving limit, measured the cheapest way a client can: parallel ranged GETs over
 * keep-alive sockets with node:http, bodies counted and dropped (no SDK, no hashing, no disk).
 * Anything a real downloader does costs on top of this.
 */
import http from 'node:http';

export interface RawObject {
  key: string;
  size: number;
}

/** Fetch every byte of `objects` from `endpoint/bucket` with `concurrency` ranged GETs; returns bytes. */
export async function rawFetchAll(o: { endpoint: string; bucket: string; objects: RawObject[]; partSize: number; concurrency: number }): Promise<number> {
  const url = new URL(o.endpoint);
  const agent = new http.Agent({ keepAlive: true, maxSockets: o.concurrency });
  const ranges: { key: string; start: number; end: number }[] = [];
  for (const ob of o.objects) for (let s = 0; s < ob.size; s += o.partSize) ranges.push({ key: ob.key, start: s, end: Math.min(ob.size, s + o.partSize) - 1 });
  let next = 0;
  let bytes = 0;
  const one = (r: (typeof ranges)[number]) =>
    new Promise<void>((resolve, reject) => {
      const req = http.get(
        {
          host: url.hostname, port: url.port, agent,
          path: `/${o.bucket}/${r.key.split('/').map(encodeURIComponent).join('/')}`,
          headers: { range: `bytes=${r.start}-${r.end}` },
        },
        (res) => {
          if (res.statusCode !== 206) return reject(new Error(`GET ${r.key} → ${res.statusCode}`));
          res.on('data', (c: Buffer) => (bytes += c.length));
          res.on('end', resolve);
          res.on('error', reject);
        },
      );
      req.on('error', reject);
    });
  await Promise.all(
    Array.from({ length: o.concurrency }, async () => {
      while (next < ranges.length) await one(ranges[next++]!);
    }),
  );
  agent.destroy();
  return bytes;
}
