import { KMS_CRYPTO_OPERATIONS } from '../events/kms-operations.ts';
import { BASE_TIME_MS, hours, kmsEvent, KEY_ARN } from '../testing/builders.ts';
import { defineRule, type RuleCase } from './define-rule.ts';
import { byFirstSeen, keyLabel, listFew, origin, percent, principalLabel } from './wording.ts';

/** A key's callers "normally pass context" when at least this share of enough direct calls did. */
const MIN_DIRECT_CALLS = 5;
const MIN_CONTEXT_SHARE = 0.9;

export const rule = defineRule({
  id: 'kms-missing-encryption-context',
  title: 'KMS Call Without Expected Encryption Context',
  description:
    'A direct (not AWS-service-made) cryptographic call carried no encryption context although the key\'s callers normally pass one, or it lacks or contradicts context the configuration requires. Context binds ciphertext to its purpose; a call without it is often someone replaying ciphertext outside the application.',
  severity: 'MEDIUM',
  status: 'experimental',
  references: [
    'https://docs.aws.amazon.com/kms/latest/developerguide/encrypt_context.html',
    'https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-encryption-context',
  ],
  falsePositives: ['A legacy client or migration script that never passed context', 'A new code path in the application that forgot the context'],
  tags: ['attack.collection', 'attack.t1530'],
  runbook:
    'Identify the caller (principal, source IP, user agent) and whether it is the application. Enforce context in the key policy with kms:EncryptionContext conditions so calls without it fail.',
  findingTypes: ['Software and Configuration Checks/AWS Security Best Practices', 'Unusual Behaviors/Application'],
  selection: [{ eventSource: 'kms.amazonaws.com', eventNames: KMS_CRYPTO_OPERATIONS }],
  detect: (e, ctx) => {
    if (e.keyArn === undefined || e.errorCode !== undefined || e.madeByAwsService || e.principal.isAwsService) return undefined;
    const alias = e.keyAlias ?? ctx.aliasOf(e.keyArn);
    const context = e.encryptionContext ?? {};
    const subject = `${e.principal.id}|${e.keyArn}`;
    const required = ctx.keyPolicy.requiredContext(e.keyArn, alias);
    if (required !== undefined) {
      const problems: string[] = [];
      for (const [name, value] of Object.entries(required)) {
        const actual = Object.prototype.hasOwnProperty.call(context, name) ? context[name] : undefined;
        if (actual === undefined) problems.push(`lacks ${name}${value === null ? '' : `=${value}`}`);
        else if (value !== null && actual !== value) problems.push(`has ${name}=${actual} where ${name}=${value} is required`);
      }
      if (problems.length > 0) {
        return { subject, reason: `${e.eventName} by ${principalLabel(e)} with key ${keyLabel(e, alias)} ${origin(e)}: its encryption context ${problems.join('; ')}.` };
      }
      return undefined;
    }
    if (Object.keys(context).length > 0 || ctx.isLearning(e.keyArn, e.eventTimeMs)) return undefined;
    const b = ctx.keyBaseline(e.keyArn);
    if (b === undefined || b.directCalls < MIN_DIRECT_CALLS || b.directCallsWithContext / b.directCalls < MIN_CONTEXT_SHARE) return undefined;
    return {
      subject,
      reason: `${e.eventName} by ${principalLabel(e)} with key ${keyLabel(e, alias)} ${origin(e)} carried no encryption context, while ${percent(b.directCallsWithContext, b.directCalls)} of the key's ${b.directCalls} direct calls pass one (usual keys: ${listFew(byFirstSeen(b.contextKeys))}).`,
    };
  },
});

const withContext = (i: number) => kmsEvent({ who: { role: 'PaymentsApp' }, context: { app: 'payments', env: 'prod' }, atMs: BASE_TIME_MS + i * 60_000 });
const learning = () => Array.from({ length: 6 }, (_, i) => withContext(i));
const learned = { learningPeriodMs: hours(1) };

export const cases = (): readonly RuleCase[] => [
  {
    name: 'fires for a direct Decrypt with no context on a key whose callers always pass one',
    ...learned,
    events: [...learning(), kmsEvent({ who: { role: 'PaymentsApp' }, context: null, atMs: BASE_TIME_MS + hours(2) })],
    expectFindings: 1,
  },
  {
    name: 'stays silent when the key\'s callers do not normally pass context',
    ...learned,
    events: [...Array.from({ length: 6 }, (_, i) => kmsEvent({ context: null, atMs: BASE_TIME_MS + i * 60_000 })), kmsEvent({ context: null, atMs: BASE_TIME_MS + hours(2) })],
    expectFindings: 0,
  },
  {
    name: 'ignores S3-made calls (S3 always adds aws:s3:arn)',
    ...learned,
    events: [...learning(), kmsEvent({ context: null, viaService: 'AWS Internal', atMs: BASE_TIME_MS + hours(2) })],
    expectFindings: 0,
  },
  {
    name: 'ignores Sign and GenerateMac, which take no encryption context',
    ...learned,
    events: [...learning(), kmsEvent({ eventName: 'Sign', who: { role: 'PaymentsApp' }, atMs: BASE_TIME_MS + hours(2) }), kmsEvent({ eventName: 'GenerateMac', who: { role: 'PaymentsApp' }, atMs: BASE_TIME_MS + hours(2) })],
    expectFindings: 0,
  },
  {
    name: 'fires when required context is missing or contradicted',
    events: [kmsEvent({ context: { app: 'payments', env: 'dev' } }), kmsEvent({ context: { app: 'payments' }, who: { role: 'Other' } })],
    config: { keys: [{ arn: KEY_ARN, requiredContext: { env: 'prod', app: '*' } }] },
    expectFindings: 2,
  },
  {
    name: 'stays silent when required context is present',
    events: [kmsEvent({ context: { app: 'billing', env: 'prod' } })],
    config: { keys: [{ arn: KEY_ARN, requiredContext: { env: 'prod', app: '*' } }] },
    expectFindings: 0,
  },
];
