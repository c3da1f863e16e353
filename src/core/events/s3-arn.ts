/** What follows an S3 ARN's partition: no region, no account. */
const S3_SERVICE = ':s3:::';
/**
 * What follows the partition of the ARNs S3 names its other buckets by, with a region and an account: a directory
 * bucket's (`arn:<partition>:s3express:<region>:<account>:bucket/<name>`), a table bucket's, whose KMS calls name a
 * table (`arn:<partition>:s3tables:<region>:<account>:bucket/<name>/table/<table id>`), and a vector bucket's, whose
 * calls name the bucket or an index (`arn:<partition>:s3vectors:<region>:<account>:bucket/<name>[/index/<name>]`).
 */
const REGIONAL_BUCKET_SERVICES = ['s3express', 's3tables', 's3vectors'] as const;
/** Each of them as it stands in an ARN, between colons. */
const REGIONAL_BUCKET_SERVICE_FIELDS = REGIONAL_BUCKET_SERVICES.map((s) => `:${s}:`);
const BUCKET_RESOURCE = 'bucket/';

/** Where the bucket's name starts in such an ARN, whose partition ends at `partitionEnd`; 0 when it is none. */
const regionalBucketNameStart = (arn: string, partitionEnd: number): number => {
  const service = REGIONAL_BUCKET_SERVICE_FIELDS.find((s) => arn.startsWith(s, partitionEnd));
  if (service === undefined) return 0;
  const regionEnd = arn.indexOf(':', partitionEnd + service.length);
  const accountEnd = regionEnd === -1 ? -1 : arn.indexOf(':', regionEnd + 1);
  return accountEnd !== -1 && arn.startsWith(BUCKET_RESOURCE, accountEnd + 1) ? accountEnd + 1 + BUCKET_RESOURCE.length : 0;
};

export type S3ArnService = 's3' | (typeof REGIONAL_BUCKET_SERVICES)[number];
const S3_SERVICE_OF_ARN = new RegExp(`^arn:[^:]+:(s3|${REGIONAL_BUCKET_SERVICES.join('|')}):`);

/**
 * Which of S3's ARNs `arn` is: a general purpose bucket's or object's (`s3`), a directory bucket's (`s3express`, S3
 * Express One Zone), a table bucket's or table's (`s3tables`), a vector bucket's or index's (`s3vectors`); undefined
 * for other text.
 */
export const s3ServiceOfArn = (arn: string): S3ArnService | undefined => S3_SERVICE_OF_ARN.exec(arn)?.[1] as S3ArnService | undefined;

/** A directory bucket's name: `<base name>--<zone id>--x-s3`, a suffix S3 keeps for them (no other bucket ends so). */
export const isDirectoryBucketName = (bucket: string): boolean => bucket.endsWith('--x-s3');

/**
 * `arn:aws:s3:::bucket/key` → bucket and object key; `arn:aws:s3:::bucket` (an S3 Bucket Key context) →
 * bucket only; `arn:aws:s3express:<region>:<account>:bucket/<name>` (a directory bucket, whose KMS calls always name
 * the bucket) → its name; `arn:aws:s3tables:<region>:<account>:bucket/<name>/table/<id>` (a table of a table bucket)
 * → the table bucket's name and `table/<id>`; a vector bucket's or index's ARN alike (`index/<name>`). The key keeps
 * its slashes. Text that is not an S3 ARN is taken as `bucket[/key]` itself.
 *
 * Several times for every S3-made KMS call (correlation, bucket coverage, the ledger, the summary), so read in place
 * rather than through a regular expression, whose replacement copied the ARN each time.
 */
export const parseS3Arn = (arn: string): { bucket: string; objectKey?: string } => {
  // `arn:<partition>:`, the partition being at least one character and no colon.
  const partitionEnd = arn.startsWith('arn:') ? arn.indexOf(':', 4) : -1;
  const pathStart =
    partitionEnd <= 4 ? 0 : arn.startsWith(S3_SERVICE, partitionEnd) ? partitionEnd + S3_SERVICE.length : regionalBucketNameStart(arn, partitionEnd);
  const slash = arn.indexOf('/', pathStart);
  return slash === -1 ? { bucket: arn.slice(pathStart) } : { bucket: arn.slice(pathStart, slash), objectKey: arn.slice(slash + 1) };
};
