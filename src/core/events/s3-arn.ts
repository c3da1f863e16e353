/** What follows an S3 ARN's partition: no region, no account. */
const S3_SERVICE = ':s3:::';
/** What follows a directory bucket's ARN's partition: `arn:<partition>:s3express:<region>:<account>:bucket/<name>`. */
const S3_EXPRESS_SERVICE = ':s3express:';
const DIRECTORY_BUCKET = 'bucket/';

/** Where a directory bucket's name starts in `arn`, whose partition ends at `partitionEnd`; 0 when it is no such ARN. */
const directoryBucketNameStart = (arn: string, partitionEnd: number): number => {
  if (!arn.startsWith(S3_EXPRESS_SERVICE, partitionEnd)) return 0;
  const regionEnd = arn.indexOf(':', partitionEnd + S3_EXPRESS_SERVICE.length);
  const accountEnd = regionEnd === -1 ? -1 : arn.indexOf(':', regionEnd + 1);
  return accountEnd !== -1 && arn.startsWith(DIRECTORY_BUCKET, accountEnd + 1) ? accountEnd + 1 + DIRECTORY_BUCKET.length : 0;
};

const DIRECTORY_BUCKET_ARN = /^arn:[^:]+:s3express:/;

/** A directory bucket's ARN (S3 Express One Zone), or an object's in one: `arn:<partition>:s3express:…`. */
export const isDirectoryBucketArn = (arn: string): boolean => DIRECTORY_BUCKET_ARN.test(arn);

/** A directory bucket's name: `<base name>--<zone id>--x-s3`, a suffix S3 keeps for them (no other bucket ends so). */
export const isDirectoryBucketName = (bucket: string): boolean => bucket.endsWith('--x-s3');

/**
 * `arn:aws:s3:::bucket/key` → bucket and object key; `arn:aws:s3:::bucket` (an S3 Bucket Key context) →
 * bucket only; `arn:aws:s3express:<region>:<account>:bucket/<name>` (a directory bucket, whose KMS calls always name
 * the bucket) → its name. The key keeps its slashes. Text that is not an S3 ARN is taken as `bucket[/key]` itself.
 *
 * Several times for every S3-made KMS call (correlation, bucket coverage, the ledger, the summary), so read in place
 * rather than through a regular expression, whose replacement copied the ARN each time.
 */
export const parseS3Arn = (arn: string): { bucket: string; objectKey?: string } => {
  // `arn:<partition>:s3:::`, the partition being at least one character and no colon.
  const partitionEnd = arn.startsWith('arn:') ? arn.indexOf(':', 4) : -1;
  const pathStart =
    partitionEnd <= 4 ? 0 : arn.startsWith(S3_SERVICE, partitionEnd) ? partitionEnd + S3_SERVICE.length : directoryBucketNameStart(arn, partitionEnd);
  const slash = arn.indexOf('/', pathStart);
  return slash === -1 ? { bucket: arn.slice(pathStart) } : { bucket: arn.slice(pathStart, slash), objectKey: arn.slice(slash + 1) };
};
