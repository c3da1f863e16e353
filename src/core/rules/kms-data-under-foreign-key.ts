import { KMS_CRYPTO_OPERATIONS } from '../events/kms-operations.ts';
import { accountOfNamedKey, reEncryptDestinationArnOf } from '../events/normalize.ts';
import type { KmsCall } from '../events/types.ts';
import { ACCOUNT, BASE_TIME_MS, hours, KEY_ARN, kmsEvent, minutes } from '../testing/builders.ts';
import { defineRule, type RuleCase } from './define-rule.ts';
import { accountUsedKeyForLearningPeriod } from './learned-key-use.ts';
import { keyLabel, origin, principalLabel } from './wording.ts';

/** The calls that leave data encrypted under a key: every cryptographic call but Decrypt (Encrypt, data keys, ReEncrypt). */
const ENCRYPTING_OPERATIONS = KMS_CRYPTO_OPERATIONS.filter((op) => op !== 'Decrypt');

/** The key a call leaves data under, with its account: by ARN where the record says it. */
interface ProtectingKey {
  readonly arn: string | undefined;
  /** As the finding names it: the key's ARN, else the alias ARN the caller gave. */
  readonly named: string;
  readonly account: string;
}

/**
 * A ReEncrypt's destination as the caller named it; any other call's key. A destination named by key id or alias
 * name is in the caller's own account (accountOfNamedKey), so only an ARN can name another account's.
 */
const protectingKeyOf = (e: KmsCall): ProtectingKey | undefined => {
  if (e.eventName !== 'ReEncrypt') return e.keyArn !== undefined && e.keyAccountId !== undefined ? { arn: e.keyArn, named: e.keyArn, account: e.keyAccountId } : undefined;
  const named = e.request.destinationKeyId;
  const account = named === undefined ? undefined : accountOfNamedKey(named, e.principal.accountId);
  // The ARN the engine plans and learns the destination's baseline under.
  return named === undefined || account === undefined ? undefined : { arn: reEncryptDestinationArnOf(e), named, account };
};

export const rule = defineRule({
  id: 'kms-data-under-foreign-key',
  title: 'Data Encrypted Under A Key Of An Untrusted Account',
  description:
    'A principal of the account whose trail recorded the call encrypted data (Encrypt, GenerateDataKey*) or re-encrypted ciphertext (ReEncrypt, HIGH) under a KMS key of another account that the configuration does not trust and the caller\'s account had not been using for a learning period. Whoever controls that key decides whether the data can be decrypted again and sees every decrypt: ransomware and exfiltration both work this way. S3 writes are s3-put-without-required-kms\'s; calls AWS services make as themselves are left out.',
  severity: 'MEDIUM',
  status: 'experimental',
  references: ['https://docs.aws.amazon.com/kms/latest/APIReference/API_ReEncrypt.html', 'https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-modifying-external-accounts.html', 'https://attack.mitre.org/techniques/T1486/'],
  falsePositives: [
    "A key account of the organization newly used (it is learned after a learning period of use): list the organization's accounts under trustedAccounts",
    'Data exchanged with a partner under its key by arrangement: trust the account',
    'A copy of a snapshot or backup re-encrypted for the account that receives it',
  ],
  tags: ['attack.impact', 'attack.t1486', 'attack.exfiltration', 'attack.t1537'],
  runbook:
    'Find what was encrypted under the key (the calls\' encryption context; kdm history --key <its ARN> --principal <the caller>) and how the caller came to name it: configuration, code, a changed alias. If the account is neither the organization\'s nor an approved partner\'s, revoke the caller\'s session and re-encrypt the data under a key of your own while that account still lets you decrypt it.',
  findingTypes: ['TTPs/Impact', 'Effects/Data Exposure'],
  selection: [{ eventSource: 'kms.amazonaws.com', eventNames: ENCRYPTING_OPERATIONS }],
  detect: (e, ctx) => {
    if (e.errorCode !== undefined || e.madeByS3 || e.principal.isAwsService) return undefined;
    // The caller's own account's copy of the call: the key owner's copy is kms-cross-account's to weigh.
    const caller = e.principal.accountId;
    if (caller === undefined || caller !== e.recipientAccountId) return undefined;
    const key = protectingKeyOf(e);
    if (key === undefined || key.account === caller || ctx.keyPolicy.isAccountTrusted(key.account)) return undefined;
    if (key.arn !== undefined && accountUsedKeyForLearningPeriod(key.arn, caller, e.eventTimeMs, ctx)) return undefined;
    const reEncrypt = e.eventName === 'ReEncrypt';
    const what = reEncrypt ? `re-encrypted data from key ${keyLabel(e)} under key ${key.named}` : `called ${e.eventName} with key ${keyLabel(e)}`;
    return {
      subject: `${e.principal.id}|${key.named}`,
      ...(reEncrypt ? { severity: 'HIGH' as const } : {}),
      reason: `${principalLabel(e)} of account ${caller} ${what} of account ${key.account} ${origin(e)}. The configuration does not trust account ${key.account}, and account ${caller} had not been using the key: whoever controls it decides whether the data can be decrypted again, and sees every decrypt.`,
      ...(key.arn !== undefined ? { key: { arn: key.arn, accountId: key.account } } : {}),
    };
  },
});

const FOREIGN_ACCOUNT = '999988887777';
const FOREIGN_KEY = `arn:aws:kms:us-east-1:${FOREIGN_ACCOUNT}:key/3f1c0000-0000-4000-8000-0000000000ff`;
const reEncryptTo = (destinationKeyId: string, o: Parameters<typeof kmsEvent>[0] = {}) =>
  kmsEvent({ eventName: 'ReEncrypt', ...o, requestParameters: { sourceKeyId: KEY_ARN, destinationKeyId } });

export const cases = (): readonly RuleCase[] => [
  { name: 'fires when a principal of this account generates a data key under a key of an untrusted account', events: [kmsEvent({ eventName: 'GenerateDataKey', keyArn: FOREIGN_KEY })], expectFindings: 1, expectSeverity: 'MEDIUM' },
  { name: 'fires HIGH when it re-encrypts data under such a key', events: [reEncryptTo(FOREIGN_KEY)], expectFindings: 1, expectSeverity: 'HIGH' },
  { name: 'fires HIGH when the destination is such an account\'s alias', events: [reEncryptTo(`arn:aws:kms:us-east-1:${FOREIGN_ACCOUNT}:alias/locker`)], expectFindings: 1, expectSeverity: 'HIGH' },
  { name: 'one finding for a principal\'s calls under the key', events: [0, 1, 2].map((i) => kmsEvent({ eventName: 'Encrypt', keyArn: FOREIGN_KEY, atMs: BASE_TIME_MS + minutes(i) })), expectFindings: 1 },
  { name: 'learns an arrangement older than the learning period', learningPeriodMs: hours(1), events: [kmsEvent({ eventName: 'GenerateDataKey', keyArn: FOREIGN_KEY }), kmsEvent({ eventName: 'GenerateDataKey', keyArn: FOREIGN_KEY, atMs: BASE_TIME_MS + hours(30) })], expectFindings: 1 },
  {
    name: 'learns re-encrypting into the key as any other use: silent once the account had been doing it for a learning period',
    learningPeriodMs: hours(1),
    events: [reEncryptTo(FOREIGN_KEY), reEncryptTo(FOREIGN_KEY, { atMs: BASE_TIME_MS + hours(30) })],
    expectFindings: 1,
  },
  {
    name: 'stays silent for a re-encryption under a key the account had been using for a learning period',
    learningPeriodMs: hours(1),
    events: [kmsEvent({ eventName: 'Decrypt', keyArn: FOREIGN_KEY, atMs: BASE_TIME_MS - hours(2) }), reEncryptTo(FOREIGN_KEY)],
    expectFindings: 0,
  },
  { name: 'stays silent for a key of a trusted account', events: [kmsEvent({ eventName: 'GenerateDataKey', keyArn: FOREIGN_KEY }), reEncryptTo(FOREIGN_KEY)], config: { trustedAccounts: [FOREIGN_ACCOUNT] }, expectFindings: 0 },
  { name: 'stays silent for keys of the caller\'s account, however a destination names them', events: [kmsEvent({ eventName: 'Encrypt' }), reEncryptTo(KEY_ARN), reEncryptTo('alias/app-data'), reEncryptTo('0987dcba-09fe-87dc-65ba-ab0987654321')], expectFindings: 0 },
  { name: 'stays silent for a decrypt, which leaves nothing under the key', events: [kmsEvent({ keyArn: FOREIGN_KEY })], expectFindings: 0 },
  { name: 'stays silent for the key owner\'s copy of the call', events: [kmsEvent({ eventName: 'GenerateDataKey', keyArn: FOREIGN_KEY, recipientAccountId: FOREIGN_ACCOUNT })], expectFindings: 0 },
  { name: 'stays silent for a failed call (the denial rule counts attempts)', events: [kmsEvent({ eventName: 'GenerateDataKey', keyArn: FOREIGN_KEY, errorCode: 'AccessDeniedException' })], expectFindings: 0 },
  { name: 'stays silent for a data key S3 generated for a write (s3-put-without-required-kms weighs those)', events: [kmsEvent({ eventName: 'GenerateDataKey', keyArn: FOREIGN_KEY, s3Arn: 'arn:aws:s3:::finance/in/a.csv' })], expectFindings: 0 },
  { name: 'stays silent for an AWS service acting as itself', events: [kmsEvent({ eventName: 'GenerateDataKey', keyArn: FOREIGN_KEY, who: { service: 'cloudtrail.amazonaws.com' }, recipientAccountId: ACCOUNT })], expectFindings: 0 },
];
