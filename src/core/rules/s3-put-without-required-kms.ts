import { ACCOUNT, BASE_TIME_MS, hours, KEY_ARN, kmsEvent, s3Event } from '../testing/builders.ts';
import { bucketOfS3Arn } from '../correlation/correlate.ts';
import type { KmsCall, S3ObjectAccess } from '../events/types.ts';
import { accountOfNamedKey, s3AccessKeyArnOf, s3AccessKeyOf } from '../events/normalize.ts';
import { defineRule, type DetectionDraft, type RuleCase, type RuleContext } from './define-rule.ts';
import { accountUsedKeyForLearningPeriod } from './learned-key-use.ts';
import { keyMatchesRequired } from './required-key.ts';
import { keyLabel, origin, principalLabel } from './wording.ts';

const isKmsSse = (sse: string): boolean => sse.includes('KMS');
/** `SSEApplied` for an object encrypted under a key its writer provided (normalize.ts also reads it from the request's header). */
const SSE_C = 'SSE_C';
/** A bucket with at least this many earlier writes, nearly all SSE-KMS, is a KMS bucket. */
const MIN_LEARNED_WRITES = 5;
const MIN_KMS_SHARE = 0.95;

/**
 * The accounts of an S3-made call's writer and key when the key is another account's, untrusted, and new to the
 * writer's account: owned neither by the account whose trail recorded the call nor by the caller's (the key
 * owner's copy of a cross-account call, and writes into another account's bucket under its key, are not), not
 * trusted in the configuration, and not used by the writer's account for a learning period before this call. So
 * every write of the first learning period counts on the finding (how many objects the key now holds), and an
 * arrangement that lasts longer than that is learned.
 */
const foreignKeyOwner = (e: KmsCall, ctx: RuleContext): { readonly owner: string; readonly writer: string } | undefined => {
  const owner = e.keyAccountId;
  const writer = e.principal.accountId ?? e.recipientAccountId;
  if (e.keyArn === undefined || owner === undefined || writer === undefined || owner === writer || owner === e.recipientAccountId) return undefined;
  if (ctx.keyPolicy.isAccountTrusted(owner) || accountUsedKeyForLearningPeriod(e.keyArn, writer, e.eventTimeMs, ctx)) return undefined;
  return { owner, writer };
};

interface ForeignWrite {
  readonly writer: string;
  readonly owner: string;
  /** The key: as S3 says it encrypted under it (an ARN), else as the request named it. */
  readonly key: string;
  readonly keyAccount: string;
  /** Whether `key` is the one S3 says it applied, not only the one the request asked for. */
  readonly applied: boolean;
}

/**
 * A write, recorded in the trail of the account that owns the bucket, under a key that is neither that account's nor
 * of an account the configuration trusts. The key is the one S3's response names, which is what an alias or the
 * bucket's default resolved to; else the one the request named, where an id or alias, not an ARN, is the writer's
 * own (KMS resolves it in the requester's account).
 * - A writer of another account (S3 delivers the data event to the requester and to the bucket owner, so a
 *   recipient other than the writer is the owner): the KMS call S3 makes lands only in the writer's and the key
 *   owner's trails, so this record is all the owner sees.
 * - A writer of the owner's account: as for the KMS call S3 makes for it (`foreignKeyOwner`), not once the account
 *   had been using the key for a learning period; the two detections share their subject, so a write seen both
 *   ways makes one finding.
 */
const foreignWriteOf = (e: S3ObjectAccess, ctx: RuleContext): ForeignWrite | undefined => {
  const key = s3AccessKeyOf(e);
  const writer = e.principal.accountId;
  const owner = e.recipientAccountId;
  if (key === undefined || writer === undefined || owner === undefined) return undefined;
  const keyAccount = accountOfNamedKey(key, writer);
  if (keyAccount === undefined || keyAccount === owner || ctx.keyPolicy.isAccountTrusted(keyAccount)) return undefined;
  if (writer === owner) {
    const keyArn = s3AccessKeyArnOf(e);
    if (keyArn !== undefined && accountUsedKeyForLearningPeriod(keyArn, writer, e.eventTimeMs, ctx)) return undefined;
  }
  return { writer, owner, key, keyAccount, applied: e.appliedKmsKeyId !== undefined };
};

/** The KMS call S3 makes for a write: a key of another account, or not the bucket's required key. */
const detectS3MadeCall = (e: KmsCall, ctx: RuleContext): DetectionDraft | undefined => {
  if (!e.madeByS3 || e.s3Arn === undefined) return undefined;
  const { bucket } = bucketOfS3Arn(e.s3Arn);
  const foreign = foreignKeyOwner(e, ctx);
  if (foreign !== undefined) {
    return {
      subject: `${bucket}|${e.keyArn ?? ''}`,
      severity: 'HIGH',
      // Correlated, `origin` names the object with its request.
      reason: `${principalLabel(e)} of account ${foreign.writer} wrote ${e.s3Request !== undefined ? 'an object' : e.s3Arn} ${origin(e)}, and S3 encrypted it under key ${keyLabel(e)} of account ${foreign.owner}, which the configuration does not trust and account ${foreign.writer} had not been using: whoever controls that key decides whether the object can be read again.`,
    };
  }
  const required = ctx.keyPolicy.requiredBucketKey(bucket);
  const alias = e.keyAlias ?? (e.keyArn !== undefined ? ctx.aliasOf(e.keyArn) : undefined);
  if (required === undefined || keyMatchesRequired(required, e.keyArn, alias)) return undefined;
  return {
    subject: `${bucket}|${e.principal.id}`,
    reason: `S3 generated the data key for ${e.s3Arn} (written by ${principalLabel(e)}) with key ${alias ?? e.keyArn ?? 'unknown'}, but the configuration requires ${required} for bucket ${bucket}.`,
  };
};

/** An S3 write's data event: a key of an untrusted account, SSE-C, or no KMS where the bucket needs it. */
const detectWrite = (e: S3ObjectAccess, ctx: RuleContext): DetectionDraft | undefined => {
  const foreign = foreignWriteOf(e, ctx);
  if (foreign !== undefined) {
    const { writer, owner, key, keyAccount } = foreign;
    const byArn = key.startsWith('arn:');
    const keyText = byArn ? `${key} of account ${keyAccount}` : `${key}, which KMS resolves in the writer's own account`;
    const encrypted = foreign.applied ? `and S3 encrypted it under key ${keyText}` : `asking S3 to encrypt it under key ${keyText}`;
    const whose = writer === owner ? `, which account ${writer} had not been using` : '';
    return {
      // As the S3-made call's detection names it (bucket and key ARN); an alias or key id with its account.
      subject: byArn ? `${e.bucket}|${key}` : `${e.bucket}|${keyAccount}|${key}`,
      severity: 'HIGH',
      reason: `${principalLabel(e)} of account ${writer} wrote s3://${e.bucket}/${e.objectKey ?? ''} of account ${owner} ${origin(e)}, ${encrypted}. The configuration does not trust account ${keyAccount}${whose}, and account ${owner} cannot read the object without its consent.`,
    };
  }
  if (e.sseApplied === undefined || isKmsSse(e.sseApplied)) return undefined;
  if (e.sseApplied === SSE_C) {
    return {
      subject: `${e.bucket}|${SSE_C}`,
      severity: 'HIGH',
      reason: `${principalLabel(e)} ${e.eventName === 'CopyObject' ? 'copied an object to' : 'wrote'} s3://${e.bucket}/${e.objectKey ?? ''} ${origin(e)} under a key it provided itself (SSE-C): S3 keeps no copy of that key, so only whoever holds it can read the object again, and no KMS key, key policy or decrypt record covers it.`,
    };
  }
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
};

export const rule = defineRule({
  id: 's3-put-without-required-kms',
  title: 'S3 Object Written Without The Required KMS Key',
  description:
    'An object was written to a bucket without SSE-KMS (SSEApplied is SSE-S3 or none) although the configuration requires a KMS key for the bucket or the bucket has only ever used SSE-KMS, or S3 generated its data key with a key other than the one the configuration requires (for example the AWS-managed aws/s3 key where a customer-managed key is required), or with a key of another account that the configuration does not trust and the writer\'s account had not been using for a learning period (HIGH: ransomware encrypts objects under a key it controls, then takes the key away), whether the KMS call S3 made or the write\'s data event shows it. An object written under a key its writer provided (SSE-C) is HIGH as well: S3 keeps no copy of that key, and ransomware re-encrypts objects in place that way. A write by a principal of another account, whose KMS call this trail never sees, under a key of an account neither the bucket owner nor trusted is HIGH too. A data event\'s key is the one S3\'s response names, else the request\'s (a key id or alias, or a bucket default named by alias, is the writer\'s own).',
  severity: 'MEDIUM',
  status: 'experimental',
  references: ['https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-encryption-tracking.html', 'https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html'],
  falsePositives: [
    'A bucket whose default encryption was deliberately changed',
    'Objects written by a replication or migration job with its own key',
    "The first write into a bucket whose key another account of the organization owns: list the organization's accounts under trustedAccounts",
    'A partner account that writes into the bucket under its own key by arrangement, or that names a key by alias where it meant the bucket owner\'s (KMS resolves an alias in the writer\'s account): trust the account, or have it name the owner\'s key by ARN',
    'An application that encrypts its objects with keys it keeps itself (SSE-C) by design: suppress the rule for its bucket',
  ],
  tags: ['attack.defense-evasion', 'attack.collection', 'attack.impact', 'attack.t1486'],
  runbook:
    'Another account\'s key: act while it still works. Revoke the writer\'s session, deny that key in the bucket policy, and copy what it encrypted under a key of your own (kdm history --key <its ARN> --group-by object lists it). SSE-C: revoke the writer\'s credentials, block SSE-C on the bucket, restore earlier versions. A missing or other key: check the bucket\'s default encryption, deny PutObject unless s3:x-amz-server-side-encryption-aws-kms-key-id is the required key, and re-encrypt the object with CopyObject.',
  findingTypes: ['Software and Configuration Checks/AWS Security Best Practices', 'Effects/Data Exposure'],
  selection: [
    { eventSource: 's3.amazonaws.com', eventNames: ['PutObject', 'CreateMultipartUpload', 'CopyObject'] },
    { eventSource: 'kms.amazonaws.com', eventNames: ['GenerateDataKey'] },
  ],
  detect: (e, ctx) => {
    if (e.errorCode !== undefined) return undefined;
    if (e.kind === 'kms') return detectS3MadeCall(e, ctx);
    return e.kind === 's3' ? detectWrite(e, ctx) : undefined;
  },
});

const FOREIGN_ACCOUNT = '999988887777';
const FOREIGN_KEY = `arn:aws:kms:us-east-1:${FOREIGN_ACCOUNT}:key/3f1c0000-0000-4000-8000-0000000000ff`;
/** A write of this account's role into s3://finance that S3 encrypts under a key of FOREIGN_ACCOUNT: the KMS call S3 makes for it. */
const foreignWrite = (o: Parameters<typeof kmsEvent>[0] = {}) => kmsEvent({ eventName: 'GenerateDataKey', keyArn: FOREIGN_KEY, s3Arn: 'arn:aws:s3:::finance/q3/ledger.csv', ...o });
/** The same write's data event. */
const foreignWriteDataEvent = (atMs = BASE_TIME_MS) => s3Event({ eventName: 'PutObject', bucket: 'finance', key: 'q3/ledger.csv', sseApplied: 'SSE_KMS', kmsKeyId: FOREIGN_KEY, atMs });

const PARTNER = { role: 'Uploader', account: FOREIGN_ACCOUNT } as const;
/** A write into this account's s3://finance by a role of FOREIGN_ACCOUNT, naming the key S3 is to encrypt under. */
const partnerWrite = (kmsKeyId: string | undefined, atMs = BASE_TIME_MS, appliedKmsKeyId?: string) =>
  s3Event({ eventName: 'PutObject', who: PARTNER, bucket: 'finance', key: `in/${atMs}.csv`, sseApplied: kmsKeyId !== undefined ? 'SSE_KMS' : 'Default_SSE_KMS', atMs, ...(kmsKeyId !== undefined ? { kmsKeyId } : {}), ...(appliedKmsKeyId !== undefined ? { appliedKmsKeyId } : {}) });

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
    name: 'stays silent when S3 used the required key, required by its alias ARN',
    events: [kmsEvent({ eventName: 'GenerateDataKey', keyId: 'alias/finance', s3Arn: 'arn:aws:s3:::finance/f.csv' })],
    config: { buckets: [{ name: 'finance', requiredKmsKey: `arn:aws:kms:us-east-1:${ACCOUNT}:alias/finance` }] },
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
    name: 'fires HIGH, one finding for the writes, when S3 encrypts them under a key of an account the configuration does not trust',
    events: [0, 1, 2].map((i) => foreignWrite({ atMs: BASE_TIME_MS + i * 60_000 })),
    expectFindings: 1,
    expectSeverity: 'HIGH',
  },
  {
    name: 'learns an arrangement older than the learning period',
    learningPeriodMs: hours(1),
    events: [foreignWrite(), foreignWrite({ atMs: BASE_TIME_MS + hours(30) })],
    expectFindings: 1,
  },
  { name: 'fires for a key of another account even where the bucket\'s required key is configured', events: [foreignWrite()], config: { buckets: [{ name: 'finance', requiredKmsKey: 'alias/finance' }] }, expectFindings: 1, expectSeverity: 'HIGH' },
  { name: 'stays silent for a key of a trusted account', events: [foreignWrite()], config: { trustedAccounts: [FOREIGN_ACCOUNT] }, expectFindings: 0 },
  { name: 'stays silent for the key owner\'s copy of the call (a writer of another account, into a bucket under this account\'s key)', events: [foreignWrite({ who: { role: 'Partner', account: FOREIGN_ACCOUNT }, keyArn: KEY_ARN })], expectFindings: 0 },
  { name: 'stays silent for a call recorded in the key owner\'s account (a writer there, under its own key)', events: [foreignWrite({ who: { role: 'Writer', account: FOREIGN_ACCOUNT }, recipientAccountId: FOREIGN_ACCOUNT })], expectFindings: 0 },
  { name: 'stays silent for a failed write', events: [foreignWrite({ errorCode: 'AccessDeniedException' })], expectFindings: 0 },
  { name: 'fires HIGH, one finding for the bucket, for objects written or copied in place under keys their writer provided (SSE-C)', events: [put('SSE_C'), { ...put('SSE_C', BASE_TIME_MS + 60_000), eventName: 'CopyObject' }], expectFindings: 1, expectSeverity: 'HIGH' },
  { name: 'fires HIGH for such a write seen only in its data event (a trail that has no management events of it)', events: [foreignWriteDataEvent()], expectFindings: 1, expectSeverity: 'HIGH' },
  { name: 'makes one finding of such a write seen both in its data event and in the KMS call S3 made for it', events: [foreignWriteDataEvent(), foreignWrite({ atMs: BASE_TIME_MS + 300 })], expectFindings: 1, expectSeverity: 'HIGH' },
  {
    name: 'stays silent for such a data event once the writer\'s account had been using the key for a learning period',
    learningPeriodMs: hours(1),
    events: [kmsEvent({ eventName: 'GenerateDataKey', keyArn: FOREIGN_KEY }), foreignWriteDataEvent(BASE_TIME_MS + hours(30))],
    expectFindings: 0,
  },
  {
    name: 'fires HIGH, one finding for the writes, when a principal of another account writes into the bucket under its own key',
    events: [0, 1, 2].map((i) => partnerWrite(FOREIGN_KEY, BASE_TIME_MS + i * 60_000)),
    expectFindings: 1,
    expectSeverity: 'HIGH',
  },
  { name: 'fires HIGH when that writer names a key by alias, which KMS resolves in its own account', events: [partnerWrite('alias/uploads')], expectFindings: 1, expectSeverity: 'HIGH' },
  { name: 'stays silent when a writer of another account names the bucket owner\'s key by ARN', events: [partnerWrite(KEY_ARN)], expectFindings: 0 },
  {
    name: 'fires HIGH when S3 says it encrypted a write of another account, which named no key, under that account\'s key (the bucket default named by alias)',
    events: [partnerWrite(undefined, BASE_TIME_MS, FOREIGN_KEY)],
    expectFindings: 1,
    expectSeverity: 'HIGH',
  },
  { name: 'stays silent when S3 says it encrypted such a write under the bucket owner\'s key', events: [partnerWrite(undefined, BASE_TIME_MS, KEY_ARN), partnerWrite('alias/finance', BASE_TIME_MS + 60_000, KEY_ARN)], expectFindings: 0 },
  { name: 'stays silent for a writer of another account under its own key when the configuration trusts that account', events: [partnerWrite('alias/uploads')], config: { trustedAccounts: [FOREIGN_ACCOUNT] }, expectFindings: 0 },
  { name: 'stays silent for the writer\'s own copy of the data event (its trail, its key)', events: [{ ...partnerWrite('alias/uploads'), recipientAccountId: FOREIGN_ACCOUNT }], expectFindings: 0 },
  {
    name: 'stays silent for a bucket that mixes SSE types',
    learningPeriodMs: hours(1),
    events: [...[0, 1, 2, 3, 4, 5].map((i) => put(i % 2 === 0 ? 'SSE_KMS' : 'SSE_S3', BASE_TIME_MS + i * 60_000)), put('SSE_S3', BASE_TIME_MS + hours(2))],
    expectFindings: 0,
  },
];
