/**
 * The endpoint's serving limit: the same bytes fetched as parallel ranged GETs into nothing — no
 * signing, no hashing, no disk. Three independent fetchers, because "the cheapest client" is an
 * empirical question on a 2-core machine where the client's CPU is taken from the server's:
 *   - curl     `curl --parallel` over keep-alive connections, bodies to /dev/null (when installed)
 *   - http     node:http keep-alive agent, bodies counted and dropped
 *   - socket   bare keep-alive sockets, bodies read by `onread` into one scratch buffer per socket
 * The bench takes the best of them as the limit a downloader is measured against.
 *
 * The socket fetcher also runs signed (`sign` given: SigV4 on every request, as any client of a
 * real S3 must send), because checking a signature is the endpoint's work that a signing
 * downloader cannot avoid (against s3rver here it measured within noise of anonymous GETs).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface RawObject {
  key: string;
  size: number;
}

export interface RawFetchInput {
  endpoint: string;
  bucket: string;
  objects: RawObject[];
  partSize: number;
  concurrency: number;
  /** Sign each request (SigV4): returns the request's header lines. Absent = anonymous GETs. */
  sign?: (path: string, range: string) => Promise<Record<string, string>>;
}

interface Range {
  path: string;
  start: number;
  end: number;
}

function rangesOf(o: RawFetchInput): Range[] {
  const out: Range[] = [];
  for (const ob of o.objects) {
    const p = `/${o.bucket}/${ob.key.split('/').map(encodeURIComponent).join('/')}`;
    for (let s = 0; s < ob.size; s += o.partSize) out.push({ path: p, start: s, end: Math.min(ob.size, s + o.partSize) - 1 });
  }
  return out;
}

const total = (rs: Range[]) => rs.reduce((a, r) => a + r.end - r.start + 1, 0);

/** node:http with a keep-alive agent; returns bytes received. */
export async function httpFetchAll(o: RawFetchInput): Promise<number> {
  const url = new URL(o.endpoint);
  const agent = new http.Agent({ keepAlive: true, maxSockets: o.concurrency });
  const ranges = rangesOf(o);
  let next = 0;
  let bytes = 0;
  const one = (r: Range) =>
    new Promise<void>((resolve, reject) => {
      const req = http.get({ host: url.hostname, port: url.port, agent, path: r.path, headers: { range: `bytes=${r.start}-${r.end}` } }, (res) => {
        if (res.statusCode !== 206) return reject(new Error(`GET ${r.path} → ${res.statusCode}`));
        res.on('data', (c: Buffer) => (bytes += c.length));
        res.on('end', resolve);
        res.on('error', reject);
      });
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

/** Bare sockets, one request at a time each, bodies read into a reused scratch buffer. */
export async function socketFetchAll(o: RawFetchInput): Promise<number> {
  const url = new URL(o.endpoint);
  const ranges = rangesOf(o);
  let next = 0;
  let bytes = 0;
  await Promise.all(
    Array.from({ length: o.concurrency }, async () => {
      const scratch = Buffer.allocUnsafe(1024 * 1024);
      let left = -1; // body bytes still to come; -1 while reading a head
      let head = '';
      let done: (() => void) | null = null;
      let fail: ((e: Error) => void) | null = null;
      const sock = net.connect({
        host: url.hostname,
        port: Number(url.port),
        onread: {
          buffer: scratch,
          callback: (n: number) => {
            let body = 0;
            if (left < 0) {
              head += scratch.toString('latin1', 0, n);
              const end = head.indexOf('\r\n\r\n');
              if (end < 0) return true;
              const len = /\r\ncontent-length: *(\d+)/i.exec(head);
              if (!head.startsWith('HTTP/1.1 206') || !len) {
                fail?.(new Error(`unexpected response: ${head.slice(0, 80)}`));
                return false;
              }
              body = head.length - end - 4;
              left = Number(len[1]) - body;
              head = '';
            } else {
              body = n;
              left -= n;
            }
            bytes += body;
            if (left === 0) {
              left = -1;
              done?.();
            }
            return true;
          },
        },
      } as net.NetConnectOpts);
      await new Promise<void>((resolve, reject) => sock.once('connect', resolve).once('error', reject));
      while (next < ranges.length) {
        const r = ranges[next++]!;
        const range = `bytes=${r.start}-${r.end}`;
        let head = `GET ${r.path} HTTP/1.1\r\n`;
        const headers = o.sign ? await o.sign(r.path, range) : { host: url.host, range };
        for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
        await new Promise<void>((resolve, reject) => {
          done = resolve;
          fail = reject;
          sock.write(`${head}\r\n`);
        });
      }
      sock.destroy();
    }),
  );
  return bytes;
}

/** curl --parallel into /dev/null; null when curl is not installed. */
export function curlFetchAll(o: RawFetchInput): number | null {
  const ranges = rangesOf(o);
  const cfg = path.join(os.tmpdir(), `motif-bench-curl-${process.pid}.cfg`);
  const base = o.endpoint.replace(/\/+$/, '');
  fs.writeFileSync(cfg, ranges.map((r) => `url = "${base}${r.path}"\nrange = "${r.start}-${r.end}"\noutput = "/dev/null"\n`).join('next\n'));
  try {
    const r = spawnSync('curl', ['--silent', '--show-error', '--fail', '--parallel', '--parallel-max', String(o.concurrency), '--config', cfg], {
      encoding: 'utf8',
    });
    if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    if (r.status !== 0) throw new Error(`curl failed (${r.status}): ${r.stderr}`);
    return total(ranges);
  } finally {
    fs.rmSync(cfg, { force: true });
  }
}
