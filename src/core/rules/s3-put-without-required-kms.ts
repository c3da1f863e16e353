import { ACCOUNT, BASE_TIME_MS, hours, kmsEvent, s3Event } from '../testing/builders.ts';
import { bucketOfS3Arn } from '../correlation/correlate.ts';
import { defineRule, type RuleCase } from './define-rule.ts';
import { principalLabel } from './wording.ts';

const isKmsSse = (sse: string): boolean => sse.includes('KMS');
/** A bucket with at least this many earlier writes, nearly all SSE-KMS, is a KMS bucket. */
const MIN_LEARNED_WRITES = 5;
const MIN_KMS_SHARE = 0.95;

/** Does the configured key (ARN, key id or alias) name this key? */
export const keyMatchesRequired = (required: string, keyArn: string | undefined, alias: string | undefined): boolean => {
  if (keyArn !== undefined && (keyArn === required || keyArn.endsWith(`/${required}`))) return true;
  const wanted = required.startsWith('alias/') ? required : required.startsWith('arn:') ? undefined : `alias/${required}`;
  return wanted !== undefined && alias === wanted;
};

export const rule = defineRule({
  id: 's3-put-without-required-kms',
  title: 'S3 Object Written Without The Required KMS Key',
  description:
    'An object was written to a bucket without SSE-KMS (SSEApplied is SSE-S3 or none) although the configuration requires a KMS key for the bucket or the bucket has only ever used SSE-KMS, or S3 generated its data key with a key other than the one the configuration requires (for example the AWS-managed aws/s3 key where a customer-managed key is required).',
  severity: 'MEDIUM',
  status: 'experimental',
  references: ['https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-encryption-tracking.html', 'https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html'],
  falsePositives: ['A bucket whose default encryption was deliberately changed', 'Objects written by a replication or migration job with its own key'],
  tags: ['attack.defense-evasion', 'attack.collection'],
  runbook:
    'Check the bucket\'s default encryption and bucket policy. Enforce the key with a bucket policy that denies PutObject unless s3:x-amz-server-side-encryption-aws-kms-key-id is the required key, then re-encrypt the object with CopyObject.',
  findingTypes: ['Software and Configuration Checks/AWS Security Best Practices', 'Effects/Data Exposure'],
  selection: [
    { eventSource: 's3.amazonaws.com', eventNames: ['PutObject', 'CreateMultipartUpload', 'CopyObject'] },
    { eventSource: 'kms.amazonaws.com', eventNames: ['GenerateDataKey'] },
  ],
  detect: (e, ctx) => {
    if (e.errorCode !== undefined) return undefined;
    if (e.kind === 'kms') {
      if (!e.madeByS3 || e.s3Arn === undefined) return undefined;
      const { bucket } = bucketOfS3Arn(e.s3Arn);
      const required = ctx.keyPolicy.requiredBucketKey(bucket);
      const alias = e.keyAlias ?? (e.keyArn !== undefined ? ctx.aliasOf(e.keyArn) : undefined);
      if (required === undefined || keyMatchesRequired(required, e.keyArn, alias)) return undefined;
      return {
        subject: `${bucket}|${e.principal.id}`,
        reason: `S3 generated the data key for ${e.s3Arn} (written by ${principalLabel(e)}) with key ${alias ?? e.keyArn ?? 'unknown'}, but the configuration requires ${required} for bucket ${bucket}.`,
      };
    }
    if (e.kind !== 's3' || e.sseApplied === undefined || isKmsSse(e.sseApplied)) return undefined;
    const required = ctx.keyPolicy.requiredBucketKey(e.bucket);
    if (required !== undefined) {
      return { subject: `${e.bucket}|${e.principal.id}`, reason: `${principalLabel(e)} wrote s3://${e.bucket}/${e.objectKey ?? ''} with ${e.sseApplied} from ${e.sourceIp ?? 'an unknown address'}, but the configuration requires KMS key ${required} for bucket ${e.bucket}.` };
    }
    const coverage = ctx.bucketCoverage(e.bucket);
    if (coverage === undefined || e.eventTimeMs < coverage.firstSeenMs + ctx.learningPeriodMs) return undefined;
    const types = Object.keys(coverage.sse);
    const writes = types.reduce((n, t) => n + (coverage.sse[t] ?? 0), 0) - 1; // this write is already counted
    const kmsWrites = types.filter(isKmsSse).reduce((n, t) => n + (coverage.sse[t] ?? 0), 0);
    if (writes < MIN_LEARNED_WRITES || kmsWrites / writes < MIN_KMS_SHARE) return undefined;
    return {
      subject: `${e.bucket}|${e.principal.id}`,
      reason: `${principalLabel(e)} wrote s3://${e.bucket}/${e.objectKey ?? ''} with ${e.sseApplied} from ${e.sourceIp ?? 'an unknown address'}; ${kmsWrites} of the bucket's ${writes} earlier writes used SSE-KMS.`,
    };
  },
});

const put = (sseApplied: string, atMs = BASE_TIME_MS) => s3Event({ eventName: 'PutObject', bucket: 'finance', key: `f-${atMs}.csv`, sseApplied, atMs });

export const cases = (): readonly RuleCase[] => [
  { name: 'fires for an SSE-S3 write to a bucket that requires a KMS key', events: [put('SSE_S3')], config: { buckets: [{ name: 'finance', requiredKmsKey: 'alias/finance' }] }, expectFindings: 1 },
  { name: 'stays silent for an SSE-KMS write to that bucket', events: [put('SSE_KMS')], config: { buckets: [{ name: 'finance', requiredKmsKey: 'alias/finance' }] }, expectFindings: 0 },
  {
    name: 'fires when S3 used the AWS-managed aws/s3 key where a customer key is required',
    events: [kmsEvent({ eventName: 'GenerateDataKey', keyId: 'alias/aws/s3', keyArn: `arn:aws:kms:us-east-1:${ACCOUNT}:key/aaaa1111-12ab-34cd-56ef-1234567890ab`, s3Arn: 'arn:aws:s3:::finance/f.csv' })],
    config: { buckets: [{ name: 'finance', requiredKmsKey: 'alias/finance' }] },
    expectFindings: 1,
  },
  {
    name: 'stays silent when S3 used the required key',
    events: [kmsEvent({ eventName: 'GenerateDataKey', keyId: 'alias/finance', s3Arn: 'arn:aws:s3:::finance/f.csv' })],
    config: { buckets: [{ name: 'finance', requiredKmsKey: 'alias/finance' }] },
    expectFindings: 0,
  },
  {
    name: 'fires for the first SSE-S3 write to a bucket that learned only SSE-KMS writes',
    learningPeriodMs: hours(1),
    events: [...[0, 1, 2, 3, 4, 5].map((i) => put('SSE_KMS', BASE_TIME_MS + i * 60_000)), put('SSE_S3', BASE_TIME_MS + hours(2))],
    expectFindings: 1,
  },
  {
    name: 'fires again for a later downgrade in the same bucket',
    learningPeriodMs: hours(1),
    events: [...[0, 1, 2, 3, 4, 5].map((i) => put('SSE_KMS', BASE_TIME_MS + i * 60_000)), put('SSE_S3', BASE_TIME_MS + hours(2)), ...Array.from({ length: 30 }, (_, i) => put('SSE_KMS', BASE_TIME_MS + hours(3) + i * 60_000)), put('SSE_S3', BASE_TIME_MS + hours(30))],
    expectFindings: 2,
  },
  {
    name: 'stays silent for a bucket that mixes SSE types',
    learningPeriodMs: hours(1),
    events: [...[0, 1, 2, 3, 4, 5].map((i) => put(i % 2 === 0 ? 'SSE_KMS' : 'SSE_S3', BASE_TIME_MS + i * 60_000)), put('SSE_S3', BASE_TIME_MS + hours(2))],
    expectFindings: 0,
  },
];
