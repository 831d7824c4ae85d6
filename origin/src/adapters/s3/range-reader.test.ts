/**
 * createRangeReader against a scripted raw-TCP fake S3: the fake records each request head and
 * answers with bytes we choose, so framing, splitting, keep-alive and failure cases are exact.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import net, { type AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiError } from '#shared/errors.ts';
import { bufferSink, type RangeSink, type ReadRangeRequest } from '../../weights/object-store.ts';
import { parseS3Config } from '../../weights/s3-settings.ts';
import { NodeSha256 } from './node-sha256.ts';
import { createRangeReader, locate, type RangeReader } from './range-reader.ts';

interface Seen {
  line: string;
  headers: Record<string, string>;
  conn: number;
}
type Reply = (req: Seen, sock: net.Socket, n: number) => unknown;

const OBJ = randomBytes(300 * 1024 + 7);
/** What a sink must take before it may report full (range-connection.ts HEAD_LIMIT). */
const HEAD_BYTES = 64 * 1024;
const WHERE = 's3://b/dir/model.bin';
const cleanup: Array<() => unknown> = [];

afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function fakeS3(reply: Reply) {
  const seen: Seen[] = [];
  const open = new Set<net.Socket>();
  let conns = 0;
  const server = net.createServer((sock) => {
    const conn = conns++;
    open.add(sock);
    sock.setNoDelay(true);
    sock.on('close', () => open.delete(sock));
    sock.on('error', () => undefined);
    let buf = '';
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      for (let i = buf.indexOf('\r\n\r\n'); i >= 0; i = buf.indexOf('\r\n\r\n')) {
        const [line = '', ...rest] = buf.slice(0, i).split('\r\n');
        buf = buf.slice(i + 4);
        const headers = Object.fromEntries(rest.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
        const req = { line, headers, conn };
        seen.push(req);
        void reply(req, sock, seen.length - 1);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanup.push(() => {
    for (const s of open) s.destroy();
    return new Promise((r) => server.close(r));
  });
  return { port: (server.address() as AddressInfo).port, seen, connections: () => conns, openConnections: () => open.size };
}

function makeReader(port: number, opts: { timeoutMs?: number; protocol?: string } = {}): RangeReader {
  // config.bucket is only a default and must be 3+ chars; reads name bucket 'b' themselves.
  const config = parseS3Config({
    endpoint: `${opts.protocol ?? 'http'}://127.0.0.1:${port}`,
    bucket: 'bkt',
    forcePathStyle: true,
    credentials: { accessKeyId: 'AK', secretAccessKey: 'SK' },
  });
  const reader = createRangeReader(config, {
    credentials: async () => ({ accessKeyId: 'AK', secretAccessKey: 'SK' }),
    sha256: NodeSha256,
    timeoutMs: opts.timeoutMs ?? 3000,
  });
  cleanup.push(() => reader.destroy());
  return reader;
}

function read(reader: RangeReader, start: number, end: number, extra: Partial<ReadRangeRequest> = {}) {
  const target = new Uint8Array(end - start + 1);
  const got = { net: 0, max: 0, calls: 0 };
  const onBytes = (n: number) => {
    got.calls++;
    got.net += n;
    got.max = Math.max(got.max, got.net);
  };
  const done = reader.read('b', 'dir/model.bin', { start, end, sink: bufferSink(target), onBytes, ...extra }, WHERE);
  return { done, target, got };
}

function raw(status: string, headers: Record<string, string | number>, body: Uint8Array = Buffer.alloc(0)): Buffer {
  const head = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  return Buffer.concat([Buffer.from(`HTTP/1.1 ${status}\r\n${head}\r\n`, 'latin1'), body]);
}
function partial(req: Seen, headers: Record<string, string | number> = {}): Buffer {
  const [, s = 0, e = 0] = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '')?.map(Number) ?? [];
  const h = { 'Content-Length': e - s + 1, 'Content-Range': `bytes ${s}-${e}/${OBJ.length}`, ETag: '"e1"', ...headers };
  return raw('206 Partial Content', h, OBJ.subarray(s, e + 1));
}
const serve: Reply = (req, sock) => sock.write(partial(req));
const s3Error = (status: string, code: string) => {
  const xml = Buffer.from(`<?xml version="1.0"?><Error><Code>${code}</Code><Message>nope</Message></Error>`);
  return raw(status, { 'Content-Type': 'application/xml', 'Content-Length': xml.length }, xml);
};

async function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms)));
  return Promise.race([p, hung]).finally(() => clearTimeout(timer));
}
async function expectCode(p: Promise<unknown>, code: string, ms = 1500): Promise<ApiError> {
  const err = await within(p, ms).then(
    () => new Error('resolved'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApiError);
  expect(err).toMatchObject({ code });
  return err as ApiError;
}

/** Recompute the SigV4 signature from what went over the wire (path and header values as sent). */
function verifySigV4(req: Seen): void {
  const m = /^AWS4-HMAC-SHA256 Credential=AK\/(\d{8})\/us-east-1\/s3\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(
    req.headers.authorization ?? '',
  );
  expect(m, req.headers.authorization).not.toBeNull();
  const [, day = '', signed = '', signature] = m!;
  const names = signed.split(';');
  const canonical = [
    'GET',
    req.line.split(' ')[1],
    '',
    ...names.map((n) => `${n}:${req.headers[n]}`),
    '',
    signed,
    req.headers['x-amz-content-sha256'] ?? createHash('sha256').digest('hex'),
  ].join('\n');
  const scope = `${day}/us-east-1/s3/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', req.headers['x-amz-date'], scope, createHash('sha256').update(canonical).digest('hex')].join('\n');
  const key = [day, 'us-east-1', 's3', 'aws4_request'].reduce<Buffer>((k, part) => createHmac('sha256', k).update(part).digest(), Buffer.from('AWS4SK'));
  expect(createHmac('sha256', key).update(toSign).digest('hex')).toBe(signature);
}

describe('createRangeReader', () => {
  it('reads a 206 body into the target and sends a signed ranged GET', async () => {
    const s3 = await fakeS3(serve);
    const { done, target, got } = read(makeReader(s3.port), 1000, 1000 + 256 * 1024 + 2, { ifMatch: '"e1"' });
    await expect(within(done, 2000)).resolves.toEqual({ etag: '"e1"', size: OBJ.length });
    expect(Buffer.from(target).equals(OBJ.subarray(1000, 1000 + 256 * 1024 + 3))).toBe(true);
    expect(got.net).toBe(target.length);
    const [req] = s3.seen;
    expect(req?.line).toBe('GET /b/dir/model.bin HTTP/1.1');
    expect(req?.headers).toMatchObject({ host: `127.0.0.1:${s3.port}`, range: 'bytes=1000-263146', 'if-match': '"e1"' });
    expect(req?.headers['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/);
    expect(req?.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AK\/.*SignedHeaders=host;if-match;range;/);
    verifySigV4(req!);
  });

  async function dribble(sock: net.Socket, data: Buffer, sizes: number[]) {
    for (let off = 0, i = 0; off < data.length && !sock.destroyed; i++) {
      const n = sizes[Math.min(i, sizes.length - 1)]!;
      sock.write(data.subarray(off, off + n));
      off += n;
      await sleep(i % 4 === 0 ? 1 : 0);
    }
  }
  const HEAD_LEN = partial({ line: '', conn: 0, headers: { range: 'bytes=1000-5999' } }).length - 5000;
  it.each([
    ['head byte by byte, then odd-sized body chunks', [...Array<number>(HEAD_LEN + 3).fill(1), 7, 1, 13, 4093, 2, 333]],
    ['head plus a body prefix in one write, then odd chunks', [HEAD_LEN + 5, 1, 3, 4093, 17]],
    ['CRLFCRLF split across writes', [HEAD_LEN - 3, 2, 2, 4999]],
  ])('reassembles a response split into many writes: %s', async (_, sizes) => {
    const s3 = await fakeS3((req, sock) => dribble(sock, partial(req), sizes));
    const { done, target, got } = read(makeReader(s3.port), 1000, 5999);
    await expect(within(done, 3000)).resolves.toEqual({ etag: '"e1"', size: OBJ.length });
    expect(Buffer.from(target).equals(OBJ.subarray(1000, 6000))).toBe(true);
    expect(got.net).toBe(5000);
    expect(got.calls).toBeGreaterThan(1);
  });

  it('lands a body larger than one socket read (1 MiB) intact, a read at a time', async () => {
    const big = randomBytes(3 * 1024 * 1024 + 5);
    const s3 = await fakeS3((_req, sock) =>
      sock.write(raw('206 Partial Content', { 'Content-Length': big.length, 'Content-Range': `bytes 0-${big.length - 1}/${big.length}`, ETag: '"e1"' }, big)),
    );
    const target = new Uint8Array(big.length);
    const sizes: number[] = [];
    const done = makeReader(s3.port).read(
      'b',
      'dir/model.bin',
      { start: 0, end: big.length - 1, sink: bufferSink(target), onBytes: (n) => sizes.push(n) },
      WHERE,
    );
    await expect(within(done, 5000)).resolves.toEqual({ etag: '"e1"', size: big.length });
    expect(Buffer.from(target).equals(big)).toBe(true);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(1024 * 1024);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(big.length);
  });

  it('pauses while the sink is full and resumes when it has room; the body lands in order', async () => {
    const big = randomBytes(2 * 1024 * 1024 + 7);
    const s3 = await fakeS3((req, sock, n) =>
      n > 0
        ? sock.write(partial(req))
        : sock.write(
            raw('206 Partial Content', { 'Content-Length': big.length, 'Content-Range': `bytes 0-${big.length - 1}/${big.length}`, ETag: '"e1"' }, big),
          ),
    );
    const out: Buffer[] = [];
    const scratch = Buffer.alloc(100_000);
    let waits = 0;
    let busy = false;
    let landedWhileFull = 0;
    const sink: RangeSink = {
      // Node asks for the next buffer right after each read, even a paused socket's: handing one
      // out is fine, filling it before the sink has room is not.
      buffer: (max) => scratch.subarray(0, Math.min(max, scratch.length)),
      wrote: (n) => {
        if (busy) landedWhileFull++;
        out.push(Buffer.from(scratch.subarray(0, n)));
        // Every third read the sink is "full" for a moment (a disk write in flight).
        if (out.length % 3 !== 0) return;
        waits++;
        busy = true;
        return sleep(2).then(() => void (busy = false));
      },
    };
    const reader = makeReader(s3.port);
    const done = reader.read('b', 'dir/model.bin', { start: 0, end: big.length - 1, sink }, WHERE);
    await expect(within(done, 5000)).resolves.toEqual({ etag: '"e1"', size: big.length });
    expect(landedWhileFull).toBe(0);
    expect(waits).toBeGreaterThan(3);
    expect(Buffer.concat(out).equals(big)).toBe(true);
    // The connection is reusable afterwards (resumed, in step).
    const b = read(reader, 0, 99);
    await expect(within(b.done, 2000)).resolves.toMatchObject({ etag: '"e1"' });
  });

  it('a sink full at the end of a body does not leave the next response on the connection out of step', async () => {
    // Regression: finishing only once the sink had room left the socket's next read buffer at
    // a stale offset, so the next response's head was parsed from the previous one's bytes.
    const s3 = await fakeS3(serve);
    const reader = makeReader(s3.port);
    for (let i = 0; i < 3; i++) {
      const target = new Uint8Array(50_000);
      const inner = bufferSink(target);
      let slow: Promise<void> | null = null;
      const sink: RangeSink = {
        buffer: (max) => inner.buffer(max),
        wrote: (n) => {
          inner.wrote(n);
          // Full exactly when the last byte lands (a disk write still in flight).
          if (inner.filled === target.length) return (slow = sleep(20));
        },
      };
      const start = i * 1000;
      await expect(within(reader.read('b', 'dir/model.bin', { start, end: start + target.length - 1, sink }, WHERE), 2000)).resolves.toMatchObject({
        etag: '"e1"',
      });
      expect(slow).not.toBeNull();
      expect(Buffer.from(target).equals(OBJ.subarray(start, start + target.length))).toBe(true);
      const next = read(reader, 7, 99);
      await expect(within(next.done, 2000)).resolves.toMatchObject({ etag: '"e1"' });
      expect(Buffer.from(next.target).equals(OBJ.subarray(7, 100))).toBe(true);
    }
    expect(s3.connections()).toBe(1);
  });

  it('fails the read when the sink fails mid-body (a disk error), and drops the connection', async () => {
    const big = randomBytes(2 * 1024 * 1024);
    const s3 = await fakeS3((_req, sock) =>
      sock.write(raw('206 Partial Content', { 'Content-Length': big.length, 'Content-Range': `bytes 0-${big.length - 1}/${big.length}`, ETag: '"e1"' }, big)),
    );
    const scratch = Buffer.alloc(HEAD_BYTES);
    const sink: RangeSink = {
      buffer: (max) => scratch.subarray(0, Math.min(max, scratch.length)),
      wrote: () => Promise.reject(new Error('ENOSPC: no space left')),
    };
    const done = makeReader(s3.port).read('b', 'dir/model.bin', { start: 0, end: big.length - 1, sink }, WHERE);
    await expect(within(done, 2000)).rejects.toThrow(/ENOSPC/);
  });

  it('refuses a sink that is full before it took the body bytes that came with the head', async () => {
    const s3 = await fakeS3(serve);
    const tiny = Buffer.alloc(10);
    const sink: RangeSink = { buffer: (max) => tiny.subarray(0, Math.min(max, 10)), wrote: () => sleep(1) };
    const done = makeReader(s3.port).read('b', 'dir/model.bin', { start: 0, end: 70_000, sink }, WHERE);
    await expect(within(done, 2000)).rejects.toThrow(/range sink full after 10 bytes/);
  });

  it('reuses one keep-alive connection for sequential reads', async () => {
    const s3 = await fakeS3(serve);
    const reader = makeReader(s3.port);
    await within(read(reader, 0, 99).done, 2000);
    const b = read(reader, 100, 70_000);
    await within(b.done, 2000);
    expect(Buffer.from(b.target).equals(OBJ.subarray(100, 70_001))).toBe(true);
    expect(s3.seen.map((r) => r.conn)).toEqual([0, 0]);
    expect(s3.connections()).toBe(1);
  });

  it.each([
    ['404 Not Found', 'NoSuchKey', 'not_found'],
    ['412 Precondition Failed', 'PreconditionFailed', 'conflict'],
    ['403 Forbidden', 'AccessDenied', 'permission_denied'],
    ['503 Slow Down', 'SlowDown', 'origin_unavailable'],
  ])('maps %s (%s) to %s and keeps the connection', async (status, code, want) => {
    const s3 = await fakeS3((req, sock, n) => sock.write(n === 0 ? s3Error(status, code) : partial(req)));
    const reader = makeReader(s3.port);
    const first = read(reader, 0, 9);
    const err = await expectCode(first.done, want);
    expect(err.message).toContain(WHERE);
    expect(first.got.net).toBe(0);
    await within(read(reader, 0, 9).done, 1500);
    expect(s3.connections()).toBe(1);
  });

  it('maps an error answer without Content-Length that closes the connection', async () => {
    const s3 = await fakeS3((_, sock) =>
      sock.end(
        s3Error('404 Not Found', 'NoSuchKey')
          .toString('latin1')
          .replace(/Content-Length: \d+\r\n/, 'Connection: close\r\n'),
      ),
    );
    await expectCode(read(makeReader(s3.port), 0, 9).done, 'not_found');
  });

  it('refuses a Content-Range that does not match the requested range', async () => {
    const s3 = await fakeS3((_, sock) =>
      sock.write(raw('206 Partial Content', { 'Content-Length': 10, 'Content-Range': `bytes 0-9/${OBJ.length}` }, OBJ.subarray(0, 10))),
    );
    await expectCode(read(makeReader(s3.port), 10, 19).done, 'unprocessable_entity');
  });

  it('names the region on a 301 PermanentRedirect instead of retrying it', async () => {
    const s3 = await fakeS3((_, sock) => sock.write(s3Error('301 Moved Permanently', 'PermanentRedirect')));
    const err = await expectCode(read(makeReader(s3.port), 0, 9).done, 'invalid_request_error');
    expect(err.message).toMatch(/PermanentRedirect.*MOTIF_S3_REGION/);
  });

  it('refuses a store that ignores Range (HTTP 200 with the whole object), without retrying', async () => {
    const s3 = await fakeS3((_, sock) => sock.write(raw('200 OK', { 'Content-Length': OBJ.length, ETag: '"e1"' }, OBJ)));
    const err = await expectCode(read(makeReader(s3.port), 10, 19).done, 'unprocessable_entity');
    expect(err.message).toMatch(/ignored the Range header/);
  });

  it.each([1, -1])('fails fast on a 206 whose Content-Length is off by %i', async (delta) => {
    const s3 = await fakeS3((req, sock) => sock.write(partial(req, { 'Content-Length': 100 + delta })));
    await expectCode(read(makeReader(s3.port), 0, 99).done, 'origin_unavailable', 1000);
  });

  it.each([
    ['a garbage status line', 'SSH-2.0-OpenSSH_9.6\r\n\r\n'],
    ['a header line without a colon', 'HTTP/1.1 206 Partial Content\r\nContent-Length 10\r\n\r\n'],
    ['a chunked 206', 'HTTP/1.1 206 Partial Content\r\nTransfer-Encoding: chunked\r\n\r\na\r\n0123456789\r\n0\r\n\r\n'],
  ])('rejects %s as origin_unavailable', async (_, answer) => {
    const s3 = await fakeS3((__, sock) => sock.write(answer));
    await expectCode(read(makeReader(s3.port), 0, 9).done, 'origin_unavailable', 1000);
  });

  it('fails when the server closes mid-body and gives the delivered bytes back', async () => {
    const s3 = await fakeS3(async (req, sock) => {
      sock.write(partial(req).subarray(0, HEAD_LEN + 2000));
      await sleep(20);
      sock.destroy();
    });
    const { done, got } = read(makeReader(s3.port), 1000, 5999);
    const err = await expectCode(done, 'origin_unavailable');
    expect(err.message).toMatch(/after \d+ of 5000 body bytes/);
    expect(got.max).toBeGreaterThan(0);
    expect(got.net).toBe(0);
  });

  it('opens a new connection after the server closed an idle one', async () => {
    const s3 = await fakeS3((req, sock) => {
      sock.write(partial(req));
      setTimeout(() => sock.end(), 5);
    });
    const reader = makeReader(s3.port);
    await within(read(reader, 0, 9).done, 1500);
    // Closed on both ends, so the reader has seen the server's end (a fixed sleep can elapse
    // before a stalled event loop gets to it, and the request then goes out on the dead connection).
    while (s3.openConnections() > 0) await sleep(5);
    const b = read(reader, 10, 19);
    await expect(within(b.done, 1500)).resolves.toMatchObject({ etag: '"e1"' });
    expect(Buffer.from(b.target).equals(OBJ.subarray(10, 20))).toBe(true);
    expect(s3.seen.map((r) => r.conn)).toEqual([0, 1]);
  });

  it('retries once on a fresh connection when a reused one dies before answering', async () => {
    // The race a pool cannot see: the server drops the keep-alive connection as the request arrives.
    const s3 = await fakeS3((req, sock, n) => (n === 1 ? sock.destroy() : sock.write(partial(req))));
    const reader = makeReader(s3.port);
    await within(read(reader, 0, 9).done, 1500);
    const b = read(reader, 10, 19);
    await expect(within(b.done, 1500)).resolves.toMatchObject({ etag: '"e1"' });
    expect(Buffer.from(b.target).equals(OBJ.subarray(10, 20))).toBe(true);
    expect(s3.seen.map((r) => r.conn)).toEqual([0, 0, 1]);
  });

  it('does not retry more than once', async () => {
    const s3 = await fakeS3((req, sock, n) => (n === 0 ? sock.write(partial(req)) : sock.destroy()));
    const reader = makeReader(s3.port);
    await within(read(reader, 0, 9).done, 1500);
    await expectCode(read(reader, 10, 19).done, 'origin_unavailable');
    expect(s3.seen.map((r) => r.conn)).toEqual([0, 0, 1]);
  });

  it('rejects promptly with client_closed_request when aborted mid-body', async () => {
    const ctl = new AbortController();
    const s3 = await fakeS3((req, sock) => {
      sock.write(partial(req).subarray(0, HEAD_LEN + 1000));
      setTimeout(() => ctl.abort(), 30);
    });
    const t0 = Date.now();
    const { done, got } = read(makeReader(s3.port), 1000, 5999, { signal: ctl.signal });
    await expectCode(done, 'client_closed_request', 1000);
    expect(Date.now() - t0).toBeLessThan(500);
    expect(got.net).toBe(0);
  });

  it('rejects with client_closed_request when the signal is already aborted', async () => {
    const s3 = await fakeS3(serve);
    await expectCode(read(makeReader(s3.port), 0, 9, { signal: AbortSignal.abort() }).done, 'client_closed_request', 1000);
  });

  // A connection destroyed before it connects (abort, idle timeout) must still settle the read:
  // a TLS endpoint that never answers the ClientHello holds it in that state.
  it('rejects when aborted while the connection is still being set up', async () => {
    const s3 = await fakeS3(() => undefined);
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(), 50);
    await expectCode(read(makeReader(s3.port, { protocol: 'https' }), 0, 9, { signal: ctl.signal }).done, 'client_closed_request', 1000);
  });

  it('rejects when the idle timeout fires while the connection is still being set up', async () => {
    const s3 = await fakeS3(() => undefined);
    await expectCode(read(makeReader(s3.port, { protocol: 'https', timeoutMs: 100 }), 0, 9).done, 'origin_unavailable', 1000);
  });
});

describe('locate', () => {
  const region = 'us-east-1';
  it('uses path style when forced (and for IP endpoints)', () => {
    expect(locate({ endpoint: 'http://127.0.0.1:9000', region, forcePathStyle: true }, 'b', 'm/x.bin')).toEqual({
      protocol: 'http:',
      host: '127.0.0.1',
      port: 9000,
      hostHeader: '127.0.0.1:9000',
      path: '/b/m/x.bin',
    });
    expect(locate({ endpoint: 'http://127.0.0.1:9000', region, forcePathStyle: false }, 'weights', 'k').path).toBe('/weights/k');
  });

  it('uses virtual-host style on a named host', () => {
    expect(locate({ endpoint: 'https://s3.example.com', region, forcePathStyle: false }, 'weights', 'm/x.bin')).toEqual({
      protocol: 'https:',
      host: 'weights.s3.example.com',
      port: 443,
      hostHeader: 'weights.s3.example.com',
      path: '/m/x.bin',
    });
    // Dotted buckets would break the TLS wildcard: path style instead.
    expect(locate({ endpoint: 'https://s3.example.com', region, forcePathStyle: false }, 'my.weights', 'k')).toMatchObject({
      host: 's3.example.com',
      path: '/my.weights/k',
    });
  });

  it('defaults to the AWS regional endpoint', () => {
    expect(locate({ region: 'eu-west-1', forcePathStyle: false }, 'weights', 'k')).toEqual({
      protocol: 'https:',
      host: 'weights.s3.eu-west-1.amazonaws.com',
      port: 443,
      hostHeader: 'weights.s3.eu-west-1.amazonaws.com',
      path: '/k',
    });
  });

  it('percent-encodes each key segment and keeps the slashes', () => {
    expect(locate({ endpoint: 'http://127.0.0.1:9000', region, forcePathStyle: true }, 'b', "dir one/naïve ü/!'()*~-_.bin").path).toBe(
      '/b/dir%20one/na%C3%AFve%20%C3%BC/%21%27%28%29%2A~-_.bin',
    );
    expect(locate({ endpoint: 'https://gw.example.com/s3/', region, forcePathStyle: true }, 'b', 'a+b/c?d#e').path).toBe('/s3/b/a%2Bb/c%3Fd%23e');
  });
});
