import { VPCE_ACCESS_DENIED } from '../events/normalize.ts';
import { ACCOUNT, BASE_TIME_MS, kmsEvent, minutes, networkEvent, OTHER_ACCOUNT } from '../testing/builders.ts';
import { defineRule, type RuleCase } from './define-rule.ts';
import { callerOf, callThroughEndpoint, KMS_AND_S3_NETWORK_ACTIVITY, outsideAccountOf, vpcEndpointResource } from './vpc-endpoint.ts';

export const rule = defineRule({
  id: 'vpce-access-denied',
  title: 'KMS Or S3 Call Denied By A VPC Endpoint Policy',
  description:
    "A call to KMS or S3 through one of the account's VPC endpoints was denied by the endpoint's policy (a network activity event with errorCode VpceAccessDenied). The endpoint policy is the network side of a data perimeter: what it denies is a caller inside the VPC reaching for a key or bucket the perimeter keeps out, such as credentials of another account or a bucket or key of another account, the way data is moved out without crossing the internet. Only network activity events record these denials, and only for the endpoint's owner.",
  severity: 'MEDIUM',
  status: 'experimental',
  references: [
    'https://docs.aws.amazon.com/awscloudtrail/latest/userguide/logging-network-events-with-cloudtrail.html',
    'https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-events.html',
    'https://attack.mitre.org/techniques/T1537/',
  ],
  falsePositives: [
    'A workload deployed, or an endpoint policy tightened, before the two agree: the denials come from one workload, all at once',
    'A tool that lists or probes what it may reach, such as a security scanner running in the VPC',
  ],
  tags: ['attack.exfiltration', 'attack.t1537'],
  runbook:
    "Find the workload at the source address (VPC Flow Logs, the instance or task holding it) and read the endpoint policy statement that denied the call: which key, bucket or account it reached for. A caller of another account, or a target outside your accounts, means the workload is compromised: isolate it and revoke its credentials. A new deployment that needs the call needs the policy changed on purpose.",
  findingTypes: ['TTPs/Exfiltration', 'Unusual Behaviors/Network Flow'],
  selection: KMS_AND_S3_NETWORK_ACTIVITY,
  detect: (e) => {
    if (e.errorCode !== VPCE_ACCESS_DENIED) return undefined;
    const outside = outsideAccountOf(e) !== undefined;
    const resource = vpcEndpointResource(e);
    return {
      subject: `${e.principal.id}|${e.vpcEndpointId ?? 'unknown-endpoint'}`,
      ...(resource !== undefined ? { resource } : {}),
      reason: `${callerOf(e)} called ${callThroughEndpoint(e)}, and the endpoint's policy denied it.${outside ? ` The caller's account is not the endpoint's: credentials from outside were used inside the network.` : ''}`,
    };
  },
});

export const cases = (): readonly RuleCase[] => [
  { name: 'fires when the endpoint policy denies a KMS call', events: [networkEvent({ denied: true })], expectFindings: 1, expectReasonIncludes: "and the endpoint's policy denied it" },
  {
    name: 'says so when the denied caller is of another account (AWS\'s example: named by account and access key alone)',
    events: [networkEvent({ eventName: 'ListKeys', who: { outsideAccount: OTHER_ACCOUNT }, denied: true })],
    expectFindings: 1,
    expectReasonIncludes: `aws-account:${OTHER_ACCOUNT}:AKIAIOSFODNN7EXAMPLE of account ${OTHER_ACCOUNT} called KMS ListKeys through VPC endpoint vpce-0a1b2c3d4e5f60718 of account ${ACCOUNT}`,
  },
  { name: 'fires when the endpoint policy denies an S3 read', events: [networkEvent({ eventSource: 's3.amazonaws.com', eventName: 'GetObject', denied: true })], expectFindings: 1, expectReasonIncludes: 'S3 GetObject through VPC endpoint' },
  {
    name: 'makes one finding of one caller\'s denials through one endpoint within the hour',
    events: [0, 5, 20].map((m) => networkEvent({ eventName: 'GenerateDataKey', denied: true, atMs: BASE_TIME_MS + minutes(m) })),
    expectFindings: 1,
  },
  { name: 'stays silent for calls the endpoint let through', events: [networkEvent(), networkEvent({ who: { role: 'Batch' } })], expectFindings: 0 },
  { name: 'stays silent for calls denied by something other than the endpoint (a key policy)', events: [kmsEvent({ errorCode: 'AccessDeniedException', vpcEndpointId: 'vpce-0a1b2c3d4e5f60718' })], expectFindings: 0 },
];
