import { describe, expect, it } from 'vitest';
import { s3ConfigFromEnv } from './s3-settings.ts';

describe('S3 config from env', () => {
  it('reads MOTIF_S3_* with defaults', () => {
    const c = s3ConfigFromEnv({
      MOTIF_S3_ENDPOINT: 'http://127.0.0.1:9000',
      MOTIF_S3_BUCKET: 'weights',
      MOTIF_S3_FORCE_PATH_STYLE: 'true',
      MOTIF_S3_RELAXED_CHECKSUMS: '1',
    });
    expect(c).toMatchObject({ endpoint: 'http://127.0.0.1:9000', bucket: 'weights', region: 'us-east-1', forcePathStyle: true, relaxedChecksums: true });
    expect(c.credentials).toBeUndefined();
  });

  it('lets explicit overrides win over env', () => {
    expect(s3ConfigFromEnv({ MOTIF_S3_BUCKET: 'env-bucket' }, { bucket: 'flag-bucket' }).bucket).toBe('flag-bucket');
  });

  it.each([
    [{ MOTIF_S3_BUCKET: 'b0', MOTIF_S3_FORCE_PATH_STYLE: 'maybe' }, /MOTIF_S3_FORCE_PATH_STYLE/],
    [{ MOTIF_S3_BUCKET: 'bucket', MOTIF_S3_ENDPOINT: 'ftp://x' }, /MOTIF_S3_ENDPOINT/],
    [{ MOTIF_S3_BUCKET: 'No_Such' }, /MOTIF_S3_BUCKET/],
    [{}, /MOTIF_S3_BUCKET is required/],
  ])('names the bad variable: %j', (env, why) => {
    expect(() => s3ConfigFromEnv(env)).toThrow(why);
  });
});
