import { VPCE_ACCESS_DENIED } from '../events/normalize.ts';
import { ACCOUNT, hours, kmsEvent, networkEvent, OTHER_ACCOUNT } from '../testing/builders.ts';
import { defineRule, type RuleCase } from './define-rule.ts';
import { callerOf, callThroughEndpoint, KMS_AND_S3_NETWORK_ACTIVITY, outsideAccountOf, vpcEndpointResource } from './vpc-endpoint.ts';

export const rule = defineRule({
  id: 'vpce-outside-credentials',
  title: 'Credentials Of Another Account Used Through A VPC Endpoint',
  description:
    "A principal of an account that neither owns the VPC endpoint nor is trusted in the configuration called KMS or S3 through the endpoint, and the endpoint's policy let it (a network activity event). The call itself is the caller's account's: for a key of another account the endpoint owner's trail has no other record of it. Credentials of an outside account used inside the network are how data is taken to an attacker's own keys and buckets without crossing the internet; AWS names this as what network activity events are for.",
  severity: 'HIGH',
  status: 'experimental',
  references: [
    'https://docs.aws.amazon.com/awscloudtrail/latest/userguide/logging-network-events-with-cloudtrail.html',
    'https://docs.aws.amazon.com/kms/latest/developerguide/vpce-logging.html',
    'https://attack.mitre.org/techniques/T1537/',
  ],
  falsePositives: [
    'A shared VPC, whose endpoints the other accounts of the organization use: list them under trustedAccounts',
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
    const resource = vpcEndpointResource(e);
    return {
      subject: `${caller}|${e.vpcEndpointId ?? 'unknown-endpoint'}`,
      aggregationWindowMs: hours(24),
      ...(resource !== undefined ? { resource } : {}),
      reason: `${callerOf(e)} called ${callThroughEndpoint(e)}. Account ${caller} neither owns the endpoint nor is trusted in the configuration, and the endpoint's policy let the call through; the call itself is account ${caller}'s, recorded in its trail.${e.errorCode !== undefined ? ` It failed (${e.errorCode}).` : ''}`,
    };
  },
});

export const cases = (): readonly RuleCase[] => [
  {
    name: 'fires when a principal of another account decrypts through the endpoint',
    events: [networkEvent({ who: { outsideAccount: OTHER_ACCOUNT } })],
    expectFindings: 1,
    expectSeverity: 'HIGH',
    expectReasonIncludes: `Account ${OTHER_ACCOUNT} neither owns the endpoint nor is trusted`,
  },
  { name: 'fires for a role of another account reading an object through the endpoint', events: [networkEvent({ eventSource: 's3.amazonaws.com', eventName: 'GetObject', who: { role: 'Exfil', account: OTHER_ACCOUNT } })], expectFindings: 1 },
  { name: 'makes one finding of one account\'s calls through one endpoint in a day', events: [0, 3, 20].map((h) => networkEvent({ who: { outsideAccount: OTHER_ACCOUNT }, atMs: Date.UTC(2026, 9, 1) + hours(h) })), expectFindings: 1 },
  { name: 'stays silent for the endpoint owner\'s own principals', events: [networkEvent({ who: { role: 'AppRole', account: ACCOUNT } })], expectFindings: 0 },
  { name: 'stays silent for a trusted account (a shared VPC\'s member)', events: [networkEvent({ who: { outsideAccount: OTHER_ACCOUNT } })], config: { trustedAccounts: [OTHER_ACCOUNT] }, expectFindings: 0 },
  { name: 'leaves a call the endpoint denied to vpce-access-denied', events: [networkEvent({ who: { outsideAccount: OTHER_ACCOUNT }, denied: true })], expectFindings: 0 },
  { name: 'stays silent for a KMS call of another account (a management event: kms-cross-account\'s)', events: [kmsEvent({ who: { role: 'Partner', account: OTHER_ACCOUNT }, vpcEndpointId: 'vpce-0a1b2c3d4e5f60718' })], expectFindings: 0 },
];
