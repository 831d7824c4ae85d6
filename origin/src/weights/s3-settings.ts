/**
 * S3 connection settings (zod, validated once at start). Works for AWS S3, MinIO, Ceph RGW, R2 and
 * the embedded s3rver. Credentials come from the standard AWS chain (AWS_ACCESS_KEY_ID, profiles,
 * instance roles, …) unless given explicitly (the embedded server's fixed key pair is).
 * Pure, so the origin's config (config.ts) can read them from the environment; adapters/s3 builds
 * clients from the parsed settings.
 */
import { z } from 'zod';
import { ApiError } from '#shared/errors.ts';

const boolFromEnv = z.enum(['1', '0', 'true', 'false', 'yes', 'no']).transform((v) => v === '1' || v === 'true' || v === 'yes');

export const S3Config = z.object({
  /** Custom endpoint (MinIO, RGW, R2, s3rver); absent = AWS. */
  endpoint: z.url({ protocol: /^https?$/ }).optional(),
  region: z.string().min(1).default('us-east-1'),
  /** Default bucket for callers that take it from the config. */
  bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'bucket names are 3-63 chars of a-z 0-9 . -'),
  /** Path-style URLs (http://host/bucket/key): MinIO, RGW and s3rver want them. */
  forcePathStyle: z.boolean().default(false),
  /**
   * Turn off the SDK's default request checksums and response validation (WHEN_REQUIRED). Needed
   * for stores that mishandle aws-chunked uploads (s3rver stores the chunk framing); integrity
   * then rests on the manifest's sha256, which sync always verifies.
   */
  relaxedChecksums: z.boolean().default(false),
  credentials: z.object({ accessKeyId: z.string().min(1), secretAccessKey: z.string().min(1), sessionToken: z.string().optional() }).optional(),
  /**
   * Ranged GETs of weights sync on the lean reader (adapters/s3/range-reader.ts: signed by the SDK's signer,
   * bodies read straight into the part buffers) instead of the SDK's HTTP stack. Off = SDK path.
   */
  directReads: z.boolean().default(true),
  /** Open sockets per host; must exceed the download/upload concurrency. */
  maxSockets: z.number().int().min(1).max(1024).default(64),
});
export type S3Config = z.infer<typeof S3Config>;
export type S3ConfigInput = z.input<typeof S3Config>;

const ENV_NAMES: Record<string, string> = {
  endpoint: 'MOTIF_S3_ENDPOINT',
  region: 'MOTIF_S3_REGION',
  bucket: 'MOTIF_S3_BUCKET',
  forcePathStyle: 'MOTIF_S3_FORCE_PATH_STYLE',
  relaxedChecksums: 'MOTIF_S3_RELAXED_CHECKSUMS',
  directReads: 'MOTIF_S3_DIRECT_READS',
};

const S3Env = z.object({
  MOTIF_S3_ENDPOINT: z.string().optional(),
  MOTIF_S3_REGION: z.string().optional(),
  MOTIF_S3_BUCKET: z.string().optional(),
  MOTIF_S3_FORCE_PATH_STYLE: boolFromEnv.optional(),
  MOTIF_S3_RELAXED_CHECKSUMS: boolFromEnv.optional(),
  MOTIF_S3_DIRECT_READS: boolFromEnv.optional(),
});

/**
 * The S3 config from environment variables (MOTIF_S3_ENDPOINT, MOTIF_S3_BUCKET, MOTIF_S3_REGION,
 * MOTIF_S3_FORCE_PATH_STYLE, MOTIF_S3_RELAXED_CHECKSUMS) merged over `overrides`. A bad value throws an
 * ApiError naming the variable and what was expected.
 */
export function s3ConfigFromEnv(env: Record<string, string | undefined>, overrides: Partial<S3ConfigInput> = {}): S3Config {
  const e = S3Env.safeParse(env);
  if (!e.success) {
    const issue = e.error.issues[0];
    throw new ApiError('invalid_request_error', `Invalid ${String(issue?.path[0])}: ${issue?.message}`, { param: String(issue?.path[0]) });
  }
  const v = e.data;
  const input: Record<string, unknown> = {
    ...(v.MOTIF_S3_ENDPOINT ? { endpoint: v.MOTIF_S3_ENDPOINT } : {}),
    ...(v.MOTIF_S3_REGION ? { region: v.MOTIF_S3_REGION } : {}),
    ...(v.MOTIF_S3_BUCKET ? { bucket: v.MOTIF_S3_BUCKET } : {}),
    ...(v.MOTIF_S3_FORCE_PATH_STYLE !== undefined ? { forcePathStyle: v.MOTIF_S3_FORCE_PATH_STYLE } : {}),
    ...(v.MOTIF_S3_RELAXED_CHECKSUMS !== undefined ? { relaxedChecksums: v.MOTIF_S3_RELAXED_CHECKSUMS } : {}),
    ...(v.MOTIF_S3_DIRECT_READS !== undefined ? { directReads: v.MOTIF_S3_DIRECT_READS } : {}),
    ...stripUndefined(overrides),
  };
  return parseS3Config(input, (field) => ENV_NAMES[field] ?? field);
}

/** Validate a config object; errors name the field (or, via `nameOf`, the env variable). */
export function parseS3Config(input: unknown, nameOf: (field: string) => string = (f) => f): S3Config {
  const r = S3Config.safeParse(input);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const field = issue && issue.path.length > 0 ? String(issue.path[0]) : 'config';
  const name = nameOf(field);
  const msg = issue?.code === 'invalid_type' && issue.input === undefined ? `${name} is required` : `Invalid ${name}: ${issue?.message}`;
  throw new ApiError('invalid_request_error', `S3 config: ${msg}`, { param: name });
}

function stripUndefined(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}
