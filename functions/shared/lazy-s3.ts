// What the first log file to read loads (see live-deps.ts): the S3 client and the reads sent through it, as one
// lazy file, so that the client and its commands come from one copy of the SDK.
export { S3Client } from '@aws-sdk/client-s3';
export { createS3ObjectSource } from '#adapters/aws/s3-object-source.ts';
