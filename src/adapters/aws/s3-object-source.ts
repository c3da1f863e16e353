import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { InputError } from '#core/errors.ts';
import type { ObjectSource } from '#core/ports.ts';

/** CloudTrail log files from S3: GetObject, read whole, refused beyond the size cap before reading it. */
export const createS3ObjectSource = (client: S3Client): ObjectSource => ({
  async read(bucket, key, maxBytes) {
    const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const where = `s3://${bucket}/${key}`;
    if (res.ContentLength !== undefined && res.ContentLength > maxBytes) throw new InputError(where, undefined, `object is ${res.ContentLength} bytes, over the ${maxBytes}-byte cap`);
    if (res.Body === undefined) throw new InputError(where, undefined, 'GetObject returned no body');
    return res.Body.transformToByteArray();
  },
});
