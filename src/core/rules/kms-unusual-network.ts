import { KMS_KEY_USE_OPERATIONS } from '../events/kms-operations.ts';
import { networkOf, PUBLIC_ENDPOINT } from '../network.ts';
import { BASE_TIME_MS, days, hours, kmsEvent, KEY_ARN } from '../testing/builders.ts';
import { defineRule, type RuleCase } from './define-rule.ts';
import { byFirstSeen, dateOf, earliestFirstSeen, keyLabel, listFew, origin, principalLabel } from './wording.ts';

/** The networks of a principal's baseline that are VPC endpoints. */
const endpointsOf = (networks: Readonly<Record<string, number>>): string[] => byFirstSeen(networks).filter((n) => n !== PUBLIC_ENDPOINT);

export const rule = defineRule({
  id: 'kms-unusual-network',
  title: 'KMS Key Used From Outside The Caller\'s Network',
  description:
    'A principal whose KMS calls had all come through VPC endpoints made a cryptographic call through KMS\'s public endpoint, or through a VPC endpoint it never used; or a key was used from a network the configuration does not allow for it. Credentials taken from an instance, container or function keep their identity when used elsewhere: the caller is the usual one, its network is not.',
  severity: 'MEDIUM',
  status: 'experimental',
  references: [
    'https://attack.mitre.org/techniques/T1552/005/',
    'https://docs.aws.amazon.com/guardduty/latest/ug/guardduty_finding-types-iam.html#unauthorizedaccess-iam-instancecredentialexfiltrationoutsideaws',
    'https://docs.aws.amazon.com/kms/latest/developerguide/vpce-logging.html',
  ],
  falsePositives: [
    'Someone running the workload\'s role from a workstation to debug it',
    'A new VPC, subnet or VPC endpoint for the workload',
    'The workload moved off private connectivity (a NAT gateway instead of the KMS VPC endpoint)',
  ],
  tags: ['attack.credential-access', 'attack.t1552.005', 'attack.initial-access', 'attack.t1078.004'],
  runbook:
    'Look up the source address (whose network is it?) and the session (access key id, session name, user agent). If the role belongs to an instance, task or function and the address is not yours, its credentials were taken: revoke the role\'s sessions (aws:TokenIssueTime), isolate the workload and find how they left it (SSRF to the instance metadata service, a compromised container or build). A key policy condition on aws:SourceVpce keeps the key usable only from your endpoints.',
  findingTypes: ['Unusual Behaviors/Network Flow', 'TTPs/Credential Access'],
  selection: [{ eventSource: 'kms.amazonaws.com', eventNames: KMS_KEY_USE_OPERATIONS }],
  detect: (e, ctx) => {
    // A service's call on the principal's behalf (S3, Secrets Manager) comes from the service's network, not the caller's.
    if (e.keyArn === undefined || e.errorCode !== undefined || e.principal.isAwsService || e.madeByAwsService) return undefined;
    const network = networkOf(e);
    if (network === undefined) return undefined;
    const alias = e.keyAlias ?? ctx.aliasOf(e.keyArn);
    const allowed = ctx.keyPolicy.isNetworkAllowed(e.keyArn, alias, e.vpcEndpointId, e.sourceIp);
    if (allowed === false) {
      return {
        subject: `config|${e.principal.id}|${e.keyArn}|${network}`,
        ...(ctx.keyPolicy.isSensitiveKey(e.keyArn, alias) ? { severity: 'HIGH' as const } : {}),
        aggregationWindowMs: hours(24),
        reason: `${e.eventName} by ${principalLabel(e)} with key ${keyLabel(e, alias)} ${origin(e)}${e.vpcEndpointId === undefined ? ', through KMS\'s public endpoint' : ''}: the configuration allows this key only from ${listFew(ctx.keyPolicy.allowedNetworks(e.keyArn, alias) ?? [], 5)}.`,
      };
    }
    if (allowed === true) return undefined;
    const networks = ctx.principalBaseline()?.networks;
    if (networks === undefined || Object.prototype.hasOwnProperty.call(networks, network)) return undefined;
    // Only a principal that lives behind VPC endpoints has a network to leave: one that calls from addresses
    // anywhere on the internet, as people and many workloads do, is not judged here.
    if (Object.prototype.hasOwnProperty.call(networks, PUBLIC_ENDPOINT)) return undefined;
    const endpoints = endpointsOf(networks);
    const since = earliestFirstSeen(networks);
    if (endpoints.length === 0 || e.eventTimeMs < since + ctx.learningPeriodMs) return undefined;
    // Weighed only for a call that fires: the rule meets every direct call.
    const isSensitive = ctx.keyPolicy.isSensitiveKey(e.keyArn, alias);
    const how =
      network === PUBLIC_ENDPOINT
        ? `from ${e.sourceIp ?? 'an address'} through KMS's public endpoint, outside any VPC endpoint`
        : `through ${network}, a VPC endpoint it never used before (from ${e.sourceIp ?? 'an address the record does not give'})`;
    return {
      subject: `${e.principal.id}|${network}`,
      ...(isSensitive ? { severity: 'HIGH' as const } : {}),
      aggregationWindowMs: hours(24),
      reason: `${principalLabel(e)} called KMS in ${e.region} ${how} (${e.eventName} with key ${keyLabel(e, alias)}). Since ${dateOf(since)} its calls had all come through ${endpoints.length === 1 ? 'the VPC endpoint' : 'the VPC endpoints'} ${listFew(endpoints)}.${isSensitive ? ' The key is marked sensitive.' : ''}`,
    };
  },
});

const ENDPOINT = 'vpce-0a1b2c3d4e5f60718';
const learned = { learningPeriodMs: hours(1) };
const app = { role: 'PaymentsApp', session: 'i-0a1' } as const;
const fromVpc = (offsetMs = 0) => kmsEvent({ who: app, atMs: BASE_TIME_MS + offsetMs, sourceIp: '10.20.31.12', vpcEndpointId: ENDPOINT });

export const cases = (): readonly RuleCase[] => [
  {
    name: 'fires when a role that only called through a VPC endpoint calls from the internet',
    ...learned,
    events: [fromVpc(), fromVpc(hours(1.5)), kmsEvent({ who: app, atMs: BASE_TIME_MS + hours(2), sourceIp: '198.51.100.23' })],
    expectFindings: 1,
  },
  {
    name: 'fires when such a role calls through a VPC endpoint it never used',
    ...learned,
    events: [fromVpc(), kmsEvent({ who: app, atMs: BASE_TIME_MS + hours(2), sourceIp: '172.31.9.4', vpcEndpointId: 'vpce-0badc0ffee0badc0f' })],
    expectFindings: 1,
  },
  {
    name: 'raises one finding for a day of calls from the internet',
    ...learned,
    events: [fromVpc(), ...[2, 3, 4].map((h) => kmsEvent({ who: app, atMs: BASE_TIME_MS + hours(h), sourceIp: '198.51.100.23' }))],
    expectFindings: 1,
  },
  {
    name: 'stays silent while the principal\'s networks are learned, and learns the one it then uses',
    ...learned,
    events: [fromVpc(), kmsEvent({ who: app, atMs: BASE_TIME_MS + hours(0.5), sourceIp: '198.51.100.23' }), kmsEvent({ who: app, atMs: BASE_TIME_MS + days(1), sourceIp: '198.51.100.24' })],
    expectFindings: 0,
  },
  {
    name: 'stays silent for a principal that calls from the internet anyway (people, most workloads)',
    ...learned,
    events: [kmsEvent({ who: app, sourceIp: '203.0.113.7' }), kmsEvent({ who: app, atMs: BASE_TIME_MS + hours(2), sourceIp: '198.51.100.23' })],
    expectFindings: 0,
  },
  {
    name: 'stays silent for calls S3 and other services make for the principal',
    ...learned,
    events: [
      fromVpc(),
      kmsEvent({ who: app, atMs: BASE_TIME_MS + hours(2), s3Arn: 'arn:aws:s3:::reports/q3.pdf' }),
      kmsEvent({ who: app, atMs: BASE_TIME_MS + hours(2), viaService: 'secretsmanager.amazonaws.com' }),
      kmsEvent({ who: app, atMs: BASE_TIME_MS + hours(2), sourceIp: '198.51.100.23', errorCode: 'AccessDeniedException' }),
    ],
    expectFindings: 0,
  },
  {
    name: 'stays silent for a private address the record gives without its endpoint (a copy of the call that leaves the endpoint out)',
    ...learned,
    events: [fromVpc(), kmsEvent({ who: app, atMs: BASE_TIME_MS + hours(2), sourceIp: '10.20.31.12' })],
    expectFindings: 0,
  },
  {
    name: 'fires at once, even while learning, for a network the configuration does not allow for the key',
    events: [kmsEvent({ who: app, sourceIp: '198.51.100.23' })],
    config: { keys: [{ arn: KEY_ARN, allowedNetworks: [ENDPOINT, '10.20.0.0/16'] }] },
    expectFindings: 1,
  },
  {
    name: 'stays silent for a network the configuration allows, by endpoint or by address range',
    ...learned,
    events: [fromVpc(), kmsEvent({ who: app, atMs: BASE_TIME_MS + hours(2), sourceIp: '192.0.2.77' }), kmsEvent({ who: app, atMs: BASE_TIME_MS + hours(2), sourceIp: '2001:db8:0:1::5' })],
    config: { keys: [{ arn: KEY_ARN, allowedNetworks: [ENDPOINT, '192.0.2.0/24', '2001:db8::/32'] }] },
    expectFindings: 0,
  },
  {
    name: 'raises HIGH on a key the configuration marks sensitive',
    ...learned,
    events: [fromVpc(), kmsEvent({ who: app, atMs: BASE_TIME_MS + hours(2), sourceIp: '198.51.100.23' })],
    config: { keys: [{ arn: KEY_ARN, sensitive: true }] },
    expectFindings: 1,
    expectSeverity: 'HIGH',
  },
];
