/** S3 adapter: an ObjectStore on the AWS SDK, its config, and the embedded s3rver. */

export { parseS3Config, S3Config, type S3ConfigInput, s3ConfigFromEnv } from '../../weights/s3-settings.ts';
export { createS3Client, mapError, type S3ObjectStore } from './client.ts';
export { type EmbeddedS3, type EmbeddedS3Options, S3RVER_CREDENTIALS, startEmbeddedS3 } from './embedded.ts';
