import { bucketOfS3Arn } from '../correlation/correlate.ts';
import { BASE_TIME_MS, days, hours, kmsEvent, KEY_ARN } from '../testing/builders.ts';
import { defineRule, type RuleCase } from './define-rule.ts';
import { isPrincipalNewToLearnedKey } from './learned-key-use.ts';
import { settledSetOf } from './settled-set.ts';
import { dateOf, keyLabel, listFew, origin, principalLabel } from './wording.ts';

export const rule = defineRule({
  id: 'kms-s3-unusual-bucket',
  title: 'S3 Objects Decrypted In A Bucket The Principal Never Read',
  description:
    'S3 decrypted an SSE-KMS object for a principal in a bucket whose objects it had never had decrypted, while it had a settled set of buckets it works with (by default at most 20: `threshold`). A key often serves many buckets (the AWS managed key aws/s3 serves every bucket of an account that names none), so a caller the key knows well can still be reading data it has no business with: the key says who, the bucket says what.',
  severity: 'MEDIUM',
  status: 'experimental',
  references: [
    'https://attack.mitre.org/techniques/T1530/',
    'https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html#encryption-context',
  ],
  falsePositives: [
    'A person or workload given a new bucket to work with',
    'A bucket renamed or its data moved to a new one',
    'A rarely run job (monthly, quarterly) that reads a bucket the learning period did not see it read',
  ],
  tags: ['attack.collection', 'attack.t1530'],
  runbook:
    'Ask the bucket\'s owner whether this principal should read it. Look at the S3 data events of the session (what else it listed and read, from which address) and who assumed the role. If unexpected, revoke the session (aws:TokenIssueTime), narrow the bucket policy or the key policy (an aws:s3:arn encryption context condition limits a key to its buckets), and review the objects read.',
  findingTypes: ['Unusual Behaviors/User', 'TTPs/Collection'],
  selection: [{ eventSource: 'kms.amazonaws.com', eventNames: ['Decrypt'] }],
  // `threshold`: the most buckets a principal may work with and still be judged. One that reads more (an
  // administrator, a backup or analytics role) has no narrow set of buckets for a new one to leave.
  defaults: { threshold: 20 },
  detect: (e, ctx) => {
    if (!e.madeByS3 || e.s3Arn === undefined || e.keyArn === undefined || e.errorCode !== undefined || e.principal.isAwsService) return undefined;
    const buckets = ctx.principalBaseline()?.buckets;
    if (buckets === undefined) return undefined;
    const { bucket } = bucketOfS3Arn(e.s3Arn);
    if (Object.prototype.hasOwnProperty.call(buckets, bucket)) return undefined;
    const settled = settledSetOf(buckets, e.eventTimeMs, ctx.settings.threshold, ctx);
    if (settled === undefined) return undefined;
    // A caller new to the key itself is kms-unusual-principal's finding: one finding a call.
    if (isPrincipalNewToLearnedKey(e.keyArn, e.principal.id, e.eventTimeMs, ctx)) return undefined;
    const alias = e.keyAlias ?? ctx.aliasOf(e.keyArn);
    const isSensitive = ctx.keyPolicy.isSensitiveKey(e.keyArn, alias);
    return {
      subject: `${e.principal.id}|${bucket}`,
      ...(isSensitive ? { severity: 'HIGH' as const } : {}),
      aggregationWindowMs: hours(24),
      reason: `S3 decrypted ${e.s3Arn} for ${principalLabel(e)} with key ${keyLabel(e, alias)} ${origin(e)}: the first object of bucket ${bucket} decrypted for it. Since ${dateOf(settled.sinceMs)}, S3 had decrypted or encrypted objects for it only in ${settled.members.length === 1 ? 'the bucket' : `the ${settled.members.length} buckets`} ${listFew(settled.members)}.${isSensitive ? ' The key is marked sensitive.' : ''}`,
    };
  },
});

const learned = { learningPeriodMs: hours(1) };
const analyst = { role: 'FinanceAnalyst', session: 'alice' } as const;
const read = (bucket: string, atMs: number, o: Partial<Parameters<typeof kmsEvent>[0]> = {}) => kmsEvent({ who: analyst, s3Arn: `arn:aws:s3:::${bucket}/q3.pdf`, atMs, ...o });

export const cases = (): readonly RuleCase[] => [
  {
    name: 'fires when S3 decrypts, for a principal that reads one bucket, an object of another bucket under the same key',
    ...learned,
    events: [read('finance-reports', BASE_TIME_MS), read('finance-reports', BASE_TIME_MS + hours(1.5)), read('hr-records', BASE_TIME_MS + hours(2))],
    expectFindings: 1,
  },
  {
    name: 'raises one finding for a day of reads in the new bucket',
    ...learned,
    events: [read('finance-reports', BASE_TIME_MS), ...[2, 3, 4].map((h) => read('hr-records', BASE_TIME_MS + hours(h)))],
    expectFindings: 1,
  },
  {
    name: 'stays silent while the principal\'s buckets are learned, and learns the one it then reads',
    ...learned,
    events: [read('finance-reports', BASE_TIME_MS), read('hr-records', BASE_TIME_MS + hours(0.5)), read('hr-records', BASE_TIME_MS + days(1))],
    expectFindings: 0,
  },
  {
    name: 'stays silent for a Bucket Key decrypt of a bucket it reads (the context names only the bucket)',
    ...learned,
    events: [read('finance-reports', BASE_TIME_MS), kmsEvent({ who: analyst, s3Arn: 'arn:aws:s3:::finance-reports', atMs: BASE_TIME_MS + hours(2) })],
    expectFindings: 0,
  },
  {
    name: 'stays silent for a direct Decrypt, a failed one, and one by an AWS service',
    ...learned,
    events: [
      read('finance-reports', BASE_TIME_MS),
      kmsEvent({ who: analyst, atMs: BASE_TIME_MS + hours(2), context: { 'aws:s3:arn': 'arn:aws:s3:::hr-records/q3.pdf' } }),
      read('hr-records', BASE_TIME_MS + hours(2), { errorCode: 'AccessDeniedException' }),
      kmsEvent({ who: { service: 'cloudtrail.amazonaws.com' }, s3Arn: 'arn:aws:s3:::hr-records/q3.pdf', atMs: BASE_TIME_MS + hours(2) }),
    ],
    // (The direct Decrypt of an S3 data key is kms-s3-data-key-direct-decrypt's finding.)
    expectFindings: 0,
  },
  {
    name: 'leaves a principal new to the key to kms-unusual-principal',
    ...learned,
    events: [read('finance-reports', BASE_TIME_MS, { keyArn: 'arn:aws:kms:us-east-1:111122223333:key/0000-finance' }), read('finance-reports', BASE_TIME_MS + hours(1), { who: { role: 'Other' } }), read('hr-records', BASE_TIME_MS + hours(2))],
    expectFindings: 0,
  },
  {
    name: 'stays silent for a principal that works with more buckets than the threshold (20), unless the configuration raises it',
    ...learned,
    events: [...Array.from({ length: 21 }, (_, i) => read(`team-${i}`, BASE_TIME_MS + i * 1_000)), read('hr-records', BASE_TIME_MS + hours(2))],
    expectFindings: 0,
  },
  {
    name: 'fires for such a principal with the threshold raised',
    ...learned,
    events: [...Array.from({ length: 21 }, (_, i) => read(`team-${i}`, BASE_TIME_MS + i * 1_000)), read('hr-records', BASE_TIME_MS + hours(2))],
    config: { rules: { 'kms-s3-unusual-bucket': { threshold: 30 } } },
    expectFindings: 1,
  },
  {
    name: 'raises HIGH on a key the configuration marks sensitive',
    ...learned,
    events: [read('finance-reports', BASE_TIME_MS), read('hr-records', BASE_TIME_MS + hours(2))],
    config: { keys: [{ arn: KEY_ARN, sensitive: true }] },
    expectFindings: 1,
    expectSeverity: 'HIGH',
  },
];
