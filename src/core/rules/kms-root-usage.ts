import { KMS_KEY_USE_OPERATIONS } from '../events/kms-operations.ts';
import { kmsEvent } from '../testing/builders.ts';
import { defineRule, type RuleCase } from './define-rule.ts';
import { keyLabel, origin } from './wording.ts';

export const rule = defineRule({
  id: 'kms-root-usage',
  title: 'Root User Used A KMS Key',
  description: 'The account root user called Decrypt, Encrypt, ReEncrypt or GenerateDataKey*, or signed, made an HMAC or derived a shared secret with a key (Sign, GenerateMac, DeriveSharedSecret). Root should never use keys in day-to-day work; its use is either break-glass or compromise.',
  severity: 'HIGH',
  status: 'stable',
  references: ['https://docs.aws.amazon.com/IAM/latest/UserGuide/root-user-best-practices.html', 'https://attack.mitre.org/techniques/T1078/004/'],
  falsePositives: ['A documented break-glass procedure'],
  tags: ['attack.privilege-escalation', 'attack.t1078.004'],
  runbook: 'Confirm a break-glass event with the account owner. Otherwise treat the root credentials as compromised: reset the password, rotate MFA, delete root access keys, and review everything root did.',
  findingTypes: ['TTPs/Privilege Escalation', 'Unusual Behaviors/User'],
  selection: [{ eventSource: 'kms.amazonaws.com', eventNames: KMS_KEY_USE_OPERATIONS }],
  detect: (e) =>
    e.principal.type !== 'Root'
      ? undefined
      : {
          subject: `${e.principal.id}|${e.keyArn ?? 'unknown-key'}`,
          reason: `The root user of account ${e.principal.accountId ?? 'unknown'} called ${e.eventName} with key ${keyLabel(e)} ${origin(e)}${e.errorCode !== undefined ? ` (it failed: ${e.errorCode})` : ''}.`,
        },
});

export const cases = (): readonly RuleCase[] => [
  { name: 'fires when root decrypts', events: [kmsEvent({ who: { root: true } })], expectFindings: 1 },
  { name: 'fires when root generates a data key', events: [kmsEvent({ who: { root: true }, eventName: 'GenerateDataKey' })], expectFindings: 1 },
  { name: 'fires when root signs with an asymmetric key', events: [kmsEvent({ who: { root: true }, eventName: 'Sign' })], expectFindings: 1 },
  { name: 'stays silent for root verifying a signature (no private key involved)', events: [kmsEvent({ who: { root: true }, eventName: 'Verify' })], expectFindings: 0 },
  { name: 'stays silent for roles', events: [kmsEvent({ who: { role: 'Admin' } })], expectFindings: 0 },
  { name: 'stays silent for root reading key metadata', events: [kmsEvent({ who: { root: true }, eventName: 'DescribeKey' })], expectFindings: 0 },
];
