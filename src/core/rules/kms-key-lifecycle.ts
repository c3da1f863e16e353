import { kmsEvent } from '../testing/builders.ts';
import { defineRule, type RuleCase } from './define-rule.ts';
import { keyLabel, listFew, origin, principalLabel } from './wording.ts';

interface PolicyStatement {
  readonly Effect?: unknown;
  readonly Principal?: unknown;
  readonly Action?: unknown;
  readonly Condition?: unknown;
}

const principalsOf = (principal: unknown): string[] => {
  if (principal === '*') return ['*'];
  if (typeof principal !== 'object' || principal === null) return [];
  const aws = (principal as { AWS?: unknown }).AWS;
  if (typeof aws === 'string') return [aws];
  return Array.isArray(aws) ? aws.filter((p): p is string => typeof p === 'string') : [];
};

/**
 * The account a principal of a key policy or a grant is in: an account id, an IAM or STS ARN's account, or the
 * account that leads the ids KMS logs for AWS services acting in an account (`111122223333:aws:ec2-infrastructure:…`);
 * undefined for a service principal or an id that names no account.
 */
const accountOfPrincipal = (p: string): string | undefined => /^(\d{12})(?::|$)/.exec(p)?.[1] ?? /^arn:[^:]+:(?:iam|sts)::(\d{12}):/.exec(p)?.[1];

/** A key policy's statements (one or a list); undefined when the text is not a policy. Never throws. */
const statementsOf = (policyText: string | undefined): readonly PolicyStatement[] | undefined => {
  let policy: unknown;
  try {
    policy = JSON.parse(policyText ?? '');
  } catch {
    return undefined;
  }
  if (typeof policy !== 'object' || policy === null) return undefined;
  const statements = (policy as { Statement?: unknown }).Statement;
  return Array.isArray(statements) ? (statements as PolicyStatement[]) : typeof statements === 'object' && statements !== null ? [statements as PolicyStatement] : [];
};

/** Why a key policy opens the key to anyone or to another account, or undefined. Never throws. */
export const policyOpening = (policyText: string | undefined, ownerAccount: string | undefined): string | undefined => {
  for (const st of statementsOf(policyText) ?? []) {
    if (st.Effect !== 'Allow') continue;
    for (const p of principalsOf(st.Principal)) {
      if (p === '*' && st.Condition === undefined) return 'a statement allows any principal ("*") with no condition';
      const account = accountOfPrincipal(p);
      if (account !== undefined && ownerAccount !== undefined && account !== ownerAccount) return `a statement allows account ${account}`;
    }
  }
  return undefined;
};

/**
 * Whether a key policy lets anyone of `account` in: an Allow statement naming a principal of that account, or "*".
 * Undefined when the text is not a policy. Never throws.
 */
export const policyLetsAccountIn = (policyText: string | undefined, account: string): boolean | undefined =>
  statementsOf(policyText)?.some((st) => st.Effect === 'Allow' && principalsOf(st.Principal).some((p) => p === '*' || accountOfPrincipal(p) === account));

/** The account of a grant's grantee when it is not the key's owner's, or undefined. Never throws. */
const granteeElsewhere = (grantee: string | undefined, ownerAccount: string | undefined): string | undefined => {
  const account = grantee === undefined ? undefined : accountOfPrincipal(grantee);
  return account !== undefined && ownerAccount !== undefined && account !== ownerAccount ? account : undefined;
};

const WHAT: Readonly<Record<string, string>> = {
  DisableKey: 'disabled the key: everything encrypted under it is unreadable until it is enabled again',
  ScheduleKeyDeletion: 'scheduled the key for deletion: data encrypted under it becomes unrecoverable when the waiting period ends',
  ImportKeyMaterial: 'imported new key material',
  DeleteImportedKeyMaterial: 'deleted the imported key material: the key is unusable until material is imported again',
};

export const rule = defineRule({
  id: 'kms-key-lifecycle',
  title: 'KMS Key Disabled, Deleted Or Opened Up',
  description:
    'A key was disabled or scheduled for deletion (ransomware and sabotage make data unrecoverable this way), its imported material was replaced or deleted, its key policy was changed to allow anyone or another account, or set with KMS\'s lockout safety check bypassed (a policy that locks the owner out leaves the key unusable for good), or a grant gave a principal of another account use of it (a grant needs no change to the key policy, and outlives the session that made it).',
  severity: 'HIGH',
  status: 'stable',
  references: ['https://attack.mitre.org/techniques/T1485/', 'https://attack.mitre.org/techniques/T1486/', 'https://docs.aws.amazon.com/kms/latest/developerguide/deleting-keys.html'],
  falsePositives: [
    'Planned key retirement with a change ticket',
    'A deliberate cross-account share with a partner account',
    "An AWS service (EBS, RDS, AWS Backup) granting itself use of a key shared with another account, for a copy made there: the record's invokedBy names the service",
  ],
  tags: ['attack.impact', 'attack.t1485', 'attack.t1486', 'attack.persistence'],
  runbook:
    'Confirm the change with the key owner. Unplanned deletion: run CancelKeyDeletion now (the waiting period is the only window). Re-enable a disabled key. Restore the previous key policy from CloudTrail (PutKeyPolicy\'s policy) or version control; a policy that locks the owner out takes AWS Support. Unplanned grant: find it with ListGrants (its id is in the CreateGrant record\'s responseElements), remove it with RevokeGrant, then review what the grantee did with the key (kdm history --key).',
  findingTypes: ['Effects/Data Destruction', 'TTPs/Persistence', 'Software and Configuration Checks/AWS Security Best Practices'],
  selection: [{ eventSource: 'kms.amazonaws.com', eventNames: ['DisableKey', 'ScheduleKeyDeletion', 'ImportKeyMaterial', 'DeleteImportedKeyMaterial', 'PutKeyPolicy', 'CreateGrant'] }],
  detect: (e) => {
    if (e.errorCode !== undefined) return undefined;
    const subject = `${e.eventName}|${e.keyArn ?? e.keyIdParameter ?? 'unknown-key'}`;
    const owner = e.keyAccountId ?? e.recipientAccountId;
    if (e.eventName === 'PutKeyPolicy') {
      const opening = policyOpening(e.request.policy, owner);
      const bypassed = e.request.bypassPolicyLockoutSafetyCheck === true;
      if (opening === undefined && !bypassed) return undefined;
      const why: string[] = [];
      if (bypassed) {
        // KMS refuses a policy that would lock its caller out unless told to skip that check.
        const lockedOut = owner !== undefined && policyLetsAccountIn(e.request.policy, owner) === false;
        why.push(`it skipped KMS's lockout safety check${lockedOut ? `, and the policy lets no principal of account ${owner} in: nobody there can use or manage the key any more` : ', so the policy may leave the key unmanageable'}`);
      }
      if (opening !== undefined) why.push(opening);
      return { subject, reason: `${principalLabel(e)} changed the key policy of ${keyLabel(e)} ${origin(e)}: ${why.join('; ')}.` };
    }
    if (e.eventName === 'CreateGrant') {
      const account = granteeElsewhere(e.request.grantee, owner);
      if (account === undefined) return undefined;
      const operations = e.request.grantOperations !== undefined ? `, for ${listFew(e.request.grantOperations, 8)}` : '';
      const grantee = e.request.grantee ?? '';
      return {
        // One finding a grantee: each grant to another principal is its own way in.
        subject: `${subject}|${grantee}`,
        resource: { type: 'KmsGrantee', arn: grantee, name: grantee.slice(grantee.lastIndexOf('/') + 1) },
        reason: `${principalLabel(e)} granted ${grantee}, of account ${account}, use of the key ${keyLabel(e)}${operations}, ${origin(e)}: a grant lets its grantee use the key without the key policy naming it.`,
      };
    }
    const window = e.request.pendingWindowInDays !== undefined ? ` (waiting period ${e.request.pendingWindowInDays} days)` : '';
    return { subject, reason: `${principalLabel(e)} ${WHAT[e.eventName] ?? e.eventName}${window}. Key ${keyLabel(e)}, ${origin(e)}.` };
  },
});

const policy = (principal: unknown, condition?: unknown) =>
  JSON.stringify({ Version: '2012-10-17', Statement: [{ Sid: 'x', Effect: 'Allow', Principal: principal, Action: 'kms:*', Resource: '*', ...(condition !== undefined ? { Condition: condition } : {}) }] });

export const cases = (): readonly RuleCase[] => [
  { name: 'fires on ScheduleKeyDeletion', events: [kmsEvent({ eventName: 'ScheduleKeyDeletion', requestParameters: { pendingWindowInDays: 7 } })], expectFindings: 1 },
  { name: 'fires on DisableKey', events: [kmsEvent({ eventName: 'DisableKey' })], expectFindings: 1 },
  { name: 'fires on a key policy that allows "*" without condition', events: [kmsEvent({ eventName: 'PutKeyPolicy', requestParameters: { policy: policy('*') } })], expectFindings: 1 },
  { name: 'fires on a key policy that allows another account', events: [kmsEvent({ eventName: 'PutKeyPolicy', requestParameters: { policy: policy({ AWS: 'arn:aws:iam::999988887777:root' }) } })], expectFindings: 1 },
  { name: 'stays silent for a key policy limited to the owner account', events: [kmsEvent({ eventName: 'PutKeyPolicy', requestParameters: { policy: policy({ AWS: 'arn:aws:iam::111122223333:root' }), bypassPolicyLockoutSafetyCheck: false } })], expectFindings: 0 },
  {
    name: 'fires on a key policy set with the lockout safety check bypassed, one that locks the owner out or not',
    events: [
      kmsEvent({ eventName: 'PutKeyPolicy', requestParameters: { policy: JSON.stringify({ Statement: [{ Effect: 'Deny', Principal: '*', Action: 'kms:*', Resource: '*' }] }), bypassPolicyLockoutSafetyCheck: true } }),
      kmsEvent({ eventName: 'PutKeyPolicy', keyArn: 'arn:aws:kms:us-east-1:111122223333:key/0987dcba-09fe-87dc-65ba-ab0987654321', requestParameters: { policy: policy({ AWS: 'arn:aws:iam::111122223333:role/KeyAdmin' }), bypassPolicyLockoutSafetyCheck: true } }),
    ],
    expectFindings: 2,
  },
  { name: 'stays silent for "*" restricted by a condition', events: [kmsEvent({ eventName: 'PutKeyPolicy', requestParameters: { policy: policy('*', { StringEquals: { 'kms:CallerAccount': '111122223333' } }) } })], expectFindings: 0 },
  { name: 'stays silent for a failed ScheduleKeyDeletion (the denial rule covers attempts)', events: [kmsEvent({ eventName: 'ScheduleKeyDeletion', errorCode: 'AccessDeniedException' })], expectFindings: 0 },
  {
    name: 'fires on a grant to a role of another account, one finding a grantee',
    events: [
      kmsEvent({ eventName: 'CreateGrant', requestParameters: { granteePrincipal: 'arn:aws:iam::999988887777:role/Collector', operations: ['Decrypt', 'GenerateDataKey'] } }),
      kmsEvent({ eventName: 'CreateGrant', requestParameters: { granteePrincipal: 'arn:aws:iam::999988887777:role/Collector', operations: ['Decrypt'] } }),
      kmsEvent({ eventName: 'CreateGrant', requestParameters: { granteePrincipal: 'arn:aws:sts::999988887777:assumed-role/Other/s', operations: ['Decrypt'] } }),
    ],
    expectFindings: 2,
  },
  { name: 'fires on a grant to an AWS service acting in another account', events: [kmsEvent({ eventName: 'CreateGrant', requestParameters: { granteePrincipal: '999988887777:aws:ec2-infrastructure:i-0123', operations: ['Decrypt'] } })], expectFindings: 1 },
  { name: 'stays silent for a grant within the key\'s account', events: [kmsEvent({ eventName: 'CreateGrant', requestParameters: { granteePrincipal: '111122223333:aws:ec2-infrastructure:i-0123', operations: ['Decrypt'] } })], expectFindings: 0 },
  { name: 'stays silent for a grantee that names no account (a service principal)', events: [kmsEvent({ eventName: 'CreateGrant', requestParameters: { granteePrincipal: 'rds.us-east-1.amazonaws.com', operations: ['Decrypt'] } })], expectFindings: 0 },
  { name: 'stays silent for a failed grant (the denial rule covers attempts)', events: [kmsEvent({ eventName: 'CreateGrant', errorCode: 'AccessDeniedException', requestParameters: { granteePrincipal: 'arn:aws:iam::999988887777:root' } })], expectFindings: 0 },
  { name: 'stays silent for a malformed policy', events: [kmsEvent({ eventName: 'PutKeyPolicy', requestParameters: { policy: '{not json' } })], expectFindings: 0 },
  { name: 'stays silent for a policy that is JSON but not an object', events: ['null', '7', '"x"'].map((policy) => kmsEvent({ eventName: 'PutKeyPolicy', requestParameters: { policy } })), expectFindings: 0 },
];
