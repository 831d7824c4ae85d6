import { describe, expect, it } from 'vitest';
import { ApiError } from '#shared/errors.ts';
import { explainS3Error, type S3Target } from './weights-s3.ts';

const configured: S3Target = {
  endpoint: 'http://127.0.0.1:4690',
  bucket: 'motif-weights',
  source: 'MOTIF_S3_ENDPOINT',
  label: 'http://127.0.0.1:4690',
  configured: true,
};
const embedded: S3Target = { ...configured, source: 'the embedded S3 of pid 42', configured: false };
const S3_DIR = '/repo/.data/s3';

/** What the S3 adapter throws: an ApiError wrapping the SDK's (or the socket's) error. */
function wrapped(cause: object, message = 'S3 unreachable or failing for s3://motif-weights/models/ (endpoint http://127.0.0.1:4690)'): ApiError {
  return new ApiError('origin_unavailable', message, { cause });
}
const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4690'), { code: 'ECONNREFUSED' });
const noCredentials = Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' });

describe('explainS3Error', () => {
  it('names the endpoint and the variable that set it when nothing listens', async () => {
    expect(await explainS3Error(wrapped(refused), configured, S3_DIR)).toBe(
      'cannot reach S3 at http://127.0.0.1:4690 (MOTIF_S3_ENDPOINT): connection refused — is it running, and is the URL right? ' +
        'Unset MOTIF_S3_ENDPOINT to use the embedded S3 of npm start (/repo/.data/s3).',
    );
  });

  it('finds the network error by message too (the direct range reader keeps only the text)', async () => {
    expect(await explainS3Error(wrapped(new Error('getaddrinfo ENOTFOUND minio.local')), { ...configured, source: '--endpoint' }, S3_DIR)).toBe(
      'cannot reach S3 at http://127.0.0.1:4690 (--endpoint): host not found — is it running, and is the URL right?',
    );
  });

  it("asks whether the stack's server stopped when the embedded S3 goes away mid-command", async () => {
    expect(await explainS3Error(wrapped(refused), embedded, S3_DIR)).toBe(
      'cannot reach S3 at http://127.0.0.1:4690 (the embedded S3 of pid 42): connection refused — did the server stop?',
    );
  });

  it('blames missing credentials only when the endpoint answers (the SDK asks for keys before it connects)', async () => {
    expect(await explainS3Error(wrapped(noCredentials), configured, S3_DIR, async () => true)).toBe(
      'no credentials for S3 at http://127.0.0.1:4690 (MOTIF_S3_ENDPOINT): set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE). ' +
        'Unset MOTIF_S3_ENDPOINT to use the embedded S3 of npm start (/repo/.data/s3).',
    );
    expect(await explainS3Error(wrapped(noCredentials), configured, S3_DIR, async () => false)).toMatch(
      /^cannot reach S3 at http:\/\/127\.0\.0\.1:4690 \(MOTIF_S3_ENDPOINT\): no answer/,
    );
  });

  it('names the bucket when it does not exist', async () => {
    const err = new ApiError('not_found', 'Not found: s3://nope/models/ — NoSuchBucket (HTTP 404)', {
      cause: Object.assign(new Error('The specified bucket does not exist'), { name: 'NoSuchBucket' }),
    });
    expect(await explainS3Error(err, { ...configured, bucket: 'nope' }, S3_DIR)).toBe(
      "no bucket 'nope' in S3 at http://127.0.0.1:4690 (MOTIF_S3_ENDPOINT); pick one with MOTIF_S3_BUCKET or --bucket",
    );
  });

  it('leaves other errors to their own message', async () => {
    expect(await explainS3Error(new ApiError('not_found', "No ref 'stable' for model 'm'"), configured, S3_DIR)).toBeNull();
    expect(await explainS3Error(new Error('EACCES: permission denied, mkdir /x'), configured, S3_DIR)).toBeNull();
  });
});
