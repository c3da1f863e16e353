import { clientOfCall, isWorkloadClient } from '../client.ts';
import { KMS_KEY_USE_OPERATIONS } from '../events/kms-operations.ts';
import { BASE_TIME_MS, days, hours, kmsEvent, KEY_ARN, s3Event } from '../testing/builders.ts';
import { defineRule, type RuleCase } from './define-rule.ts';
import { isPrincipalNewToLearnedKey } from './learned-key-use.ts';
import { settledSetOf } from './settled-set.ts';
import { dateOf, keyLabel, listFew, origin, principalLabel } from './wording.ts';

export const rule = defineRule({
  id: 'kms-unusual-client',
  title: 'KMS Key Used By A Workload\'s Credentials From Another Client',
  description:
    'A principal whose KMS calls had all come from AWS SDKs, or from code running in AWS Lambda or Amazon ECS (a workload), used a key from a client it never used: the AWS CLI, a browser, another SDK, the same SDK outside Lambda or ECS, or a tool of its own (rclone, a script). The client is read from the user agent, without versions (`AWS SDK for Java on AWS Lambda`, `AWS CLI`): the call\'s own, or, for a call S3 made to decrypt or encrypt an object, the user agent of the S3 request it was matched to (not a presigned URL\'s or a POST form\'s, which is whoever held the URL or the form). Credentials taken from a function, container or instance keep their identity, and often their network, when used elsewhere; the tool they are used with changes. Principals that use people\'s tools (the AWS CLI, the console, PowerShell, Terraform), or more than a few clients (by default 3: `threshold`), are not judged.',
  severity: 'MEDIUM',
  status: 'experimental',
  references: [
    'https://attack.mitre.org/techniques/T1552/005/',
    'https://attack.mitre.org/techniques/T1078/004/',
    'https://docs.aws.amazon.com/guardduty/latest/ug/guardduty_finding-types-iam.html#unauthorizedaccess-iam-instancecredentialexfiltrationoutsideaws',
    'https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html',
  ],
  falsePositives: [
    'Someone running the workload\'s role from a workstation or CloudShell to debug it',
    'The workload rewritten in another language, or moved off Lambda or ECS (to EC2, to EKS)',
    'A second workload given the same role, in another language',
    'A person whose own calls had all been scripts (an SDK), now using the CLI or the console',
  ],
  tags: ['attack.credential-access', 'attack.t1552.005', 'attack.initial-access', 'attack.t1078.004'],
  runbook:
    'Compare the call\'s user agent and address (kdm/UserAgent, source IP) with the workload\'s own calls. If nobody ran the role by hand, its credentials were taken: revoke its sessions (aws:TokenIssueTime), isolate the workload, find how they left it (SSRF to the metadata service, a compromised container or build) and review what the role decrypted since (kdm history --principal). A key policy condition on aws:SourceVpce or aws:SourceIp binds the key to the workload\'s network.',
  findingTypes: ['Unusual Behaviors/User', 'TTPs/Credential Access'],
  selection: [{ eventSource: 'kms.amazonaws.com', eventNames: KMS_KEY_USE_OPERATIONS }],
  // `threshold`: the most clients a principal may use and still be judged. A workload uses one or two.
  defaults: { threshold: 3 },
  detect: (e, ctx) => {
    if (e.keyArn === undefined || e.errorCode !== undefined) return undefined;
    // A service's call on the principal's behalf carries the service's user agent: only S3's is traced to its request.
    const client = clientOfCall(e);
    if (client === undefined) return undefined;
    const clients = ctx.principalBaseline()?.clients;
    if (clients === undefined || Object.prototype.hasOwnProperty.call(clients, client)) return undefined;
    const settled = settledSetOf(clients, e.eventTimeMs, ctx.settings.threshold, ctx);
    if (settled === undefined || !settled.members.every(isWorkloadClient)) return undefined;
    // A caller new to the key itself is kms-unusual-principal's finding: one finding a call.
    if (isPrincipalNewToLearnedKey(e.keyArn, e.principal.id, e.eventTimeMs, ctx)) return undefined;
    const alias = e.keyAlias ?? ctx.aliasOf(e.keyArn);
    const isSensitive = ctx.keyPolicy.isSensitiveKey(e.keyArn, alias);
    return {
      subject: `${e.principal.id}|${client}`,
      ...(isSensitive ? { severity: 'HIGH' as const } : {}),
      aggregationWindowMs: hours(24),
      reason: `${principalLabel(e)} used ${client} ${origin(e)} (${e.madeByS3 ? `S3's ${e.eventName}` : e.eventName} with key ${keyLabel(e, alias)}). Since ${dateOf(settled.sinceMs)} its calls had all come from ${listFew(settled.members)}, a workload's clients: its credentials may be in use elsewhere.${isSensitive ? ' The key is marked sensitive.' : ''}`,
    };
  },
});

const learned = { learningPeriodMs: hours(1) };
const fn = { role: 'InvoiceRenderer', session: 'invoice-renderer' } as const;
const LAMBDA_JS = 'aws-sdk-js/3.699.0 ua/2.1 os/linux#5.10.245 lang/js md/nodejs#22.18.0 api/kms#3.699.0 exec-env/AWS_Lambda_nodejs22.x';
const fromLambda = (offsetMs = 0, userAgent = LAMBDA_JS) => kmsEvent({ who: fn, atMs: BASE_TIME_MS + offsetMs, sourceIp: '3.89.144.38', userAgent });
const later = (userAgent: string, o: Partial<Parameters<typeof kmsEvent>[0]> = {}) => kmsEvent({ who: fn, atMs: BASE_TIME_MS + hours(2), sourceIp: '198.51.100.23', userAgent, ...o });
/** An object read through S3: the Decrypt S3 made for it and the GetObject's data event, which correlation matches. */
const readThroughS3 = (offsetMs: number, userAgent: string, o: { readonly presigned?: boolean; readonly sourceIp?: string } = {}) => {
  const key = `2026/10/invoice-${offsetMs}.pdf`;
  return [
    kmsEvent({ who: fn, atMs: BASE_TIME_MS + offsetMs, s3Arn: `arn:aws:s3:::invoices/${key}` }),
    s3Event({ who: fn, atMs: BASE_TIME_MS + offsetMs + 150, bucket: 'invoices', key, userAgent, sourceIp: o.sourceIp ?? '3.89.144.38', ...(o.presigned === true ? { presigned: true } : {}) }),
  ];
};

export const cases = (): readonly RuleCase[] => [
  {
    name: 'fires when a Lambda function\'s role calls KMS from the AWS CLI',
    ...learned,
    events: [fromLambda(), fromLambda(hours(1.5)), later('aws-cli/2.17.0 Python/3.11.8 Linux/6.5.0 exe/x86_64.ubuntu.22 prompt/off command/kms.decrypt')],
    expectFindings: 1,
  },
  {
    name: 'fires when it calls from the same SDK outside Lambda (the function\'s credentials in a script)',
    ...learned,
    events: [fromLambda(), later('aws-sdk-js/3.699.0 ua/2.1 os/macos#23.4.0 lang/js md/nodejs#22.11.0 api/kms#3.699.0')],
    expectFindings: 1,
  },
  {
    name: 'fires for a client of the caller\'s own (a signer of HTTP requests)',
    ...learned,
    events: [fromLambda(), later('python-requests/2.31.0')],
    expectFindings: 1,
  },
  {
    name: 'fires when S3 decrypts an object for the role, read with the AWS CLI, where its reads had come from its function',
    ...learned,
    events: [...readThroughS3(0, `[${LAMBDA_JS}]`), ...readThroughS3(hours(2), '[aws-cli/2.17.0 Python/3.11.8 Linux/6.5.0 exe/x86_64.ubuntu.22 prompt/off command/s3.cp]', { sourceIp: '198.51.100.23' })],
    expectFindings: 1,
  },
  {
    name: 'stays silent for an object read through a presigned URL (its user agent is whoever held the URL)',
    ...learned,
    events: [...readThroughS3(0, `[${LAMBDA_JS}]`), ...readThroughS3(hours(2), 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1', { presigned: true, sourceIp: '198.51.100.23' })],
    expectFindings: 0,
  },
  {
    name: 'raises one finding for a day of calls from the new client',
    ...learned,
    events: [fromLambda(), ...[2, 3, 4].map((h) => later('aws-cli/2.17.0 Python/3.11.8', { atMs: BASE_TIME_MS + hours(h) }))],
    expectFindings: 1,
  },
  {
    name: 'stays silent for the same SDK of another version, in the same place',
    ...learned,
    events: [fromLambda(), fromLambda(hours(2), 'aws-sdk-js/3.712.0 ua/2.1 os/linux#5.10.250 lang/js md/nodejs#22.19.0 api/kms#3.712.0 exec-env/AWS_Lambda_nodejs22.x')],
    expectFindings: 0,
  },
  {
    name: 'stays silent while the principal\'s clients are learned, and learns the one it then uses',
    ...learned,
    events: [fromLambda(), later('aws-cli/2.17.0', { atMs: BASE_TIME_MS + hours(0.5) }), later('aws-cli/2.17.0', { atMs: BASE_TIME_MS + days(1) })],
    expectFindings: 0,
  },
  {
    name: 'stays silent for a principal that uses people\'s tools (the CLI, the console), whatever it uses next',
    ...learned,
    events: [kmsEvent({ who: fn, userAgent: 'aws-cli/2.17.0 Python/3.11.8' }), later('Boto3/1.34.100 md/Botocore#1.34.100')],
    expectFindings: 0,
  },
  {
    name: 'stays silent for a principal that already uses more clients than the threshold',
    ...learned,
    events: [
      fromLambda(),
      fromLambda(1, 'aws-sdk-java/2.25.11 Linux/6.1'),
      fromLambda(2, 'aws-sdk-go-v2/1.30.0'),
      fromLambda(3, 'Boto3/1.34.100'),
      later('aws-cli/2.17.0'),
    ],
    expectFindings: 0,
  },
  {
    name: 'stays silent for calls other services make for the principal, S3\'s with no request matched, and failed calls',
    ...learned,
    events: [
      fromLambda(),
      kmsEvent({ who: fn, atMs: BASE_TIME_MS + hours(2), s3Arn: 'arn:aws:s3:::invoices/2026/10.pdf' }),
      kmsEvent({ who: fn, atMs: BASE_TIME_MS + hours(2), viaService: 'secretsmanager.amazonaws.com' }),
      later('aws-cli/2.17.0', { errorCode: 'AccessDeniedException' }),
    ],
    expectFindings: 0,
  },
  {
    name: 'leaves a principal new to the key to kms-unusual-principal',
    ...learned,
    events: [
      kmsEvent({ who: fn, keyArn: 'arn:aws:kms:us-east-1:111122223333:key/0000-invoices', userAgent: LAMBDA_JS }),
      kmsEvent({ who: { role: 'Other' }, atMs: BASE_TIME_MS + hours(1) }),
      later('aws-cli/2.17.0'),
    ],
    expectFindings: 0,
  },
  {
    name: 'stays silent for a record without a user agent',
    ...learned,
    events: [fromLambda(), kmsEvent({ who: fn, atMs: BASE_TIME_MS + hours(2), userAgent: '' })],
    expectFindings: 0,
  },
  {
    name: 'raises HIGH on a key the configuration marks sensitive',
    ...learned,
    events: [fromLambda(), later('aws-cli/2.17.0')],
    config: { keys: [{ arn: KEY_ARN, sensitive: true }] },
    expectFindings: 1,
    expectSeverity: 'HIGH',
  },
];
