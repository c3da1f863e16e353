import { VPCE_ACCESS_DENIED } from '../events/normalize.ts';
import { ACCOUNT, BASE_TIME_MS, hours, kmsEvent, networkEvent, OTHER_ACCOUNT } from '../testing/builders.ts';
import { defineRule, type RuleCase } from './define-rule.ts';
import { byFirstSeen, listFew } from './wording.ts';
import { callerOf, callThroughEndpoint, KMS_AND_S3_NETWORK_ACTIVITY, outsideAccountOf, vpcEndpointResource } from './vpc-endpoint.ts';

export const rule = defineRule({
  id: 'vpce-outside-credentials',
  title: 'Credentials Of Another Account Used Through A VPC Endpoint',
  description:
    "A principal called KMS or S3 through a VPC endpoint, and the endpoint's policy let it (a network activity event), from an account that does not own the endpoint, is not trusted in the configuration, and did not call through the endpoint during its learning period. The call itself is the caller's account's: for a key of another account the endpoint owner's trail has no other record of it. Credentials of an outside account used inside the network are how data is taken to an attacker's own keys and buckets without crossing the internet; AWS names this as what network activity events are for.",
  severity: 'HIGH',
  status: 'experimental',
  references: [
    'https://docs.aws.amazon.com/awscloudtrail/latest/userguide/logging-network-events-with-cloudtrail.html',
    'https://docs.aws.amazon.com/kms/latest/developerguide/vpce-logging.html',
    'https://attack.mitre.org/techniques/T1537/',
  ],
  falsePositives: [
    'A shared or central VPC whose endpoints serve the accounts of the organization, one of them new to an endpoint after its learning period: list them under trustedAccounts',
    'A partner account deliberately let through the endpoint',
  ],
  tags: ['attack.exfiltration', 'attack.t1537', 'attack.defense-evasion'],
  runbook:
    "Find the workload at the source address (VPC Flow Logs) and why it holds credentials of that account. If the account is yours or a partner's, add it to trustedAccounts. Otherwise treat the workload as compromised: isolate it, revoke what it holds, and limit the endpoint policy to your organization (aws:PrincipalOrgID, aws:ResourceOrgID) so outside credentials are denied.",
  findingTypes: ['TTPs/Exfiltration', 'Unusual Behaviors/User'],
  selection: KMS_AND_S3_NETWORK_ACTIVITY,
  detect: (e, ctx) => {
    const caller = outsideAccountOf(e);
    // A denial is vpce-access-denied's: the perimeter held.
    if (caller === undefined || e.principal.isAwsService || e.errorCode === VPCE_ACCESS_DENIED) return undefined;
    if (ctx.keyPolicy.isAccountTrusted(caller)) return undefined;
    // The accounts an endpoint served while it learned are its own: a shared or central VPC serves several. A record
    // that names no endpoint has no baseline to weigh it against.
    const endpoint = e.vpcEndpointId;
    const baseline = endpoint !== undefined ? ctx.endpointBaseline(endpoint) : undefined;
    if (endpoint !== undefined && (ctx.isEndpointLearning(endpoint) || (baseline !== undefined && Object.prototype.hasOwnProperty.call(baseline.accounts, caller)))) return undefined;
    const served = baseline !== undefined ? ` Accounts it served since ${new Date(baseline.firstSeenMs).toISOString().slice(0, 10)}: ${listFew(byFirstSeen(baseline.accounts))}.` : '';
    const resource = vpcEndpointResource(e);
    return {
      subject: `${caller}|${e.vpcEndpointId ?? 'unknown-endpoint'}`,
      aggregationWindowMs: hours(24),
      ...(resource !== undefined ? { resource } : {}),
      reason: `${callerOf(e)} called ${callThroughEndpoint(e)}. Account ${caller} neither owns the endpoint, nor is trusted in the configuration, nor called through it before, and the endpoint's policy let the call through; the call itself is account ${caller}'s, recorded in its trail.${served}${e.errorCode !== undefined ? ` It failed (${e.errorCode}).` : ''}`,
    };
  },
});

const learned = { learningPeriodMs: hours(1) };
const later = BASE_TIME_MS + hours(2);
/** The endpoint's first call, its owner's own: its learning period starts here. */
const ownCall = () => networkEvent();

export const cases = (): readonly RuleCase[] => [
  {
    name: 'fires when a principal of another account decrypts through the endpoint after it learned',
    ...learned,
    events: [ownCall(), networkEvent({ who: { outsideAccount: OTHER_ACCOUNT }, atMs: later })],
    expectFindings: 1,
    expectSeverity: 'HIGH',
    expectReasonIncludes: `Account ${OTHER_ACCOUNT} neither owns the endpoint, nor is trusted in the configuration, nor called through it before`,
  },
  { name: 'fires for a role of another account reading an object through the endpoint', ...learned, events: [ownCall(), networkEvent({ eventSource: 's3.amazonaws.com', eventName: 'GetObject', who: { role: 'Exfil', account: OTHER_ACCOUNT }, atMs: later })], expectFindings: 1, expectReasonIncludes: `Accounts it served since 2026-10-01: ${ACCOUNT}.` },
  { name: 'makes one finding of one account\'s calls through one endpoint in a day', ...learned, events: [ownCall(), ...[2, 3, 5].map((h) => networkEvent({ who: { outsideAccount: OTHER_ACCOUNT }, atMs: BASE_TIME_MS + hours(h) }))], expectFindings: 1 },
  { name: 'stays silent for an account the endpoint served while it learned (a shared or central VPC\'s member)', ...learned, events: [ownCall(), networkEvent({ who: { role: 'Member', account: OTHER_ACCOUNT } }), networkEvent({ who: { outsideAccount: OTHER_ACCOUNT }, atMs: later })], expectFindings: 0 },
  { name: 'stays silent while the endpoint learns', events: [networkEvent({ who: { outsideAccount: OTHER_ACCOUNT } })], expectFindings: 0 },
  { name: 'stays silent for the endpoint owner\'s own principals', ...learned, events: [ownCall(), networkEvent({ who: { role: 'Batch', account: ACCOUNT }, atMs: later })], expectFindings: 0 },
  { name: 'stays silent for a trusted account', ...learned, events: [ownCall(), networkEvent({ who: { outsideAccount: OTHER_ACCOUNT }, atMs: later })], config: { trustedAccounts: [OTHER_ACCOUNT] }, expectFindings: 0 },
  {
    name: 'leaves a call the endpoint denied to vpce-access-denied, and does not learn its account: the account\'s later call fires',
    ...learned,
    events: [ownCall(), networkEvent({ who: { outsideAccount: OTHER_ACCOUNT }, denied: true }), networkEvent({ who: { outsideAccount: OTHER_ACCOUNT }, atMs: later })],
    expectFindings: 1,
  },
  { name: 'stays silent for a KMS call of another account (a management event: kms-cross-account\'s)', ...learned, events: [ownCall(), kmsEvent({ who: { role: 'Partner', account: OTHER_ACCOUNT }, vpcEndpointId: 'vpce-0a1b2c3d4e5f60718', atMs: later })], expectFindings: 0 },
];
