/**
 * Which S3 the weights CLI talks to, and what to say when it cannot. The same choice as `npm start`:
 *
 *   1. an endpoint the user gave (--endpoint, else MOTIF_S3_ENDPOINT), credentials by the AWS chain;
 *   2. none: the embedded S3 of the stack ($MOTIF_DATA_DIR/s3). If a running `npm start` (or
 *      `weights s3`) serves that data, the CLI uses its server; otherwise it serves the data
 *      in-process on a free port for the one command. It never starts a second server over data
 *      that is being served, and never binds the stack's port.
 *
 * Errors name the endpoint and where it was configured, in place of the SDK's stack.
 */
import { ApiError } from '#shared/errors.ts';
import { createS3Client, type S3ObjectStore, S3RVER_CREDENTIALS, s3ConfigFromEnv, startEmbeddedS3 } from '../adapters/s3/index.ts';
import type { S3ConfigInput } from '../weights/s3-settings.ts';
import { bucketFromEnv, findRunningEmbeddedS3, type LocalPaths } from './local-stack.ts';

export interface S3Target {
  endpoint: string;
  bucket: string;
  /** Where the endpoint came from, as the user would name it. */
  source: string;
  /** How to name this S3 in output: the endpoint, or the data dir of an in-process server (its port is gone after the command). */
  label: string;
  /** The user picked the endpoint (flag or env), rather than the embedded default. */
  configured: boolean;
}

export interface OpenedS3 {
  s3: S3ObjectStore;
  target: S3Target;
  close(): Promise<void>;
}

type Env = Record<string, string | undefined>;

/** s3rver wants its fixed keys, path-style URLs and no aws-chunked checksums. */
const embeddedConfig = (endpoint: string, bucket: string): S3ConfigInput => ({
  endpoint,
  bucket,
  region: 'us-east-1',
  forcePathStyle: true,
  relaxedChecksums: true,
  credentials: { ...S3RVER_CREDENTIALS },
});

const sameUrl = (a: string, b: string) => a.replace(/\/+$/, '') === b.replace(/\/+$/, '');

export async function openS3(o: { endpoint?: string; bucket?: string; env: Env; paths: LocalPaths; log: (line: string) => void }): Promise<OpenedS3> {
  const bucket = o.bucket ?? bucketFromEnv(o.env);
  const endpoint = o.endpoint ?? (o.env.MOTIF_S3_ENDPOINT || undefined);
  const running = await findRunningEmbeddedS3(o.paths.s3Dir);
  if (endpoint) {
    const source = o.endpoint ? '--endpoint' : 'MOTIF_S3_ENDPOINT';
    // Pointed at the stack's own embedded S3: use the settings s3rver needs (no AWS keys to set).
    const cfg = running && sameUrl(running.endpoint, endpoint) ? embeddedConfig(endpoint, bucket) : s3ConfigFromEnv(o.env, { endpoint, bucket });
    const s3 = createS3Client(cfg);
    return { s3, target: { endpoint, bucket, source, label: endpoint, configured: true }, close: async () => s3.destroy() };
  }
  if (running) {
    o.log(`weights: using the embedded S3 that pid ${running.pid} (npm start?) serves at ${running.endpoint} from ${o.paths.s3Dir}`);
    const s3 = createS3Client(embeddedConfig(running.endpoint, bucket));
    const target = { endpoint: running.endpoint, bucket, source: `the embedded S3 of pid ${running.pid}`, label: running.endpoint, configured: false };
    return { s3, target, close: async () => s3.destroy() };
  }
  const server = await startEmbeddedS3({ dir: o.paths.s3Dir, port: 0, bucket });
  o.log(`weights: no MOTIF_S3_ENDPOINT and no npm start serving ${o.paths.s3Dir}: serving it in-process for this command`);
  const s3 = createS3Client(server.config);
  const target = {
    endpoint: server.endpoint,
    bucket,
    source: `the in-process embedded S3 over ${o.paths.s3Dir}`,
    label: `the embedded S3 (${o.paths.s3Dir})`,
    configured: false,
  };
  return {
    s3,
    target,
    async close() {
      s3.destroy();
      await server.close();
    },
  };
}

const NETWORK: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'DNS lookup failed',
  ETIMEDOUT: 'connection timed out',
  ECONNRESET: 'connection reset',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EPROTO: 'TLS/protocol error',
  TimeoutError: 'request timed out',
};

/** The error and its causes, outermost first (bounded: cause chains can be cyclic). */
function chain(err: unknown): { name?: string; code?: string; message?: string }[] {
  const out: { name?: string; code?: string; message?: string }[] = [];
  for (let e = err, i = 0; e && typeof e === 'object' && i < 8; e = (e as { cause?: unknown }).cause, i++) out.push(e as never);
  return out;
}

/** Does anything answer HTTP at `endpoint`? (Any status will do; only no answer at all is "no".) */
export async function answersHttp(endpoint: string, timeoutMs = 3000): Promise<boolean> {
  const res = await fetch(endpoint, { signal: AbortSignal.timeout(timeoutMs) }).catch(() => null);
  await res?.body?.cancel();
  return res !== null;
}

/**
 * A one-line explanation of an S3 failure naming the endpoint and its source, or null when the
 * error is not about reaching S3 (its own message then says what is wrong). The SDK looks for
 * credentials before it connects, so a missing key pair hides an endpoint that is not there at
 * all: `reachable` is asked before blaming the credentials.
 */
export async function explainS3Error(
  err: unknown,
  t: S3Target,
  s3Dir: string,
  reachable: (endpoint: string) => Promise<boolean> = answersHttp,
): Promise<string | null> {
  const errs = chain(err);
  const at = `S3 at ${t.endpoint} (${t.source})`;
  const unset = t.configured && t.source === 'MOTIF_S3_ENDPOINT' ? ` Unset MOTIF_S3_ENDPOINT to use the embedded S3 of npm start (${s3Dir}).` : '';
  const unreachable = (why: string) =>
    `cannot reach ${at}: ${why}${t.configured ? ` — is it running, and is the URL right?${unset}` : ' — did the server stop?'}`;
  for (const e of errs) {
    const key = Object.keys(NETWORK).find((k) => e.code === k || e.name === k || (e.message ?? '').includes(k));
    if (key) return unreachable(NETWORK[key]!);
  }
  if (errs.some((e) => e.name === 'CredentialsProviderError')) {
    if (!(await reachable(t.endpoint))) return unreachable('no answer');
    return `no credentials for ${at}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE).${unset}`;
  }
  if (errs.some((e) => e.name === 'NoSuchBucket' || /NoSuchBucket|specified bucket does not exist/.test(e.message ?? ''))) {
    return `no bucket '${t.bucket}' in ${at}; pick one with MOTIF_S3_BUCKET or --bucket`;
  }
  if (err instanceof ApiError && err.code === 'permission_denied') return `${at} denied access to bucket '${t.bucket}' (check the credentials): ${err.message}`;
  return null;
}
