/**
 * Signed ranged GETs that land in a caller's sink: the hot path of weights sync (Node I/O).
 *
 * Requests are signed with SigV4 by the SDK's own signer, credentials provider and sha256 (so the
 * AWS credential chain, session tokens and refresh behave exactly as for the SDK client), and sent
 * on a small pool of keep-alive RangeConnections. Everything else (HEAD, list, upload, small
 * objects) stays on the SDK client.
 */
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, ChecksumConstructor, HashConstructor, Provider } from '@smithy/types';
import { ApiError } from '#shared/errors.ts';
import type { ReadRangeRequest } from '../../weights/object-store.ts';
import type { S3Config } from '../../weights/s3-settings.ts';
import { mapError } from './map-error.ts';
import { ConnectionError, type ConnectionTarget, RangeConnection } from './range-connection.ts';

export interface RangeReaderDeps {
  credentials: Provider<AwsCredentialIdentity>;
  sha256: ChecksumConstructor | HashConstructor;
  /** Idle timeout per connection (no byte for this long fails the part). */
  timeoutMs?: number;
}

export interface RangeReader {
  /** Stream bytes [start, end] of the object into `req.sink`; returns its ETag and total size. */
  read(bucket: string, key: string, req: ReadRangeRequest, where: string): Promise<{ etag: string; size: number }>;
  destroy(): void;
}

/** Where a request for `bucket/key` goes: the SDK's addressing rules for path and virtual-host style. */
export function locate(
  config: Pick<S3Config, 'endpoint' | 'region' | 'forcePathStyle'>,
  bucket: string,
  key: string,
): ConnectionTarget & { hostHeader: string; path: string } {
  const base = new URL(config.endpoint ?? `https://s3.${config.region}.amazonaws.com`);
  const protocol = base.protocol === 'http:' ? 'http:' : 'https:';
  const port = base.port ? Number(base.port) : protocol === 'http:' ? 80 : 443;
  const encKey = key.split('/').map(encodeS3).join('/');
  const prefix = base.pathname.replace(/\/+$/, '');
  // Virtual-host style needs a DNS-safe bucket without dots (TLS wildcard) and a named host.
  const virtual = !config.forcePathStyle && /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(bucket) && !isIpOrLocal(base.hostname);
  const host = virtual ? `${bucket}.${base.hostname}` : base.hostname;
  return {
    protocol,
    host,
    port,
    hostHeader: base.port ? `${host}:${base.port}` : host,
    path: virtual ? `${prefix}/${encKey}` : `${prefix}/${bucket}/${encKey}`,
  };
}

export function createRangeReader(config: S3Config, deps: RangeReaderDeps): RangeReader {
  const signer = new SignatureV4({ credentials: deps.credentials, region: config.region, service: 's3', sha256: deps.sha256, uriEscapePath: false });
  const timeoutMs = deps.timeoutMs ?? 30_000;
  const idle = new Map<string, RangeConnection[]>();
  let destroyed = false;

  const take = (t: ConnectionTarget): { conn: RangeConnection; reused: boolean } => {
    const list = idle.get(`${t.protocol}//${t.host}:${t.port}`) ?? [];
    for (let c = list.pop(); c; c = list.pop()) if (c.alive) return { conn: c, reused: true };
    return { conn: new RangeConnection(t, timeoutMs), reused: false };
  };
  const give = (t: ConnectionTarget, conn: RangeConnection) => {
    if (!conn.alive || destroyed) return conn.destroy();
    const id = `${t.protocol}//${t.host}:${t.port}`;
    const list = idle.get(id) ?? [];
    // Bounded by the callers' concurrency: at most one idle connection per part in flight.
    if (list.length >= config.maxSockets) return conn.destroy();
    list.push(conn);
    idle.set(id, list);
  };

  async function once(bucket: string, key: string, req: ReadRangeRequest, where: string, fresh: boolean): Promise<{ etag: string; size: number }> {
    const aborted = () => new ApiError('client_closed_request', `Aborted: ${where}`, { cause: req.signal?.reason });
    if (req.signal?.aborted) throw aborted();
    const loc = locate(config, bucket, key);
    const headers: Record<string, string> = { host: loc.hostHeader, range: `bytes=${req.start}-${req.end}` };
    if (req.ifMatch) headers['if-match'] = req.ifMatch;
    // Signing resolves credentials (instance roles, SSO…): its failures are S3 errors too.
    const signed = await signer
      .sign({ method: 'GET', protocol: loc.protocol, hostname: loc.host, port: loc.port, path: loc.path, query: {}, headers })
      .catch((err: unknown) => {
        throw mapError(err, where);
      });
    let head = `GET ${loc.path} HTTP/1.1\r\n`;
    for (const [k, v] of Object.entries(signed.headers)) head += `${k}: ${v}\r\n`;
    head += '\r\n';
    if (req.signal?.aborted) throw aborted();
    const { conn, reused } = fresh ? { conn: new RangeConnection(loc, timeoutMs), reused: false } : take(loc);
    let delivered = 0;
    const onBytes = (n: number) => {
      delivered += n;
      req.onBytes?.(n);
    };
    const onAbort = () => conn.destroy(new ConnectionError('aborted'));
    req.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const res = await conn.request(head, req.sink, req.end - req.start + 1, onBytes);
      give(loc, conn);
      if (res.status === 200) {
        // The whole object instead of the range: a store (or proxy) that ignores Range. Retrying won't help.
        throw new ApiError('unprocessable_entity', `${where} ignored the Range header (HTTP 200 for bytes=${req.start}-${req.end}); ranged GETs are required`);
      }
      if (res.status !== 206) throw statusError(res.status, res.errorBody ?? '', where);
      const cr = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(res.headers['content-range'] ?? '');
      if (!cr || Number(cr[1]) !== req.start || Number(cr[2]) !== req.end) {
        throw new ApiError(
          'unprocessable_entity',
          `${where} answered range bytes=${req.start}-${req.end} with Content-Range '${res.headers['content-range'] ?? ''}'`,
        );
      }
      return { etag: res.headers.etag ?? '', size: Number(cr[3]) };
    } catch (err) {
      if (delivered > 0) req.onBytes?.(-delivered);
      if (req.signal?.aborted) throw aborted();
      if (err instanceof ConnectionError) {
        // A pooled keep-alive connection the server had already closed: retry once on a new one.
        if (reused && delivered === 0) return once(bucket, key, req, where, true);
        throw new ApiError('origin_unavailable', `S3 unreachable or failing for ${where} — ${err.message}`, { cause: err });
      }
      throw err instanceof ApiError ? err : mapError(err, where);
    } finally {
      req.signal?.removeEventListener('abort', onAbort);
    }
  }

  return {
    read: (bucket, key, req, where) => once(bucket, key, req, where, false),
    destroy() {
      destroyed = true;
      for (const list of idle.values()) for (const c of list) c.destroy();
      idle.clear();
    },
  };
}

/** An S3 error answer (status + XML body) as the port's ApiError, with S3's own error code. */
function statusError(status: number, body: string, where: string): ApiError {
  const code = /<Code>([^<]{1,64})<\/Code>/.exec(body)?.[1];
  const message = /<Message>([^<]{1,300})<\/Message>/.exec(body)?.[1];
  if (status >= 300 && status < 400) {
    // S3 answers a request sent to the wrong region's endpoint with 301 PermanentRedirect: not transient.
    return new ApiError(
      'invalid_request_error',
      `${where} answered HTTP ${status}${code ? ` ${code}` : ''}${message ? `: ${message}` : ''} — check MOTIF_S3_REGION and MOTIF_S3_ENDPOINT`,
    );
  }
  return mapError({ name: code ?? `HTTP${status}`, message, $metadata: { httpStatusCode: status } }, where);
}

/** RFC 3986 unreserved stay; everything else percent-encoded (what SigV4 expects for S3 keys). */
function encodeS3(segment: string): string {
  return encodeURIComponent(segment).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function isIpOrLocal(host: string): boolean {
  return host === 'localhost' || /^\d+\.\d+\.\d+\.\d+$/.test(host) || host.startsWith('[');
}
