/**
 * `arn:aws:s3:::bucket/key` → bucket and object key; `arn:aws:s3:::bucket` (an S3 Bucket Key context) →
 * bucket only. The key keeps its slashes.
 */
export const parseS3Arn = (arn: string): { bucket: string; objectKey?: string } => {
  const path = arn.replace(/^arn:[^:]+:s3:::/, '');
  const slash = path.indexOf('/');
  return slash === -1 ? { bucket: path } : { bucket: path.slice(0, slash), objectKey: path.slice(slash + 1) };
};
