import { KMS_KEY_USE_OPERATIONS } from '../events/kms-operations.ts';
import { BASE_TIME_MS, hours, kmsEvent, KEY_ARN } from '../testing/builders.ts';
import { defineRule, type RuleCase } from './define-rule.ts';
import { byFirstSeen, dateOf, keyLabel, listFew, origin, principalLabel } from './wording.ts';

export const rule = defineRule({
  id: 'kms-unusual-principal',
  title: 'KMS Key Used By An Unusual Principal',
  description:
    'A principal used a KMS key for a cryptographic operation (decrypting, encrypting, generating data keys, or signing, making an HMAC or deriving a shared secret) that it never used during the key\'s learning period, or that the configuration does not allow for that key. New callers of a key that protects data are how stolen credentials turn into readable data; new callers of a signing or HMAC key, into signatures and tokens others trust.',
  severity: 'MEDIUM',
  status: 'test',
  references: [
    'https://attack.mitre.org/techniques/T1530/',
    'https://docs.aws.amazon.com/kms/latest/developerguide/control-access.html',
  ],
  falsePositives: [
    'A new application or role that was just granted use of the key',
    'A role renamed or recreated (a new role ARN)',
    'The learning period did not cover a rarely running job (monthly or quarterly)',
  ],
  tags: ['attack.collection', 'attack.t1530', 'attack.credential-access'],
  runbook:
    'Confirm with the key owner that this principal should use the key. Check who assumed the role (CloudTrail AssumeRole for the session) and from where. If unexpected, revoke the session (aws:TokenIssueTime condition), remove the grant or key-policy statement that allows it, and review what the decrypted data was (for Sign or GenerateMac: what was signed, and where those signatures or tokens are trusted).',
  findingTypes: ['Unusual Behaviors/User', 'TTPs/Collection'],
  selection: [{ eventSource: 'kms.amazonaws.com', eventNames: KMS_KEY_USE_OPERATIONS }],
  detect: (e, ctx) => {
    if (e.keyArn === undefined || e.errorCode !== undefined || e.principal.isAwsService) return undefined;
    const alias = e.keyAlias ?? ctx.aliasOf(e.keyArn);
    const sensitive = ctx.keyPolicy.isSensitiveKey(e.keyArn, alias);
    const severity = sensitive ? ('HIGH' as const) : undefined;
    const subject = `${e.principal.id}|${e.keyArn}`;
    const allowed = ctx.keyPolicy.isPrincipalAllowed(e.keyArn, alias, e.principal.id);
    if (allowed === false) {
      return {
        subject,
        ...(severity !== undefined ? { severity } : {}),
        aggregationWindowMs: hours(24),
        reason: `${e.eventName} by ${principalLabel(e)} with key ${keyLabel(e, alias)} ${origin(e)}: the configuration does not allow this principal to use this key.`,
      };
    }
    if (allowed === true || ctx.isLearning(e.keyArn, e.eventTimeMs)) return undefined;
    const baseline = ctx.keyBaseline(e.keyArn);
    if (baseline === undefined || Object.prototype.hasOwnProperty.call(baseline.principals, e.principal.id)) return undefined;
    return {
      subject,
      ...(severity !== undefined ? { severity } : {}),
      aggregationWindowMs: hours(24),
      reason: `First ${e.eventName} by ${principalLabel(e)} with key ${keyLabel(e, alias)} since history began on ${dateOf(baseline.firstSeenMs)}, ${origin(e)}. This key's usual callers: ${listFew(byFirstSeen(baseline.principals))}.${sensitive ? ' The key is marked sensitive.' : ''}`,
    };
  },
});

const learned = { learningPeriodMs: hours(1) };
const known = (offsetMs = 0) => kmsEvent({ who: { role: 'PaymentsApp' }, atMs: BASE_TIME_MS + offsetMs, context: { app: 'payments' } });

export const cases = (): readonly RuleCase[] => [
  {
    name: 'fires when a role never seen on the key decrypts after the learning period',
    ...learned,
    events: [known(), kmsEvent({ who: { role: 'Intruder' }, atMs: BASE_TIME_MS + hours(2) })],
    expectFindings: 1,
  },
  {
    name: 'stays silent for the key\'s usual caller after learning',
    ...learned,
    events: [known(), known(hours(2)), known(hours(3))],
    expectFindings: 0,
  },
  {
    name: 'stays silent during the learning period and learns the caller',
    ...learned,
    events: [known(), kmsEvent({ who: { role: 'Batch' }, atMs: BASE_TIME_MS + hours(0.5) }), kmsEvent({ who: { role: 'Batch' }, atMs: BASE_TIME_MS + hours(2) })],
    expectFindings: 0,
  },
  {
    name: 'raises one finding for many calls by the same new principal in a day',
    ...learned,
    events: [known(), ...[2, 3, 4].map((h) => kmsEvent({ who: { role: 'Intruder', session: `s${h}` }, atMs: BASE_TIME_MS + hours(h) }))],
    expectFindings: 1,
  },
  {
    name: 'fires at once, even while learning, for a principal the configuration does not allow',
    events: [kmsEvent({ who: { role: 'Intruder' } })],
    config: { keys: [{ arn: KEY_ARN, allowedPrincipals: ['arn:aws:iam::*:role/PaymentsApp'] }] },
    expectFindings: 1,
  },
  {
    name: 'raises HIGH on a key the configuration marks sensitive',
    ...learned,
    events: [known(), kmsEvent({ who: { role: 'Intruder' }, atMs: BASE_TIME_MS + hours(2) })],
    config: { keys: [{ alias: 'alias/*', sensitive: true }, { arn: KEY_ARN, sensitive: true }] },
    expectFindings: 1,
    expectSeverity: 'HIGH',
  },
  {
    name: 'stays silent for a principal the configuration allows',
    ...learned,
    events: [known(), kmsEvent({ who: { role: 'Batch' }, atMs: BASE_TIME_MS + hours(2) })],
    config: { keys: [{ arn: KEY_ARN, allowedPrincipals: ['arn:aws:iam::*:role/PaymentsApp', 'arn:aws:iam::*:role/Batch'] }] },
    expectFindings: 0,
  },
  {
    name: 'fires when a role never seen on a signing key signs with it after the learning period',
    ...learned,
    events: [
      kmsEvent({ eventName: 'Sign', who: { role: 'ReleaseSigner' } }),
      kmsEvent({ eventName: 'Sign', who: { role: 'ReleaseSigner' }, atMs: BASE_TIME_MS + hours(2) }),
      kmsEvent({ eventName: 'Sign', who: { role: 'Intruder' }, atMs: BASE_TIME_MS + hours(3) }),
    ],
    expectFindings: 1,
  },
  {
    name: 'stays silent for a new principal that only verifies signatures',
    ...learned,
    events: [kmsEvent({ eventName: 'Sign', who: { role: 'ReleaseSigner' } }), kmsEvent({ eventName: 'Verify', who: { role: 'Installer' }, atMs: BASE_TIME_MS + hours(2) })],
    expectFindings: 0,
  },
  {
    name: 'ignores AWS service principals and failed calls',
    ...learned,
    events: [known(), kmsEvent({ who: { service: 'secretsmanager.amazonaws.com' }, atMs: BASE_TIME_MS + hours(2) }), kmsEvent({ who: { role: 'Intruder' }, errorCode: 'AccessDeniedException', atMs: BASE_TIME_MS + hours(2) })],
    expectFindings: 0,
  },
];
