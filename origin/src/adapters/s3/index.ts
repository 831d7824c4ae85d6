/** S3 adapter: an ObjectStore on the AWS SDK, its config, and the embedded s3rver. */
export { createS3Client, mapError, type S3ObjectStore } from './client.ts';
export { S3Config, parseS3Config, s3ConfigFromEnv, type S3ConfigInput } from '../../weights/s3-settings.ts';
export { startEmbeddedS3, S3RVER_CREDENTIALS, type EmbeddedS3, type EmbeddedS3Options } from './embedded.ts';
