/** What follows an S3 ARN's partition: no region, no account. */
const S3_SERVICE = ':s3:::';

/**
 * `arn:aws:s3:::bucket/key` → bucket and object key; `arn:aws:s3:::bucket` (an S3 Bucket Key context) →
 * bucket only. The key keeps its slashes. Text that is not an S3 ARN is taken as `bucket[/key]` itself.
 *
 * Several times for every S3-made KMS call (correlation, bucket coverage, the ledger, the summary), so read in place
 * rather than through a regular expression, whose replacement copied the ARN each time.
 */
export const parseS3Arn = (arn: string): { bucket: string; objectKey?: string } => {
  // `arn:<partition>:s3:::`, the partition being at least one character and no colon.
  const partitionEnd = arn.startsWith('arn:') ? arn.indexOf(':', 4) : -1;
  const pathStart = partitionEnd > 4 && arn.startsWith(S3_SERVICE, partitionEnd) ? partitionEnd + S3_SERVICE.length : 0;
  const slash = arn.indexOf('/', pathStart);
  return slash === -1 ? { bucket: arn.slice(pathStart) } : { bucket: arn.slice(pathStart, slash), objectKey: arn.slice(slash + 1) };
};
