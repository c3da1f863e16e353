import { KMS_KEY_USE_OPERATIONS } from '../events/kms-operations.ts';
import type { KmsCall, S3RequestSummary } from '../events/types.ts';
import { PRINCIPAL_ENTRY_LIMIT } from '../state.ts';
import { networkOf, PUBLIC_ENDPOINT, s3RequestNetworkOf, type NetworkList } from '../network.ts';
import { BASE_TIME_MS, days, hours, kmsEvent, KEY_ARN, minutes, s3Event } from '../testing/builders.ts';
import { defineRule, type DetectionDraft, type RuleCase, type RuleContext } from './define-rule.ts';
import { settledSetOf, type SettledSet } from './settled-set.ts';
import { dateOf, keyLabel, listFew, origin, principalLabel, s3RequestLabel } from './wording.ts';

/**
 * The VPC endpoints a principal had kept to, when `network` leaves them: undefined when it knows `network`, when it
 * has used the public endpoint (people, and many workloads, call from addresses anywhere on the internet: only a
 * principal that lives behind VPC endpoints has a network to leave), and where `settledSetOf` sees nothing settled
 * (while its networks are learned, or once their map is full). Without the public endpoint, every member is one.
 */
const leftEndpoints = (networks: Readonly<Record<string, number>> | undefined, network: string, eventTimeMs: number, ctx: RuleContext): SettledSet | undefined => {
  if (networks === undefined || Object.prototype.hasOwnProperty.call(networks, network) || Object.prototype.hasOwnProperty.call(networks, PUBLIC_ENDPOINT)) return undefined;
  return settledSetOf(networks, eventTimeMs, PRINCIPAL_ENTRY_LIMIT, ctx);
};

/** "the VPC endpoint vpce-…" or "the VPC endpoints vpce-…, vpce-…": what a principal had kept to. */
const endpointsKept = (left: SettledSet): string => `${left.members.length === 1 ? 'the VPC endpoint' : 'the VPC endpoints'} ${listFew(left.members)}`;

/**
 * A call S3 made for the principal, judged by the S3 request behind it: credentials taken from a workload that reaches
 * S3 through a gateway or interface endpoint, then used to download its objects from elsewhere, show here and not in
 * any call of their own to KMS. Against the networks the configuration allows for the request's bucket when it lists
 * some; else against the networks of the principal's earlier such requests (`s3Networks`), which are not its KMS
 * calls': a workload may reach the two services differently.
 */
const judgeS3Request = (e: KmsCall, keyArn: string, ctx: RuleContext): DetectionDraft | undefined => {
  const request = e.s3Request;
  if (request === undefined) return undefined;
  const allowed = ctx.keyPolicy.bucketNetworks(request.bucket);
  if (allowed !== undefined) return judgeAgainstBucketNetworks(e, keyArn, request, allowed, ctx);
  const network = s3RequestNetworkOf(e);
  if (network === undefined) return undefined;
  const left = leftEndpoints(ctx.principalBaseline()?.s3Networks, network, e.eventTimeMs, ctx);
  if (left === undefined) return undefined;
  const alias = e.keyAlias ?? ctx.aliasOf(keyArn);
  const isSensitive = ctx.keyPolicy.isSensitiveKey(keyArn, alias);
  const how =
    network === PUBLIC_ENDPOINT
      ? `from ${request.sourceIp ?? 'an address'} through S3's public endpoint, outside any VPC endpoint`
      : `through ${network}, a VPC endpoint it never sent S3 requests through before (from ${request.sourceIp ?? 'an address the record does not give'})`;
  return {
    subject: `s3|${e.principal.id}|${network}`,
    ...(isSensitive ? { severity: 'HIGH' as const } : {}),
    aggregationWindowMs: hours(24),
    reason: `${principalLabel(e)} sent ${s3RequestLabel(request)} in ${e.region} ${how}, and S3 called ${e.eventName} for it with key ${keyLabel(e, alias)}. Since ${dateOf(left.sinceMs)} its S3 requests for KMS-encrypted objects had all come through ${endpointsKept(left)}.${isSensitive ? ' The key is marked sensitive.' : ''}`,
  };
};

/**
 * A bucket the configuration lists networks for: a request from any other fires at once, learning or not. A presigned
 * URL's request is judged too: whoever sent it, the object left through that network. A request the record gives no
 * network for (a service's on the principal's behalf, a private address without its endpoint) is not.
 */
const judgeAgainstBucketNetworks = (e: KmsCall, keyArn: string, request: S3RequestSummary, allowed: NetworkList, ctx: RuleContext): DetectionDraft | undefined => {
  const network = networkOf(request);
  if (network === undefined || allowed.allows(request.vpcEndpointId, request.sourceIp)) return undefined;
  const alias = e.keyAlias ?? ctx.aliasOf(keyArn);
  return {
    subject: `config-s3|${e.principal.id}|${request.bucket}|${network}`,
    ...(ctx.keyPolicy.isSensitiveKey(keyArn, alias) ? { severity: 'HIGH' as const } : {}),
    aggregationWindowMs: hours(24),
    reason: `${e.eventName} by ${principalLabel(e)} with key ${keyLabel(e, alias)} ${origin(e)}${request.vpcEndpointId === undefined ? ', through S3\'s public endpoint' : ''}: the configuration allows requests for bucket ${request.bucket} only from ${listFew(allowed.entries, 5)}.`,
  };
};

export const rule = defineRule({
  id: 'kms-unusual-network',
  title: 'KMS Key Used From Outside The Caller\'s Network',
  description:
    'A principal whose KMS calls had all come through VPC endpoints made a cryptographic call through KMS\'s public endpoint, or through a VPC endpoint it never used; or a key was used from a network the configuration does not allow for it (`allowedNetworks` of the key), or S3 used it for a request the configuration does not allow for the bucket (`allowedNetworks` of the bucket, judged on presigned requests too). The same for the objects S3 decrypts and encrypts for a principal: a principal whose S3 requests for them had all come through VPC endpoints (a gateway endpoint, an interface endpoint) sent one from the internet, or through an endpoint it never used, judged by the S3 request matched to S3\'s call (not a presigned URL\'s or a POST form\'s, sent by whoever held it) against the networks of its earlier S3 requests, not of its KMS calls. Credentials taken from an instance, container or function keep their identity when used elsewhere: the caller is the usual one, its network is not.',
  severity: 'MEDIUM',
  status: 'experimental',
  references: [
    'https://attack.mitre.org/techniques/T1552/005/',
    'https://docs.aws.amazon.com/guardduty/latest/ug/guardduty_finding-types-iam.html#unauthorizedaccess-iam-instancecredentialexfiltrationoutsideaws',
    'https://docs.aws.amazon.com/kms/latest/developerguide/vpce-logging.html',
    'https://docs.aws.amazon.com/AmazonS3/latest/userguide/cloudtrail-logging-understanding-s3-entries.html',
  ],
  falsePositives: [
    'Someone running the workload\'s role from a workstation to debug it',
    'A new VPC, subnet or VPC endpoint for the workload',
    'The workload moved off private connectivity (a NAT gateway instead of the KMS or S3 VPC endpoint)',
    'The workload calling KMS, or reading a bucket, in another Region for the first time: VPC endpoints serve their own Region, so such requests go out through NAT',
  ],
  tags: ['attack.credential-access', 'attack.t1552.005', 'attack.initial-access', 'attack.t1078.004'],
  runbook:
    'Look up the source address (whose network is it?) and the session (access key id, session name, user agent). If the role belongs to an instance, task or function and the address is not yours, its credentials were taken: revoke the role\'s sessions (aws:TokenIssueTime), isolate the workload and find how they left it (SSRF to the instance metadata service, a compromised container or build). An aws:SourceVpce condition in the key or bucket policy keeps the key or objects usable only from your endpoints.',
  findingTypes: ['Unusual Behaviors/Network Flow', 'TTPs/Credential Access'],
  selection: [{ eventSource: 'kms.amazonaws.com', eventNames: KMS_KEY_USE_OPERATIONS }],
  detect: (e, ctx) => {
    if (e.keyArn === undefined || e.errorCode !== undefined || e.principal.isAwsService) return undefined;
    // A service's call on the principal's behalf comes from the service's network; only S3's is traced to its
    // request, whose network is judged against the principal's S3 requests (see below).
    if (e.madeByAwsService) return e.madeByS3 ? judgeS3Request(e, e.keyArn, ctx) : undefined;
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
    const left = leftEndpoints(ctx.principalBaseline()?.networks, network, e.eventTimeMs, ctx);
    if (left === undefined) return undefined;
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
      reason: `${principalLabel(e)} called KMS in ${e.region} ${how} (${e.eventName} with key ${keyLabel(e, alias)}). Since ${dateOf(left.sinceMs)} its calls had all come through ${endpointsKept(left)}.${isSensitive ? ' The key is marked sensitive.' : ''}`,
    };
  },
});

const ENDPOINT = 'vpce-0a1b2c3d4e5f60718';
const learned = { learningPeriodMs: hours(1) };
const app = { role: 'PaymentsApp', session: 'i-0a1' } as const;
const fromVpc = (offsetMs = 0) => kmsEvent({ who: app, atMs: BASE_TIME_MS + offsetMs, sourceIp: '10.20.31.12', vpcEndpointId: ENDPOINT });
/** The workload's S3 gateway endpoint: its S3 requests come through it, its KMS calls through `ENDPOINT`. */
const S3_ENDPOINT = 'vpce-0c1d2e3f4a5b60720';
const ledger = { role: 'LedgerExporter', session: 'i-0b7' } as const;
/** An object the principal reads through S3: S3's Decrypt for it and the GetObject's data event, which correlation matches. */
const readThroughS3 = (offsetMs: number, network: { readonly sourceIp: string; readonly vpcEndpointId?: string; readonly presigned?: boolean } = { sourceIp: '10.20.31.40', vpcEndpointId: S3_ENDPOINT }) => {
  const key = `exports/2026/10/ledger-${offsetMs}.csv`;
  return [
    kmsEvent({ who: ledger, atMs: BASE_TIME_MS + offsetMs, s3Arn: `arn:aws:s3:::ledger-exports/${key}` }),
    s3Event({ who: ledger, atMs: BASE_TIME_MS + offsetMs + 120, bucket: 'ledger-exports', key, userAgent: '[aws-sdk-java/2.25.11 Linux/6.1]', ...network }),
  ];
};

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
    name: 'stays silent for calls services make for the principal (S3\'s with no request matched to them, Secrets Manager\'s) and for failed calls',
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
    name: 'stays silent once a principal\'s networks fill their map (100), which then learns no more',
    ...learned,
    events: [
      ...Array.from({ length: 100 }, (_, i) => kmsEvent({ who: app, atMs: BASE_TIME_MS + i, sourceIp: '10.20.31.12', vpcEndpointId: `vpce-${i.toString(16).padStart(17, '0')}` })),
      kmsEvent({ who: app, atMs: BASE_TIME_MS + hours(2), sourceIp: '172.31.9.4', vpcEndpointId: 'vpce-0badc0ffee0badc0f' }),
    ],
    expectFindings: 0,
  },
  {
    name: 'fires when a principal whose S3 requests all came through a VPC endpoint has S3 decrypt an object for a request from the internet',
    ...learned,
    events: [...readThroughS3(0), ...readThroughS3(hours(1.5)), ...readThroughS3(hours(2), { sourceIp: '198.51.100.23' })],
    expectFindings: 1,
  },
  {
    name: 'fires when such a principal\'s S3 request comes through a VPC endpoint it never sent S3 requests through',
    ...learned,
    events: [...readThroughS3(0), ...readThroughS3(hours(2), { sourceIp: '172.31.9.4', vpcEndpointId: 'vpce-0badc0ffee0badc0f' })],
    expectFindings: 1,
  },
  {
    name: 'judges S3 requests against the principal\'s S3 requests, not its KMS calls (KMS through an endpoint, S3 through NAT)',
    ...learned,
    events: [
      kmsEvent({ who: ledger, atMs: BASE_TIME_MS, sourceIp: '10.20.31.40', vpcEndpointId: ENDPOINT }),
      ...readThroughS3(minutes(5), { sourceIp: '3.91.12.7' }),
      ...readThroughS3(hours(2), { sourceIp: '3.91.12.8' }),
    ],
    expectFindings: 0,
  },
  {
    name: 'stays silent for a presigned URL\'s request (whoever held the URL sent it), and while S3 requests are learned',
    ...learned,
    events: [...readThroughS3(0), ...readThroughS3(minutes(30), { sourceIp: '198.51.100.9', vpcEndpointId: 'vpce-0badc0ffee0badc0f' }), ...readThroughS3(hours(2), { sourceIp: '198.51.100.23', presigned: true })],
    expectFindings: 0,
  },
  {
    name: 'stays silent for an S3 call no request was matched to',
    ...learned,
    events: [...readThroughS3(0), kmsEvent({ who: ledger, atMs: BASE_TIME_MS + hours(2), s3Arn: 'arn:aws:s3:::ledger-exports/exports/unlogged.csv' })],
    expectFindings: 0,
  },
  {
    name: 'fires at once, even while learning, for an S3 request from a network the configuration does not allow for the bucket',
    events: [...readThroughS3(0, { sourceIp: '198.51.100.23' })],
    config: { buckets: [{ name: 'ledger-*', allowedNetworks: [S3_ENDPOINT, '10.20.0.0/16'] }] },
    expectFindings: 1,
  },
  {
    name: 'judges a presigned URL\'s request against the bucket\'s networks: whoever sent it, the object left through that network',
    events: [...readThroughS3(0, { sourceIp: '198.51.100.23', presigned: true })],
    config: { buckets: [{ name: 'ledger-exports', allowedNetworks: [S3_ENDPOINT] }] },
    expectFindings: 1,
  },
  {
    name: 'stays silent for S3 requests the configuration allows for the bucket, by endpoint or address range, and for one that names no network',
    ...learned,
    events: [
      ...readThroughS3(0),
      ...readThroughS3(hours(2), { sourceIp: '192.0.2.77' }),
      ...readThroughS3(hours(3), { sourceIp: 'athena.amazonaws.com' }),
    ],
    config: { buckets: [{ name: 'ledger-exports', allowedNetworks: [S3_ENDPOINT, '192.0.2.0/24'] }] },
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
