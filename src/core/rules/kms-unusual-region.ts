import { KMS_KEY_USE_OPERATIONS } from '../events/kms-operations.ts';
import { BASE_TIME_MS, hours, kmsEvent, KEY_ARN } from '../testing/builders.ts';
import { defineRule, type RuleCase } from './define-rule.ts';
import { byFirstSeen, dateOf, keyLabel, listFew, principalLabel } from './wording.ts';

const MRK_ARN = 'arn:aws:kms:us-east-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab';
const MRK_REPLICA_ARN = 'arn:aws:kms:ap-southeast-2:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab';

export const rule = defineRule({
  id: 'kms-unusual-region',
  title: 'KMS Key Used In An Unusual Region',
  description:
    'A key (a Multi-Region key family counts as one key) or a principal was used in a region outside its learned baseline, or outside the regions the configuration allows. Attackers often work from regions a victim never uses, where fewer alarms are set.',
  severity: 'MEDIUM',
  status: 'test',
  references: [
    'https://attack.mitre.org/techniques/T1535/',
    'https://docs.aws.amazon.com/kms/latest/developerguide/multi-region-keys-overview.html',
  ],
  falsePositives: [
    'A planned expansion or disaster-recovery test in a new region',
    'A new replica of a Multi-Region key',
  ],
  tags: ['attack.defense-evasion', 'attack.t1535'],
  runbook:
    'Check whether the workload is meant to run in that region. If not, find where the credentials were used from (source IP, user agent), revoke the session, and consider an SCP that denies unused regions (aws:RequestedRegion).',
  findingTypes: ['Unusual Behaviors/User', 'TTPs/Defense Evasion'],
  selection: [{ eventSource: 'kms.amazonaws.com', eventNames: KMS_KEY_USE_OPERATIONS }],
  detect: (e, ctx) => {
    if (e.keyArn === undefined || e.errorCode !== undefined || e.principal.isAwsService) return undefined;
    const alias = e.keyAlias ?? ctx.aliasOf(e.keyArn);
    if (ctx.keyPolicy.isRegionAllowed(e.keyArn, alias, e.region) === false) {
      return { subject: `config|${e.keyArn}|${e.region}`, aggregationWindowMs: hours(24), reason: `${e.eventName} by ${principalLabel(e)} with key ${keyLabel(e, alias)} in ${e.region}, a region the configuration does not allow.` };
    }
    const key = ctx.keyBaseline(e.keyArn);
    if (key !== undefined && !ctx.isLearning(e.keyArn, e.eventTimeMs) && !Object.prototype.hasOwnProperty.call(key.regions, e.region)) {
      return {
        subject: `key|${e.keyArn}|${e.region}`,
        aggregationWindowMs: hours(24),
        reason: `Key ${keyLabel(e, alias)} was used in ${e.region} for the first time since history began on ${dateOf(key.firstSeenMs)} (${e.eventName} by ${principalLabel(e)}). It is normally used in: ${listFew(byFirstSeen(key.regions))}.`,
      };
    }
    const principal = ctx.principalBaseline();
    if (principal !== undefined && !ctx.isPrincipalLearning() && !Object.prototype.hasOwnProperty.call(principal.regions, e.region)) {
      return {
        subject: `principal|${e.principal.id}|${e.region}`,
        aggregationWindowMs: hours(24),
        reason: `${principalLabel(e)} called KMS in ${e.region} (${e.eventName} with key ${keyLabel(e, alias)}) for the first time since ${dateOf(principal.firstSeenMs)}. It normally calls KMS in: ${listFew(byFirstSeen(principal.regions))}.`,
      };
    }
    return undefined;
  },
});

const learned = { learningPeriodMs: hours(1) };

export const cases = (): readonly RuleCase[] => [
  {
    name: 'fires when a known principal uses a key in a region it never used',
    ...learned,
    events: [
      kmsEvent({ who: { role: 'Reader' } }),
      kmsEvent({ who: { role: 'Reader' }, region: 'eu-west-3', keyArn: 'arn:aws:kms:eu-west-3:111122223333:key/0000aaaa-12ab-34cd-56ef-1234567890ab', atMs: BASE_TIME_MS + hours(2) }),
    ],
    expectFindings: 1,
  },
  {
    name: 'fires when a Multi-Region key family is used in a new replica region',
    ...learned,
    events: [kmsEvent({ keyArn: MRK_ARN }), kmsEvent({ keyArn: MRK_REPLICA_ARN, region: 'ap-southeast-2', atMs: BASE_TIME_MS + hours(2) })],
    expectFindings: 1,
  },
  {
    name: 'fires when a key-agreement key\'s Multi-Region family derives a shared secret in a new replica region',
    ...learned,
    events: [kmsEvent({ eventName: 'DeriveSharedSecret', keyArn: MRK_ARN }), kmsEvent({ eventName: 'DeriveSharedSecret', keyArn: MRK_REPLICA_ARN, region: 'ap-southeast-2', atMs: BASE_TIME_MS + hours(2) })],
    expectFindings: 1,
  },
  {
    name: 'stays silent for usual regions',
    ...learned,
    events: [kmsEvent(), kmsEvent({ atMs: BASE_TIME_MS + hours(2) })],
    expectFindings: 0,
  },
  {
    name: 'stays silent while the principal is still learning',
    ...learned,
    events: [kmsEvent({ who: { role: 'Reader' } }), kmsEvent({ who: { role: 'Reader' }, region: 'eu-west-3', keyArn: 'arn:aws:kms:eu-west-3:111122223333:key/0000aaaa-12ab-34cd-56ef-1234567890ab', atMs: BASE_TIME_MS + hours(0.5) })],
    expectFindings: 0,
  },
  {
    name: 'fires for a region outside the configuration\'s allowed regions, even while learning',
    events: [kmsEvent()],
    config: { keys: [{ arn: KEY_ARN, allowedRegions: ['eu-west-1'] }] },
    expectFindings: 1,
  },
];
