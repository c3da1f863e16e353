import { KMS_KEY_USE_OPERATIONS } from '../events/kms-operations.ts';
import { BASE_TIME_MS, hours, kmsEvent, OTHER_ACCOUNT } from '../testing/builders.ts';
import { defineRule, type RuleCase } from './define-rule.ts';
import { byFirstSeen, keyLabel, listFew, origin, principalLabel } from './wording.ts';

export const rule = defineRule({
  id: 'kms-cross-account',
  title: 'KMS Key Used From An Untrusted Account',
  description:
    'A principal from another account used the key, and that account is neither trusted in the configuration nor seen using the key during its learning period. A key policy or grant that lets an outside account decrypt is a direct path to the data.',
  severity: 'HIGH',
  status: 'test',
  references: ['https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-modifying-external-accounts.html', 'https://attack.mitre.org/techniques/T1537/'],
  falsePositives: ['A partner or organization account newly and deliberately granted use of the key'],
  tags: ['attack.exfiltration', 'attack.t1537', 'attack.collection'],
  runbook:
    'Find the key-policy statement or grant that allows the outside account (kms:GetKeyPolicy, kms:ListGrants). If it is not approved, remove it and revoke grants; then establish what the outside account decrypted (or signed: Sign, GenerateMac, DeriveSharedSecret).',
  findingTypes: ['Unusual Behaviors/User', 'TTPs/Exfiltration', 'Effects/Data Exposure'],
  selection: [{ eventSource: 'kms.amazonaws.com', eventNames: KMS_KEY_USE_OPERATIONS }],
  detect: (e, ctx) => {
    const caller = e.principal.accountId;
    const owner = e.keyAccountId;
    if (e.keyArn === undefined || caller === undefined || owner === undefined || caller === owner || e.principal.isAwsService) return undefined;
    if (ctx.keyPolicy.isAccountTrusted(caller) || ctx.isLearning(e.keyArn, e.eventTimeMs)) return undefined;
    const baseline = ctx.keyBaseline(e.keyArn);
    if (baseline !== undefined && Object.prototype.hasOwnProperty.call(baseline.accounts, caller)) return undefined;
    const failed = e.errorCode !== undefined ? ` The call failed (${e.errorCode}).` : '';
    return {
      subject: `${caller}|${e.keyArn}`,
      aggregationWindowMs: hours(24),
      reason: `${principalLabel(e)} from account ${caller} used key ${keyLabel(e)} owned by account ${owner} (${e.eventName} ${origin(e)}). Account ${caller} is not trusted in the configuration and never used this key before; accounts that did: ${listFew(byFirstSeen(baseline?.accounts ?? {}))}.${failed}`,
    };
  },
});

const learned = { learningPeriodMs: hours(1) };
const later = BASE_TIME_MS + hours(2);

export const cases = (): readonly RuleCase[] => [
  { name: 'fires when an unknown account uses the key after learning', ...learned, events: [kmsEvent(), kmsEvent({ who: { role: 'Reader', account: '999988887777' }, atMs: later })], expectFindings: 1 },
  { name: 'stays silent for an account that used the key during learning', ...learned, events: [kmsEvent({ who: { role: 'Partner', account: OTHER_ACCOUNT } }), kmsEvent({ who: { role: 'Partner', account: OTHER_ACCOUNT }, atMs: later })], expectFindings: 0 },
  { name: 'stays silent for a trusted account', ...learned, events: [kmsEvent(), kmsEvent({ who: { role: 'Partner', account: OTHER_ACCOUNT }, atMs: later })], config: { trustedAccounts: [OTHER_ACCOUNT] }, expectFindings: 0 },
  { name: 'fires when an unknown account makes an HMAC with the key after learning', ...learned, events: [kmsEvent({ eventName: 'GenerateMac' }), kmsEvent({ eventName: 'GenerateMac', who: { role: 'Forger', account: '999988887777' }, atMs: later })], expectFindings: 1 },
  { name: 'stays silent for same-account callers', ...learned, events: [kmsEvent(), kmsEvent({ who: { role: 'Another' }, atMs: later })], expectFindings: 0 },
];
