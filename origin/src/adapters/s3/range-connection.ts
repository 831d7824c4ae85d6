/**
 * One keep-alive HTTP/1.1 connection that reads a ranged GET's body straight into the caller's
 * buffers (Node I/O).
 *
 * Why not node:http or the SDK: pulling weights on a small node is CPU-bound, and the generic
 * clients cost more CPU per byte than the hashing we must do anyway — a fresh 64 KiB Buffer per
 * socket read (garbage for the GC), the HTTP parser slicing every chunk, then our copy into the
 * part buffer. Here the socket's `onread` hands the kernel a buffer of the caller's sink, so the
 * body lands in place: no allocation, no copy, no parser on the body. When the sink is full the
 * socket pauses until it has room (TCP backpressure reaches the server). Only the
 * response head is parsed; a response this reader does not understand (no Content-Length,
 * chunked, a bad status line) is an error, never a guess.
 */
import net from 'node:net';
import tls from 'node:tls';
import { fillSink, type RangeSink } from '../../weights/object-store.ts';

const HEAD_LIMIT = 64 * 1024;
/**
 * At most this much per socket read. Reads of everything queued (up to the whole part) let the
 * receive window open in bursts; the sender then spent ~10% more CPU per MiB (s3rver on loopback,
 * pinned to its own core: our reader alone reached 85% of a bare fetcher's rate, 90% with 1 MiB
 * reads; the verifying sync went from 64% to 66%, medians of 5 paired rounds).
 */
const READ_CHUNK = 1024 * 1024;

export interface RangeResponseHead {
  status: number;
  headers: Record<string, string>;
  /** The error body (status other than 206), at most HEAD_LIMIT bytes. */
  errorBody?: string;
}

export class ConnectionError extends Error {
  override name = 'ConnectionError';
}

interface Pending {
  sink: RangeSink;
  /** Body bytes the caller expects (the range's length). */
  length: number;
  onBytes?: (n: number) => void;
  resolve: (h: RangeResponseHead) => void;
  reject: (e: Error) => void;
  /** Bytes of the response head collected so far (in `scratch`). */
  headLen: number;
  head: RangeResponseHead | null;
  /** Body bytes expected and received (into `sink` for 206, into `scratch` otherwise). */
  want: number;
  got: number;
}

export interface ConnectionTarget {
  protocol: 'http:' | 'https:';
  host: string;
  port: number;
}

export class RangeConnection {
  private readonly socket: net.Socket;
  private readonly scratch = Buffer.allocUnsafe(HEAD_LIMIT);
  private pending: Pending | null = null;
  private connected: Promise<void>;
  private rejectConnected: (err: Error) => void = () => undefined;
  /** False once the connection must not be reused (closed, errored, protocol out of step). */
  alive = true;

  constructor(t: ConnectionTarget, timeoutMs: number) {
    const onread = { buffer: () => this.nextBuffer(), callback: (n: number) => this.onRead(n) };
    // `onread` is honoured by both net and tls sockets (the TLS layer decrypts into our buffer).
    this.socket =
      t.protocol === 'https:'
        ? tls.connect({ host: t.host, port: t.port, servername: net.isIP(t.host) ? undefined : t.host, onread } as tls.ConnectionOptions)
        : net.connect({ host: t.host, port: t.port, onread } as net.NetConnectOpts);
    this.socket.setNoDelay(true);
    this.socket.setTimeout(timeoutMs, () => this.fail(new ConnectionError(`no data from ${t.host}:${t.port} for ${timeoutMs} ms`)));
    this.connected = new Promise((resolve, reject) => {
      this.socket.once(t.protocol === 'https:' ? 'secureConnect' : 'connect', () => resolve());
      // fail() settles it too: a socket destroyed without an error (abort, connect timeout)
      // emits no 'error', and a request waiting to connect must not wait forever.
      this.rejectConnected = reject;
    });
    this.connected.catch(() => undefined);
    this.socket.on('error', (err) => this.fail(new ConnectionError(err.message)));
    this.socket.on('close', () => this.fail(new ConnectionError('connection closed by the server')));
  }

  /** Send `head` (a full request head) and stream a 206 body of exactly `length` bytes into `sink`. */
  async request(head: string, sink: RangeSink, length: number, onBytes?: (n: number) => void): Promise<RangeResponseHead> {
    if (this.pending) throw new Error('RangeConnection: one request at a time');
    await this.connected;
    if (!this.alive) throw new ConnectionError('connection closed by the server');
    return new Promise((resolve, reject) => {
      this.pending = { sink, length, onBytes, resolve, reject, headLen: 0, head: null, want: 0, got: 0 };
      this.socket.write(head);
    });
  }

  /** Drop the connection (abort, or not worth keeping). */
  destroy(reason?: Error): void {
    this.fail(reason ?? new ConnectionError('connection closed'));
  }

  private nextBuffer(): Uint8Array {
    const p = this.pending;
    if (p?.head?.status === 206 && p.got < p.want) return p.sink.buffer(Math.min(p.want - p.got, READ_CHUNK));
    if (p?.head && p.head.status !== 206) return this.scratch.subarray(Math.min(p.got, HEAD_LIMIT - 1));
    // Reading the head (or idle: any byte arriving now is a protocol error, caught in onRead).
    return this.scratch.subarray(Math.min(p?.headLen ?? 0, HEAD_LIMIT - 1));
  }

  private onRead(n: number): boolean {
    const p = this.pending;
    if (!p) {
      this.fail(new ConnectionError('unexpected bytes on an idle connection'));
      return false;
    }
    if (p.head === null) return this.onHeadBytes(p, n);
    if (p.head.status !== 206) {
      p.got += n;
      if (p.got >= p.want || p.got >= HEAD_LIMIT - 1) return this.finishError(p);
      return true;
    }
    return this.body(p, n, p.sink.wrote(n));
  }

  /**
   * `n` body bytes went to the sink, which answered `full`. A complete body finishes at once (the
   * sink has every byte; its own writes are its business). Otherwise the socket pauses until the
   * sink has room. Nothing here may change where the next bytes go without a read: Node fetches
   * the next read's buffer right after each read, so a position moved later would be stale.
   */
  private body(p: Pending, n: number, full: Promise<void> | void): boolean {
    p.got += n;
    p.onBytes?.(n);
    if (p.got >= p.want) {
      full?.catch(() => undefined); // a write error reaches the sink's owner through the sink
      return this.finish(p);
    }
    if (full) {
      this.socket.pause();
      full.then(
        () => {
          if (this.pending === p) this.socket.resume();
        },
        (err: unknown) => this.fail(err instanceof Error ? err : new Error(String(err))),
      );
    }
    return true;
  }

  private onHeadBytes(p: Pending, n: number): boolean {
    const from = Math.max(0, p.headLen - 3);
    p.headLen += n;
    const end = this.scratch.subarray(0, p.headLen).indexOf('\r\n\r\n', from);
    if (end < 0) {
      if (p.headLen >= HEAD_LIMIT - 1) this.fail(new ConnectionError(`response head larger than ${HEAD_LIMIT} bytes`));
      return true;
    }
    const parsed = parseHead(this.scratch.toString('latin1', 0, end));
    if (typeof parsed === 'string') {
      this.fail(new ConnectionError(parsed));
      return false;
    }
    p.head = parsed;
    const extra = p.headLen - (end + 4);
    const len = parsed.headers['content-length'];
    if (parsed.headers['transfer-encoding'] || len === undefined || !/^\d+$/.test(len)) {
      if (parsed.status === 206) {
        this.fail(new ConnectionError('206 response without a Content-Length'));
        return false;
      }
      // An error answer without a length: keep what came, then drop the connection.
      this.scratch.copy(this.scratch, 0, end + 4, p.headLen);
      p.want = p.got = extra;
      this.close();
      return this.finishError(p);
    }
    p.want = Number(len);
    if (parsed.status === 206) {
      if (p.want !== p.length) {
        this.fail(new ConnectionError(`206 with Content-Length ${p.want}, expected ${p.length}`));
        return false;
      }
      if (extra > p.want) {
        this.fail(new ConnectionError('more body bytes than Content-Length'));
        return false;
      }
      if (extra === 0) return true;
      this.copyExtra(p, end + 4, p.headLen);
      return this.alive;
    }
    this.scratch.copy(this.scratch, 0, end + 4, p.headLen);
    p.got = extra;
    if (p.got >= p.want || p.got >= HEAD_LIMIT - 1) return this.finishError(p);
    return true;
  }

  /** Body bytes that came with the head, into the sink (which must take them before it is full). */
  private copyExtra(p: Pending, from: number, to: number): void {
    const { copied, full } = fillSink(p.sink, this.scratch.subarray(from, to));
    if (copied < to - from) {
      // Waiting would move the sink's position outside a read (see body()): a sink must take
      // at least a socket read's worth (HEAD_LIMIT) before it reports full.
      (full as Promise<void>).catch(() => undefined);
      this.fail(new Error(`range sink full after ${copied} bytes: it must accept ${HEAD_LIMIT} before pausing`));
      return;
    }
    this.body(p, copied, full);
  }

  private finish(p: Pending): boolean {
    this.pending = null;
    if (p.head!.headers.connection?.toLowerCase() === 'close') this.close();
    p.resolve(p.head!);
    return true;
  }

  private finishError(p: Pending): boolean {
    const head = p.head!;
    head.errorBody = this.scratch.toString('utf8', 0, Math.min(p.got, HEAD_LIMIT - 1));
    // A body we did not read to its end leaves the stream out of step: do not reuse it.
    if (p.got < p.want || head.headers.connection?.toLowerCase() === 'close') this.close();
    this.pending = null;
    p.resolve(head);
    return this.alive;
  }

  private close(): void {
    this.alive = false;
    this.socket.destroy();
  }

  private fail(err: Error): void {
    this.alive = false;
    this.rejectConnected(err);
    this.socket.destroy();
    const p = this.pending;
    this.pending = null;
    p?.reject(p.head?.status === 206 ? new ConnectionError(`${err.message} after ${p.got} of ${p.want} body bytes`) : err);
  }
}

/** Status line and headers (lower-cased names), or a message saying what is wrong. */
export function parseHead(text: string): RangeResponseHead | string {
  const lines = text.split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(lines[0] ?? '');
  if (!m) return `malformed status line '${(lines[0] ?? '').slice(0, 80)}'`;
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const i = line.indexOf(':');
    if (i <= 0) return `malformed header line '${line.slice(0, 80)}'`;
    headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return { status: Number(m[1]), headers };
}
