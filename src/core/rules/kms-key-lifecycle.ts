import { kmsEvent } from '../testing/builders.ts';
import { defineRule, type RuleCase } from './define-rule.ts';
import { keyLabel, origin, principalLabel } from './wording.ts';

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

const accountOfPrincipal = (p: string): string | undefined => (/^\d{12}$/.test(p) ? p : /^arn:[^:]+:iam::(\d{12}):/.exec(p)?.[1]);

/** Why a key policy opens the key to anyone or to another account, or undefined. Never throws. */
export const policyOpening = (policyText: string | undefined, ownerAccount: string | undefined): string | undefined => {
  if (policyText === undefined) return undefined;
  let policy: unknown;
  try {
    policy = JSON.parse(policyText);
  } catch {
    return undefined;
  }
  const statements = (policy as { Statement?: unknown }).Statement;
  const list: PolicyStatement[] = Array.isArray(statements) ? (statements as PolicyStatement[]) : typeof statements === 'object' && statements !== null ? [statements as PolicyStatement] : [];
  for (const st of list) {
    if (st.Effect !== 'Allow') continue;
    for (const p of principalsOf(st.Principal)) {
      if (p === '*' && st.Condition === undefined) return 'a statement allows any principal ("*") with no condition';
      const account = accountOfPrincipal(p);
      if (account !== undefined && ownerAccount !== undefined && account !== ownerAccount) return `a statement allows account ${account}`;
    }
  }
  return undefined;
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
    'A key was disabled or scheduled for deletion (ransomware and sabotage make data unrecoverable this way), its imported material was replaced or deleted, or its key policy was changed to allow anyone or another account.',
  severity: 'HIGH',
  status: 'stable',
  references: ['https://attack.mitre.org/techniques/T1485/', 'https://attack.mitre.org/techniques/T1486/', 'https://docs.aws.amazon.com/kms/latest/developerguide/deleting-keys.html'],
  falsePositives: ['Planned key retirement with a change ticket', 'A deliberate cross-account share with a partner account'],
  tags: ['attack.impact', 'attack.t1485', 'attack.t1486', 'attack.persistence'],
  runbook:
    'Confirm the change with the key owner. For an unplanned deletion run CancelKeyDeletion now (the waiting period is the only window); re-enable a disabled key; restore the previous key policy from CloudTrail (PutKeyPolicy requestParameters.policy) or version control.',
  findingTypes: ['Effects/Data Destruction', 'TTPs/Persistence', 'Software and Configuration Checks/AWS Security Best Practices'],
  selection: [{ eventSource: 'kms.amazonaws.com', eventNames: ['DisableKey', 'ScheduleKeyDeletion', 'ImportKeyMaterial', 'DeleteImportedKeyMaterial', 'PutKeyPolicy'] }],
  detect: (e) => {
    if (e.errorCode !== undefined) return undefined;
    const subject = `${e.eventName}|${e.keyArn ?? e.keyIdParameter ?? 'unknown-key'}`;
    if (e.eventName === 'PutKeyPolicy') {
      const opening = policyOpening(e.request.policy, e.keyAccountId ?? e.recipientAccountId);
      if (opening === undefined) return undefined;
      return { subject, reason: `${principalLabel(e)} changed the key policy of ${keyLabel(e)} ${origin(e)}: ${opening}.` };
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
  { name: 'stays silent for a key policy limited to the owner account', events: [kmsEvent({ eventName: 'PutKeyPolicy', requestParameters: { policy: policy({ AWS: 'arn:aws:iam::111122223333:root' }) } })], expectFindings: 0 },
  { name: 'stays silent for "*" restricted by a condition', events: [kmsEvent({ eventName: 'PutKeyPolicy', requestParameters: { policy: policy('*', { StringEquals: { 'kms:CallerAccount': '111122223333' } }) } })], expectFindings: 0 },
  { name: 'stays silent for a failed ScheduleKeyDeletion (the denial rule covers attempts)', events: [kmsEvent({ eventName: 'ScheduleKeyDeletion', errorCode: 'AccessDeniedException' })], expectFindings: 0 },
  { name: 'stays silent for a malformed policy', events: [kmsEvent({ eventName: 'PutKeyPolicy', requestParameters: { policy: '{not json' } })], expectFindings: 0 },
];
