import { isObject, obj, str, type JsonObject } from '../events/fields.ts';
import { KMS_KEY_OR_ALIAS_ARN, keyIdArnInAccount } from '../events/normalize.ts';
import type { OtherApiCall } from '../events/types.ts';
import { BASE_TIME_MS, hours, kmsEvent, minutes, otherEvent } from '../testing/builders.ts';
import { defineRule, type DetectionDraft, type RuleCase, type RuleContext } from './define-rule.ts';
import { accountUsedKeyForLearningPeriod } from './learned-key-use.ts';
import { keyMatchesRequired, requiredKeyOf } from './required-key.ts';
import { origin, principalLabel } from './wording.ts';

/**
 * What a `PutBucketEncryption` request sets: the bucket's default algorithm and key as the caller named them, and
 * the encryption types it blocks.
 */
export interface DefaultEncryption {
  /** `AES256`, `aws:kms` or `aws:kms:dsse`, as the request spells it; absent when the rule sets no default. */
  readonly algorithm: string | undefined;
  /** `KMSMasterKeyID`: a key ARN, key id, alias name or alias ARN; absent for SSE-KMS under the AWS-managed aws/s3 key. */
  readonly kmsKeyId: string | undefined;
  /**
   * `BlockedEncryptionTypes.EncryptionType`: `SSE-C` refuses writes under keys their writers keep, `NONE` allows them
   * again (S3 blocks SSE-C on new buckets); absent when the rule does not say.
   */
  readonly blockedEncryptionTypes: readonly string[] | undefined;
}

const rulesOf = (configuration: JsonObject): readonly unknown[] => {
  // CloudTrail turns the request's XML into JSON: one <Rule> element becomes an object, several a list. The SDKs'
  // shape (`Rules`, a list) is read too, for records that an export rewrote.
  const rules = configuration['Rule'] ?? configuration['Rules'];
  return Array.isArray(rules) ? rules : [rules];
};

/** An XML element's values as CloudTrail writes them: one as a string, several as a list. */
const texts = (v: unknown): readonly string[] | undefined => {
  const list = (Array.isArray(v) ? v : [v]).flatMap((t) => (typeof t === 'string' ? [t] : []));
  return list.length > 0 ? list : undefined;
};

/**
 * What a `PutBucketEncryption` request sets, from its `ServerSideEncryptionConfiguration`: its first rule with a
 * default algorithm or blocked types. Undefined when the record does not say (CloudTrail left the body out, or it
 * holds no such rule).
 */
export const defaultEncryptionOf = (requestParameters: JsonObject | undefined): DefaultEncryption | undefined => {
  const configuration = obj(requestParameters?.['ServerSideEncryptionConfiguration']);
  if (configuration === undefined) return undefined;
  for (const r of rulesOf(configuration)) {
    if (!isObject(r)) continue;
    const byDefault = obj(r['ApplyServerSideEncryptionByDefault']);
    const algorithm = str(byDefault?.['SSEAlgorithm']);
    const blockedEncryptionTypes = texts(obj(r['BlockedEncryptionTypes'])?.['EncryptionType']);
    if (algorithm !== undefined || blockedEncryptionTypes !== undefined) return { algorithm, kmsKeyId: str(byDefault?.['KMSMasterKeyID']), blockedEncryptionTypes };
  }
  return undefined;
};

const AWS_MANAGED_S3_ALIAS = 'alias/aws/s3';

/** A key as a bucket's default names it: a key (by ARN, or by id in the owner's account) or an alias, with its account. */
type NamedKey =
  | { readonly kind: 'key'; readonly arn: string | undefined; readonly accountId: string | undefined }
  | { readonly kind: 'alias'; readonly alias: string; readonly accountId: string | undefined };

/**
 * What `KMSMasterKeyID` names. An ARN says its account. A key id or an alias name is resolved in the account of
 * each writer (KMS resolves it in the requester's account): taken here as the bucket owner's, whose own writes get
 * it; a writer of another account gets a key of its own, and s3-put-without-required-kms reports such writes by the
 * key S3 says it applied.
 */
const namedKey = (kmsKeyId: string, owner: string | undefined, region: string): NamedKey => {
  const arn = KMS_KEY_OR_ALIAS_ARN.exec(kmsKeyId);
  if (arn !== null) return arn[2] === 'key' ? { kind: 'key', arn: kmsKeyId, accountId: arn[1] } : { kind: 'alias', alias: `alias/${arn[3] ?? ''}`, accountId: arn[1] };
  if (kmsKeyId.startsWith('alias/')) return { kind: 'alias', alias: kmsKeyId, accountId: owner };
  return { kind: 'key', arn: keyIdArnInAccount(kmsKeyId, owner, region), accountId: owner };
};

/**
 * Whether the key a default names is the required one, as far as kdm can tell: undefined when one is named by an
 * alias and the other by a key kdm knows no alias of. The writes under such a default are still checked one by
 * one by s3-put-without-required-kms, which sees the key S3 resolved.
 */
const isRequiredKey = (required: string, key: NamedKey | undefined, ctx: RuleContext): boolean | undefined => {
  const wanted = requiredKeyOf(required);
  if (key === undefined) return 'alias' in wanted && wanted.alias === AWS_MANAGED_S3_ALIAS; // SSE-KMS without a key: aws/s3
  if ('alias' in wanted) {
    const alias = key.kind === 'alias' ? key.alias : key.arn !== undefined ? ctx.aliasOf(key.arn) : undefined;
    return alias === undefined ? undefined : alias === wanted.alias;
  }
  if (key.kind === 'alias') {
    const requiredAlias = wanted.key.startsWith('arn:') ? ctx.aliasOf(wanted.key) : undefined;
    return requiredAlias === undefined ? undefined : requiredAlias === key.alias;
  }
  return key.arn === undefined ? undefined : keyMatchesRequired(required, key.arn, undefined);
};

const describeDefault = (algorithm: string, kmsKeyId: string | undefined): string =>
  algorithm.startsWith('aws:kms') ? `${algorithm === 'aws:kms:dsse' ? 'DSSE-KMS' : 'SSE-KMS'} with ${kmsKeyId ?? 'the AWS-managed key aws/s3'}` : algorithm === 'AES256' ? 'SSE-S3' : algorithm;

/** The bucket's owner: the account whose trail recorded the call. */
const ownerOf = (e: OtherApiCall): string | undefined => e.recipientAccountId ?? e.principal.accountId;

/** The key a default sets, as it names it; undefined for a default that is not SSE-KMS, or SSE-KMS under aws/s3. */
const defaultKeyOf = (e: OtherApiCall, set: DefaultEncryption): NamedKey | undefined =>
  set.algorithm?.startsWith('aws:kms') === true && set.kmsKeyId !== undefined ? namedKey(set.kmsKeyId, ownerOf(e), e.region) : undefined;

/** The ARN of the key a `PutBucketEncryption` sets, where it names one: the rule weighs its baseline. */
const defaultKeyArnOf = (e: OtherApiCall): string | undefined => {
  if (e.eventName !== 'PutBucketEncryption' || e.errorCode !== undefined) return undefined;
  const set = defaultEncryptionOf(e.requestParameters);
  const key = set === undefined ? undefined : defaultKeyOf(e, set);
  return key?.kind === 'key' ? key.arn : undefined;
};

const detectDefaultSet = (e: OtherApiCall, bucket: string, ctx: RuleContext): DetectionDraft | undefined => {
  const set = defaultEncryptionOf(e.requestParameters);
  if (set === undefined) return undefined;
  const owner = ownerOf(e);
  const { algorithm } = set;
  const usesKms = algorithm?.startsWith('aws:kms') === true;
  const key = defaultKeyOf(e, set);
  // The finding names a key by its ARN; an alias (whose key kdm cannot tell from the record) only in its reason.
  const findingKey = key?.kind === 'key' && key.arn !== undefined ? { arn: key.arn, ...(key.accountId !== undefined ? { accountId: key.accountId } : {}) } : undefined;
  const keyAccount = key?.accountId;
  // A key of another account that the owner's account had been using for a learning period is an arrangement
  // (a key account of the organization), learned as s3-put-without-required-kms learns writes under it.
  const learnedBy = (account: string): boolean => findingKey !== undefined && accountUsedKeyForLearningPeriod(findingKey.arn, account, e.eventTimeMs, ctx);
  if (keyAccount !== undefined && owner !== undefined && keyAccount !== owner && !ctx.keyPolicy.isAccountTrusted(keyAccount) && !learnedBy(owner)) {
    return {
      subject: `${bucket}|${set.kmsKeyId ?? ''}`,
      severity: 'HIGH',
      reason: `${principalLabel(e)}, ${origin(e)}, set the default encryption of bucket ${bucket} to ${describeDefault(algorithm ?? '', set.kmsKeyId)}, a key of account ${keyAccount}, which the configuration does not trust and account ${owner} had not been using: every object written into ${bucket} without naming a key is now encrypted under a key that account controls, and can no longer be read once it takes the key away.`,
      bucket,
      ...(findingKey !== undefined ? { key: findingKey } : {}),
    };
  }
  const required = ctx.keyPolicy.requiredBucketKey(bucket);
  if (required !== undefined && algorithm !== undefined && (!usesKms || isRequiredKey(required, key, ctx) === false)) {
    return {
      subject: bucket,
      reason: `${principalLabel(e)}, ${origin(e)}, set the default encryption of bucket ${bucket} to ${describeDefault(algorithm, set.kmsKeyId)}, but the configuration requires KMS key ${required} for it: objects written without naming a key are no longer encrypted under it.`,
      bucket,
      ...(findingKey !== undefined ? { key: findingKey } : {}),
    };
  }
  if (set.blockedEncryptionTypes?.includes('NONE') === true) {
    return {
      subject: `${bucket}|SSE-C`,
      reason: `${principalLabel(e)}, ${origin(e)}, allowed SSE-C again on bucket ${bucket} (blocked encryption types NONE): writers may now encrypt objects under keys they keep themselves, of which S3 keeps no copy, the way ransomware re-encrypts objects in place.`,
      bucket,
    };
  }
  return undefined;
};

export const rule = defineRule({
  id: 's3-bucket-default-key-changed',
  title: 'S3 Bucket Default Encryption Set Away From Its Key',
  description:
    'A bucket\'s default encryption, which encrypts every object written without naming a key, was set to a KMS key of another account that the configuration does not trust and the bucket owner\'s account had not been using for a learning period (HIGH: ransomware makes a bucket encrypt under a key it controls, then takes the key away), or was set to anything but the KMS key the configuration requires for the bucket, or removed from such a bucket (which leaves SSE-S3), or the bucket was made to accept SSE-C again (blocked encryption types NONE), which ransomware uses to re-encrypt objects under keys it keeps.',
  severity: 'MEDIUM',
  status: 'experimental',
  references: [
    'https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketEncryption.html',
    'https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-encryption.html',
    'https://docs.aws.amazon.com/AmazonS3/latest/API/API_BlockedEncryptionTypes.html',
    'https://attack.mitre.org/techniques/T1486/',
  ],
  falsePositives: [
    "A bucket deliberately moved to a key of another account of the organization that the bucket owner's account had not been using for a learning period: list the organization's accounts under trustedAccounts",
    'A planned change of a bucket\'s required key, made before the configuration was updated',
    'An application that needs SSE-C on its bucket by design: suppress the rule for that bucket',
  ],
  tags: ['attack.impact', 'attack.t1486', 'attack.defense-evasion'],
  runbook:
    'Set the default back to the bucket\'s own key (aws s3api put-bucket-encryption) and find who changed it, with which credentials, from where. Objects written since are under the new key: kdm history --key <its ARN> --group-by object lists them; copy them under a key of your own while it still works. Allow s3:PutEncryptionConfiguration only to the roles that manage buckets. SSE-C allowed again: block it unless an application needs it, and check the writes since (s3-put-without-required-kms reports SSE-C).',
  findingTypes: ['TTPs/Impact', 'Software and Configuration Checks/AWS Security Best Practices'],
  selection: [{ eventSource: 's3.amazonaws.com', eventNames: ['PutBucketEncryption', 'DeleteBucketEncryption'] }],
  keyBaselinesRead: (e) => {
    const keyArn = e.kind === 'other' ? defaultKeyArnOf(e) : undefined;
    return keyArn === undefined ? [] : [keyArn];
  },
  detect: (e, ctx) => {
    if (e.kind !== 'other' || e.errorCode !== undefined) return undefined;
    const bucket = str(e.requestParameters?.['bucketName']);
    if (bucket === undefined) return undefined;
    if (e.eventName === 'PutBucketEncryption') return detectDefaultSet(e, bucket, ctx);
    const required = ctx.keyPolicy.requiredBucketKey(bucket);
    if (required === undefined) return undefined;
    return {
      subject: bucket,
      reason: `${principalLabel(e)}, ${origin(e)}, removed the default encryption of bucket ${bucket}: objects written without naming a key are now encrypted with SSE-S3, but the configuration requires KMS key ${required} for it.`,
      bucket,
    };
  },
});

const FOREIGN_ACCOUNT = '999988887777';
const FOREIGN_KEY = `arn:aws:kms:us-east-1:${FOREIGN_ACCOUNT}:key/3f1c0000-0000-4000-8000-0000000000ff`;
const OWN_KEY_ID = '1a2b3c4d-0000-4000-8000-00000000b002';
const OWN_KEY = `arn:aws:kms:us-east-1:111122223333:key/${OWN_KEY_ID}`;
const REQUIRES_OWN_KEY = { buckets: [{ name: 'finance', requiredKmsKey: OWN_KEY }] };

/** A PutBucketEncryption of s3://finance, in CloudTrail's shape (one rule, an object). */
const setDefault = (byDefault: Record<string, unknown>, o: { readonly errorCode?: string; readonly atMs?: number } = {}): OtherApiCall =>
  otherEvent('s3.amazonaws.com', 'PutBucketEncryption', {
    ...o,
    requestParameters: {
      bucketName: 'finance',
      Host: 'finance.s3.us-east-1.amazonaws.com',
      encryption: '',
      ServerSideEncryptionConfiguration: { xmlns: 'http://s3.amazonaws.com/doc/2006-03-01/', Rule: { ApplyServerSideEncryptionByDefault: byDefault, BucketKeyEnabled: true } },
    },
  });
const kmsDefault = (kmsKeyId?: string, o?: Parameters<typeof setDefault>[1]) => setDefault({ SSEAlgorithm: 'aws:kms', ...(kmsKeyId !== undefined ? { KMSMasterKeyID: kmsKeyId } : {}) }, o);

export const cases = (): readonly RuleCase[] => [
  { name: 'fires HIGH when the default becomes a key of an account the configuration does not trust', events: [kmsDefault(FOREIGN_KEY)], expectFindings: 1, expectSeverity: 'HIGH' },
  {
    name: 'fires HIGH for an alias ARN of another account, in the SDKs\' shape (a list of rules)',
    events: [
      otherEvent('s3.amazonaws.com', 'PutBucketEncryption', {
        requestParameters: { bucketName: 'finance', ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms:dsse', KMSMasterKeyID: `arn:aws:kms:us-east-1:${FOREIGN_ACCOUNT}:alias/locker` } }] } },
      }),
    ],
    expectFindings: 1,
    expectSeverity: 'HIGH',
  },
  { name: 'one finding for the same change made twice', events: [kmsDefault(FOREIGN_KEY), kmsDefault(FOREIGN_KEY, { atMs: BASE_TIME_MS + minutes(10) })], expectFindings: 1, expectSeverity: 'HIGH' },
  { name: 'fires HIGH for a foreign key even where the bucket\'s required key is configured', events: [kmsDefault(FOREIGN_KEY)], config: REQUIRES_OWN_KEY, expectFindings: 1, expectSeverity: 'HIGH' },
  { name: 'stays silent for a key of a trusted account', events: [kmsDefault(FOREIGN_KEY)], config: { trustedAccounts: [FOREIGN_ACCOUNT] }, expectFindings: 0 },
  {
    name: 'learns a key of another account that the bucket owner\'s account had been using for a learning period (a key account of the organization)',
    learningPeriodMs: hours(1),
    events: [kmsEvent({ eventName: 'GenerateDataKey', keyArn: FOREIGN_KEY }), kmsDefault(FOREIGN_KEY, { atMs: BASE_TIME_MS + hours(2) })],
    expectFindings: 0,
  },
  {
    name: 'fires HIGH for such a key that the owner\'s account began using less than a learning period before',
    learningPeriodMs: hours(1),
    events: [kmsEvent({ eventName: 'GenerateDataKey', keyArn: FOREIGN_KEY }), kmsDefault(FOREIGN_KEY, { atMs: BASE_TIME_MS + minutes(30) })],
    expectFindings: 1,
    expectSeverity: 'HIGH',
  },
  {
    name: 'fires HIGH for such a key that another account, not the owner\'s, had been using',
    learningPeriodMs: hours(1),
    events: [kmsEvent({ eventName: 'GenerateDataKey', keyArn: FOREIGN_KEY, who: { role: 'Partner', account: '444455556666' } }), kmsDefault(FOREIGN_KEY, { atMs: BASE_TIME_MS + hours(2) })],
    expectFindings: 1,
    expectSeverity: 'HIGH',
  },
  { name: 'stays silent for a key of the bucket owner\'s account', events: [kmsDefault(OWN_KEY), kmsDefault('alias/finance'), kmsDefault(OWN_KEY_ID)], expectFindings: 0 },
  { name: 'stays silent for SSE-S3 or aws/s3 where no key is required', events: [setDefault({ SSEAlgorithm: 'AES256' }), kmsDefault()], expectFindings: 0 },
  { name: 'stays silent for a failed call', events: [kmsDefault(FOREIGN_KEY, { errorCode: 'AccessDenied' })], expectFindings: 0 },
  { name: 'fires when the default of a bucket that requires a key becomes SSE-S3', events: [setDefault({ SSEAlgorithm: 'AES256' })], config: REQUIRES_OWN_KEY, expectFindings: 1, expectSeverity: 'MEDIUM' },
  { name: 'fires when it becomes the AWS-managed aws/s3 key', events: [kmsDefault()], config: REQUIRES_OWN_KEY, expectFindings: 1, expectSeverity: 'MEDIUM' },
  { name: 'fires when it becomes another key of the same account', events: [kmsDefault('arn:aws:kms:us-east-1:111122223333:key/0000aaaa-0000-4000-8000-000000000001')], config: REQUIRES_OWN_KEY, expectFindings: 1, expectSeverity: 'MEDIUM' },
  { name: 'stays silent when it becomes the required key, by ARN or by id', events: [kmsDefault(OWN_KEY), kmsDefault(OWN_KEY_ID)], config: REQUIRES_OWN_KEY, expectFindings: 0 },
  { name: 'stays silent when it names the required alias', events: [kmsDefault('alias/finance'), kmsDefault('arn:aws:kms:us-east-1:111122223333:alias/finance')], config: { buckets: [{ name: 'finance', requiredKmsKey: 'alias/finance' }] }, expectFindings: 0 },
  { name: 'fires when it names another alias than the required one', events: [kmsDefault('alias/scratch')], config: { buckets: [{ name: 'finance', requiredKmsKey: 'alias/finance' }] }, expectFindings: 1 },
  { name: 'leaves an alias it cannot match to the required key ARN to the writes', events: [kmsDefault('alias/finance')], config: REQUIRES_OWN_KEY, expectFindings: 0 },
  { name: 'fires when the default encryption of a bucket that requires a key is removed', events: [otherEvent('s3.amazonaws.com', 'DeleteBucketEncryption', { requestParameters: { bucketName: 'finance', encryption: '' } })], config: REQUIRES_OWN_KEY, expectFindings: 1 },
  { name: 'stays silent when it is removed from a bucket that requires none', events: [otherEvent('s3.amazonaws.com', 'DeleteBucketEncryption', { requestParameters: { bucketName: 'finance', encryption: '' } })], expectFindings: 0 },
  {
    name: 'fires when a bucket is made to accept SSE-C again',
    events: [setDefault({ SSEAlgorithm: 'AES256' }), otherEvent('s3.amazonaws.com', 'PutBucketEncryption', { requestParameters: { bucketName: 'finance', ServerSideEncryptionConfiguration: { Rule: { BlockedEncryptionTypes: { EncryptionType: 'NONE' } } } } })],
    expectFindings: 1,
    expectSeverity: 'MEDIUM',
  },
  {
    name: 'stays silent when SSE-C is blocked',
    events: [otherEvent('s3.amazonaws.com', 'PutBucketEncryption', { requestParameters: { bucketName: 'finance', ServerSideEncryptionConfiguration: { Rule: { ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' }, BlockedEncryptionTypes: { EncryptionType: ['SSE-C'] } } } } })],
    expectFindings: 0,
  },
  { name: 'stays silent for a record whose request body CloudTrail left out', events: [otherEvent('s3.amazonaws.com', 'PutBucketEncryption', { requestParameters: { bucketName: 'finance' } })], config: REQUIRES_OWN_KEY, expectFindings: 0 },
];
