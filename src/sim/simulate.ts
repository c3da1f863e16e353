/**
 * A deterministic generator of realistic CloudTrail traffic for tests, backtests and benchmarks: applications
 * passing encryption context, analysts reading SSE-KMS objects through S3 (with and without data events, with and
 * without S3 Bucket Keys), ETL writes, a partner account, AWS services, background noise, and — on request —
 * labelled anomalies of every rule, with the signing and HMAC traffic they stand out from. Same seed, same bytes.
 */

import { isPrivateAddress } from '../core/network.ts';

export const SIM_START_MS = Date.UTC(2026, 9, 1);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export const SIM_ACCOUNTS = { data: '111122223333', partner: '444455556666', outsider: '999988887777' } as const;
const REGION = 'us-east-1';
const EU = 'eu-west-1';

const keyArn = (id: string, region = REGION) => `arn:aws:kms:${region}:${SIM_ACCOUNTS.data}:key/${id}`;
export const SIM_KEYS = {
  app: { arn: keyArn('1a2b3c4d-0000-4000-8000-00000000a001'), alias: 'alias/app-data' },
  reports: { arn: keyArn('1a2b3c4d-0000-4000-8000-00000000b002'), alias: 'alias/s3-reports' },
  archive: { arn: keyArn('1a2b3c4d-0000-4000-8000-00000000c003'), alias: 'alias/s3-archive' },
  lake: { arn: keyArn('1a2b3c4d-0000-4000-8000-00000000d004'), alias: 'alias/s3-lake' },
  eu: { arn: keyArn('1a2b3c4d-0000-4000-8000-00000000e005', EU), alias: 'alias/app-data-eu' },
  secrets: { arn: keyArn('1a2b3c4d-0000-4000-8000-00000000f006'), alias: 'alias/secrets' },
  /** An asymmetric signing key (ECC_NIST_P256) the release pipeline signs builds' digests with. */
  signing: { arn: keyArn('1a2b3c4d-0000-4000-8000-00000000a007'), alias: 'alias/release-signing' },
  /** An HMAC key (HMAC_256) the session-token service makes and checks its tokens' MACs with. */
  tokens: { arn: keyArn('1a2b3c4d-0000-4000-8000-00000000b008'), alias: 'alias/session-tokens' },
} as const;
/** Buckets: reports (per-object keys, data events), archive (Bucket Keys, data events), lake (no data events). */
export const SIM_BUCKETS = { reports: 'sim-reports', archive: 'sim-archive', lake: 'sim-lake' } as const;

export interface AnomalyLabel {
  readonly id: string;
  /** The rule that must detect it. */
  readonly rule: string;
  /** Other rules that rightly fire on the same events (e.g. a root call is also a new principal). */
  readonly alsoRules: readonly string[];
  readonly eventIds: readonly string[];
  readonly description: string;
  readonly timeMs: number;
}

export interface SimulateOptions {
  readonly events: number;
  readonly seed: number;
  readonly anomalies: boolean;
  /** Days of traffic (default 14: a 7-day learning period and a week to detect in). */
  readonly days?: number;
  /** Instances of each anomaly kind (default 3). */
  readonly anomaliesPerKind?: number;
  readonly recordsPerFile?: number;
}

export interface SimulatedFile {
  /** Path under the output directory, in the AWSLogs layout. */
  readonly path: string;
  readonly records: readonly Record<string, unknown>[];
}

export interface Simulation {
  readonly files: readonly SimulatedFile[];
  readonly labels: readonly AnomalyLabel[];
  readonly recordCount: number;
}

/** mulberry32: small, fast, and the same everywhere. */
const prng = (seed: number): (() => number) => {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
};

interface Actor {
  readonly role: string;
  readonly account: string;
  readonly sessions: readonly string[];
  readonly ip: string;
  readonly userAgent: string;
  /** The KMS VPC endpoint its own KMS calls come through: a private address reaches KMS through one, or not at all. */
  readonly kmsEndpoint?: string;
  /** The S3 gateway endpoint its S3 requests from a private address come through. */
  readonly s3Endpoint?: string;
}

const roleIdentity = (a: Actor, session: string, invokedBy?: string): Record<string, unknown> => ({
  type: 'AssumedRole',
  principalId: `AROA${a.role.toUpperCase().replace(/[^A-Z0-9]/g, '').padEnd(17, 'X').slice(0, 17)}:${session}`,
  arn: `arn:aws:sts::${a.account}:assumed-role/${a.role}/${session}`,
  accountId: a.account,
  accessKeyId: 'ASIASIMULATEDKEY0001',
  sessionContext: {
    sessionIssuer: { type: 'Role', principalId: `AROA${a.role.toUpperCase().slice(0, 10)}`, arn: `arn:aws:iam::${a.account}:role/${a.role}`, accountId: a.account, userName: a.role },
    attributes: { creationDate: '2026-10-01T00:00:00Z', mfaAuthenticated: 'false' },
  },
  ...(invokedBy !== undefined ? { invokedBy } : {}),
});

/** A write's response elements as S3 logs them: the encryption it applied and, for SSE-KMS, the key's ARN. */
const writeResponse = (sse: string | undefined, kmsKey: string | undefined): Record<string, string> | null => {
  if (sse === undefined) return null;
  if (sse.includes('KMS')) return { 'x-amz-server-side-encryption': 'aws:kms', ...(kmsKey !== undefined ? { 'x-amz-server-side-encryption-aws-kms-key-id': kmsKey } : {}) };
  return sse.includes('SSE_S3') ? { 'x-amz-server-side-encryption': 'AES256' } : null;
};

/** The data account's KMS interface endpoints, one per Region its workloads run in. */
export const SIM_KMS_ENDPOINTS = { us: 'vpce-0a1b2c3d4e5f60718', eu: 'vpce-0e1f2a3b4c5d60719' } as const;
/** The data account's S3 gateway endpoint, in the Region its ETL job runs in. */
export const SIM_S3_ENDPOINT = 'vpce-05a6b7c8d9e0f1a2b';

const ACTORS = {
  payments: { role: 'PaymentsApp', account: SIM_ACCOUNTS.data, sessions: ['i-0a1', 'i-0a2', 'i-0a3', 'i-0a4'], ip: '10.20.31.12', userAgent: 'aws-sdk-java/2.25.11 Linux/6.1', kmsEndpoint: SIM_KMS_ENDPOINTS.us },
  billing: { role: 'BillingApp', account: SIM_ACCOUNTS.data, sessions: ['task-1', 'task-2'], ip: '10.20.32.40', userAgent: 'aws-sdk-go-v2/1.30.0', kmsEndpoint: SIM_KMS_ENDPOINTS.us },
  etl: { role: 'ReportEtl', account: SIM_ACCOUNTS.data, sessions: ['etl-run'], ip: '10.20.30.40', userAgent: 'Boto3/1.34.100', kmsEndpoint: SIM_KMS_ENDPOINTS.us, s3Endpoint: SIM_S3_ENDPOINT },
  analyst: { role: 'FinanceAnalyst', account: SIM_ACCOUNTS.data, sessions: ['alice@example.com', 'bob@example.com', 'carol@example.com', 'dan@example.com'], ip: '203.0.113.7', userAgent: '[Mozilla/5.0 (Macintosh)]' },
  euApp: { role: 'PaymentsAppEu', account: SIM_ACCOUNTS.data, sessions: ['i-0e1'], ip: '10.40.1.10', userAgent: 'aws-sdk-java/2.25.11', kmsEndpoint: SIM_KMS_ENDPOINTS.eu },
  partner: { role: 'PartnerReader', account: SIM_ACCOUNTS.partner, sessions: ['batch'], ip: '198.51.100.80', userAgent: 'aws-sdk-go-v2/1.30.0' },
  releaser: { role: 'ReleasePipeline', account: SIM_ACCOUNTS.data, sessions: ['build-runner'], ip: '10.20.33.15', userAgent: 'aws-cli/2.17.0', kmsEndpoint: SIM_KMS_ENDPOINTS.us },
  tokenService: { role: 'SessionTokenService', account: SIM_ACCOUNTS.data, sessions: ['task-7', 'task-8'], ip: '10.20.34.21', userAgent: 'aws-sdk-java/2.25.11 Linux/6.1', kmsEndpoint: SIM_KMS_ENDPOINTS.us },
  admin: { role: 'PlatformAdmin', account: SIM_ACCOUNTS.data, sessions: ['ops@example.com'], ip: '203.0.113.50', userAgent: 'aws-cli/2.17.0' },
} as const satisfies Record<string, Actor>;

class Builder {
  private n = 0;
  constructor(private readonly rand: () => number) {}

  id(): string {
    this.n++;
    const hex = (bits: number) => Math.floor(this.rand() * 2 ** bits).toString(16).padStart(bits / 4, '0');
    return `${hex(32)}-${hex(16)}-4${hex(12)}-a${hex(12)}-${this.n.toString(16).padStart(12, '0')}`;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.rand() * items.length)] as T;
  }

  kms(o: { name: string; atMs: number; actor: Actor; session?: string; key: { arn: string; alias?: string }; context?: Record<string, string>; s3Made?: boolean; region?: string; errorCode?: string; keyIdParam?: string | undefined; requestParameters?: Record<string, unknown>; sourceIp?: string; identity?: Record<string, unknown>; recipient?: string; vpcEndpointId?: string }): Record<string, unknown> {
    const service = o.s3Made === true ? 'AWS Internal' : undefined;
    const rp: Record<string, unknown> = { ...(o.requestParameters ?? {}) };
    // A ReEncrypt names its source's and destination's algorithms instead (its caller passes them).
    if (o.name === 'Decrypt' || o.name === 'Encrypt') rp['encryptionAlgorithm'] = 'SYMMETRIC_DEFAULT';
    if (o.name.startsWith('GenerateDataKey')) rp['keySpec'] = 'AES_256';
    if (o.keyIdParam !== undefined) rp['keyId'] = o.keyIdParam;
    if (o.context !== undefined) rp['encryptionContext'] = o.context;
    const region = o.region ?? REGION;
    // The actor's own call from its private address came through its KMS endpoint; a call S3 or another service
    // made, or one from another address, did not.
    const endpoint = o.vpcEndpointId ?? (service === undefined && o.sourceIp === undefined && o.identity === undefined ? o.actor.kmsEndpoint : undefined);
    const r: Record<string, unknown> = {
      eventVersion: '1.11',
      userIdentity: o.identity ?? roleIdentity(o.actor, o.session ?? this.pick(o.actor.sessions), service),
      eventTime: new Date(o.atMs).toISOString().replace('.000Z', 'Z'),
      eventSource: 'kms.amazonaws.com',
      eventName: o.name,
      awsRegion: region,
      sourceIPAddress: o.sourceIp ?? service ?? o.actor.ip,
      userAgent: service ?? o.actor.userAgent,
      requestParameters: rp,
      responseElements: null,
      additionalEventData: { keyMaterialId: '3b7a6f0c2d1e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a' },
      requestID: this.id(),
      eventID: this.id(),
      readOnly: !['ScheduleKeyDeletion', 'DisableKey', 'PutKeyPolicy'].includes(o.name),
      resources: [{ accountId: o.key.arn.split(':')[4], type: 'AWS::KMS::Key', ARN: o.key.arn }],
      eventType: 'AwsApiCall',
      managementEvent: true,
      recipientAccountId: o.recipient ?? SIM_ACCOUNTS.data,
      // Where CloudTrail writes it.
      ...(endpoint !== undefined ? { vpcEndpointId: endpoint } : {}),
      eventCategory: 'Management',
    };
    if (o.errorCode !== undefined) {
      r['errorCode'] = o.errorCode;
      r['errorMessage'] = o.errorCode === 'ThrottlingException' ? 'You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls.' : `User is not authorized to perform: kms:${o.name}`;
    }
    const callerAccount = (r['userIdentity'] as { accountId?: string }).accountId;
    if (callerAccount !== undefined && callerAccount !== o.key.arn.split(':')[4]) r['sharedEventID'] = this.id();
    return r;
  }

  s3(o: { name: string; atMs: number; actor: Actor; session: string; bucket: string; key: string; bytes: number; sse?: string; kmsKey?: string }): Record<string, unknown> {
    const rp: Record<string, unknown> = { bucketName: o.bucket, Host: `${o.bucket}.s3.${REGION}.amazonaws.com`, key: o.key };
    if (o.kmsKey !== undefined) {
      rp['x-amz-server-side-encryption'] = 'aws:kms';
      rp['x-amz-server-side-encryption-aws-kms-key-id'] = o.kmsKey;
    }
    const put = o.name === 'PutObject';
    // From a private address, the request came through the actor's S3 endpoint; from a public one, through none.
    const endpoint = isPrivateAddress(o.actor.ip) ? o.actor.s3Endpoint : undefined;
    return {
      eventVersion: '1.10',
      userIdentity: roleIdentity(o.actor, o.session),
      eventTime: new Date(o.atMs).toISOString().replace('.000Z', 'Z'),
      eventSource: 's3.amazonaws.com',
      eventName: o.name,
      awsRegion: REGION,
      sourceIPAddress: o.actor.ip,
      userAgent: `[${o.actor.userAgent}]`,
      requestParameters: rp,
      responseElements: put ? writeResponse(o.sse, o.kmsKey) : null,
      additionalEventData: { SignatureVersion: 'SigV4', CipherSuite: 'TLS_AES_128_GCM_SHA256', bytesTransferredIn: put ? o.bytes : 0, bytesTransferredOut: put ? 0 : o.bytes, AuthenticationMethod: 'AuthHeader', ...(o.sse !== undefined ? { SSEApplied: o.sse } : {}) },
      requestID: this.id().slice(0, 16).toUpperCase(),
      eventID: this.id(),
      readOnly: !put,
      resources: [
        { type: 'AWS::S3::Object', ARN: `arn:aws:s3:::${o.bucket}/${o.key}` },
        { accountId: SIM_ACCOUNTS.data, type: 'AWS::S3::Bucket', ARN: `arn:aws:s3:::${o.bucket}` },
      ],
      eventType: 'AwsApiCall',
      managementEvent: false,
      recipientAccountId: SIM_ACCOUNTS.data,
      ...(endpoint !== undefined ? { vpcEndpointId: endpoint } : {}),
      eventCategory: 'Data',
    };
  }

  other(o: { source: string; name: string; atMs: number; actor: Actor; requestParameters?: Record<string, unknown>; readOnly?: boolean }): Record<string, unknown> {
    return {
      eventVersion: '1.10',
      userIdentity: roleIdentity(o.actor, this.pick(o.actor.sessions)),
      eventTime: new Date(o.atMs).toISOString().replace('.000Z', 'Z'),
      eventSource: o.source,
      eventName: o.name,
      awsRegion: REGION,
      sourceIPAddress: o.actor.ip,
      userAgent: o.actor.userAgent,
      requestParameters: o.requestParameters ?? null,
      responseElements: null,
      requestID: this.id(),
      eventID: this.id(),
      readOnly: o.readOnly ?? true,
      eventType: 'AwsApiCall',
      managementEvent: true,
      recipientAccountId: SIM_ACCOUNTS.data,
      // A workload's KMS calls from its private address come through its KMS endpoint, as its cryptographic ones do.
      ...(o.source === 'kms.amazonaws.com' && o.actor.kmsEndpoint !== undefined ? { vpcEndpointId: o.actor.kmsEndpoint } : {}),
      eventCategory: 'Management',
    };
  }

  /**
   * A network activity event, the data account's record of a call through one of its VPC endpoints, as AWS's
   * examples show one: no request parameters, no resources. A caller of another account is named by its account and
   * an access key alone.
   */
  network(o: { source: string; name: string; atMs: number; actor: Actor; endpoint: string; outside?: boolean; denied?: boolean }): Record<string, unknown> {
    return {
      eventVersion: '1.09',
      userIdentity: o.outside === true ? { type: 'AWSAccount', principalId: 'AKIASIMULATEDOUTSIDE', accountId: o.actor.account } : roleIdentity(o.actor, this.pick(o.actor.sessions)),
      eventTime: new Date(o.atMs).toISOString().replace('.000Z', 'Z'),
      eventSource: o.source,
      eventName: o.name,
      awsRegion: REGION,
      sourceIPAddress: o.actor.ip,
      ...(o.denied === true ? { errorCode: 'VpceAccessDenied', errorMessage: 'The request was denied due to a VPC endpoint policy' } : {}),
      requestID: this.id(),
      eventID: this.id(),
      eventType: 'AwsVpceEvent',
      recipientAccountId: SIM_ACCOUNTS.data,
      sharedEventID: this.id(),
      vpcEndpointId: o.endpoint,
      vpcEndpointAccountId: SIM_ACCOUNTS.data,
      eventCategory: 'NetworkActivity',
    };
  }
}

const NOISE: readonly (readonly [string, string])[] = [
  ['ec2.amazonaws.com', 'DescribeInstances'],
  ['ec2.amazonaws.com', 'DescribeSecurityGroups'],
  ['sts.amazonaws.com', 'AssumeRole'],
  ['sts.amazonaws.com', 'GetCallerIdentity'],
  ['lambda.amazonaws.com', 'ListFunctions20150331'],
  ['kms.amazonaws.com', 'ListAliases'],
  ['kms.amazonaws.com', 'DescribeKey'],
  ['s3.amazonaws.com', 'ListBuckets'],
  ['s3.amazonaws.com', 'GetBucketEncryption'],
  ['logs.amazonaws.com', 'PutLogEvents'],
];

interface Corpus {
  readonly objectKeys: readonly string[];
  readonly archiveKeys: readonly string[];
  readonly tenants: readonly string[];
}

/** One benign activity at `atMs` (one record, or a KMS call with its S3 request). */
const benignActivity = (b: Builder, rand: () => number, atMs: number, corpus: Corpus, out: Record<string, unknown>[]): void => {
  const { objectKeys, archiveKeys, tenants } = corpus;
  const r = rand();
  if (r < 0.3) {
    const actor = rand() < 0.7 ? ACTORS.payments : ACTORS.billing;
    const name = rand() < 0.6 ? 'Decrypt' : rand() < 0.8 ? 'GenerateDataKey' : 'Encrypt';
    out.push(b.kms({ name, atMs, actor, key: SIM_KEYS.app, keyIdParam: name === 'Decrypt' ? undefined : SIM_KEYS.app.alias, context: { app: actor === ACTORS.payments ? 'payments' : 'billing', env: 'prod', tenant: b.pick(tenants) } }));
  } else if (r < 0.5) {
    const session = b.pick(ACTORS.analyst.sessions);
    const key = b.pick(objectKeys);
    out.push(b.kms({ name: 'Decrypt', atMs, actor: ACTORS.analyst, session, key: SIM_KEYS.reports, s3Made: true, context: { 'aws:s3:arn': `arn:aws:s3:::${SIM_BUCKETS.reports}/${key}` } }));
    out.push(b.s3({ name: 'GetObject', atMs: atMs + Math.floor(rand() * 800), actor: ACTORS.analyst, session, bucket: SIM_BUCKETS.reports, key, bytes: 50_000 + Math.floor(rand() * 5_000_000) }));
  } else if (r < 0.6) {
    const key = `finance/2026/upload-${b.id().slice(0, 8)}.csv`;
    out.push(b.kms({ name: 'GenerateDataKey', atMs, actor: ACTORS.etl, session: 'etl-run', key: SIM_KEYS.reports, s3Made: true, keyIdParam: SIM_KEYS.reports.arn, context: { 'aws:s3:arn': `arn:aws:s3:::${SIM_BUCKETS.reports}/${key}` } }));
    out.push(b.s3({ name: 'PutObject', atMs: atMs + 200, actor: ACTORS.etl, session: 'etl-run', bucket: SIM_BUCKETS.reports, key, bytes: 10_000 + Math.floor(rand() * 900_000), sse: 'SSE_KMS', kmsKey: SIM_KEYS.reports.arn }));
  } else if (r < 0.7) {
    // S3 Bucket Keys: many GetObjects, an occasional Decrypt with the bucket ARN as context.
    out.push(b.s3({ name: 'GetObject', atMs, actor: ACTORS.etl, session: 'etl-run', bucket: SIM_BUCKETS.archive, key: b.pick(archiveKeys), bytes: 1_000_000 }));
    if (rand() < 0.05) out.push(b.kms({ name: 'Decrypt', atMs: atMs - 50, actor: ACTORS.etl, session: 'etl-run', key: SIM_KEYS.archive, s3Made: true, context: { 'aws:s3:arn': `arn:aws:s3:::${SIM_BUCKETS.archive}` } }));
  } else if (r < 0.75) {
    out.push(b.kms({ name: 'Decrypt', atMs, actor: ACTORS.etl, session: 'etl-run', key: SIM_KEYS.lake, s3Made: true, context: { 'aws:s3:arn': `arn:aws:s3:::${SIM_BUCKETS.lake}/raw/${b.pick(archiveKeys)}` } }));
  } else if (r < 0.78) {
    out.push(b.kms({ name: rand() < 0.5 ? 'Decrypt' : 'GenerateDataKey', atMs, actor: ACTORS.euApp, region: EU, key: SIM_KEYS.eu, context: { app: 'payments', env: 'prod', tenant: b.pick(tenants) } }));
  } else if (r < 0.8) {
    out.push(b.kms({ name: 'Decrypt', atMs, actor: ACTORS.partner, key: SIM_KEYS.app, context: { app: 'payments', env: 'prod', partner: 'globex' } }));
  } else if (r < 0.85) {
    out.push(b.kms({ name: rand() < 0.8 ? 'Decrypt' : 'GenerateDataKey', atMs, actor: ACTORS.admin, identity: { type: 'AWSService', invokedBy: 'secretsmanager.amazonaws.com' }, sourceIp: 'secretsmanager.amazonaws.com', key: SIM_KEYS.secrets, context: { SecretARN: `arn:aws:secretsmanager:${REGION}:${SIM_ACCOUNTS.data}:secret:db-${Math.floor(rand() * 20)}`, SecretVersionId: 'v1' } }));
  } else {
    const [source, name] = b.pick(NOISE);
    out.push(b.other({ source, name, atMs, actor: b.pick([ACTORS.admin, ACTORS.payments, ACTORS.etl]) }));
  }
};

const ROOT_IDENTITY = { type: 'Root', principalId: SIM_ACCOUNTS.data, arn: `arn:aws:iam::${SIM_ACCOUNTS.data}:root`, accountId: SIM_ACCOUNTS.data, accessKeyId: 'ASIAROOT0000000001' } as const;
/** What KMS logs of a Sign's and a GenerateMac's request (as the documentation's example records show). */
const SIGN_REQUEST = { messageType: 'DIGEST', signingAlgorithm: 'ECDSA_SHA_256' } as const;
const MAC_REQUEST = { macAlgorithm: 'HMAC_SHA_256' } as const;

/**
 * The traffic the signing anomalies stand out from, every day from the first: the release pipeline signs a build's
 * digest every six hours, and the session-token service makes a token's MAC and checks another's every two hours.
 */
const signingTraffic = (b: Builder, rand: () => number, days: number): Record<string, unknown>[] => {
  const out: Record<string, unknown>[] = [];
  const jitter = () => Math.floor(rand() * 30 * 60_000);
  for (let d = 0; d < days; d++) {
    const dayMs = SIM_START_MS + d * DAY;
    for (let h = 0; h < 24; h += 6) out.push(b.kms({ name: 'Sign', atMs: dayMs + h * HOUR + jitter(), actor: ACTORS.releaser, key: SIM_KEYS.signing, keyIdParam: SIM_KEYS.signing.alias, requestParameters: SIGN_REQUEST }));
    for (let h = 0; h < 24; h += 2) {
      out.push(b.kms({ name: 'GenerateMac', atMs: dayMs + h * HOUR + jitter(), actor: ACTORS.tokenService, key: SIM_KEYS.tokens, keyIdParam: SIM_KEYS.tokens.alias, requestParameters: MAC_REQUEST }));
      out.push(b.kms({ name: 'VerifyMac', atMs: dayMs + h * HOUR + 45 * 60_000 + jitter(), actor: ACTORS.tokenService, key: SIM_KEYS.tokens, keyIdParam: SIM_KEYS.tokens.alias, requestParameters: MAC_REQUEST }));
    }
  }
  return out;
};

/**
 * Labelled anomalies of every rule, placed after the learning week, and the signing traffic that the signing
 * anomalies stand out from, from the first day on.
 */
const anomalyRecords = (b: Builder, options: SimulateOptions, days: number, corpus: Corpus): { records: Record<string, unknown>[]; labels: AnomalyLabel[] } => {
  const spanMs = days * DAY;
  const { objectKeys } = corpus;
  const out: Record<string, unknown>[] = [];
const labels: AnomalyLabel[] = [];
if (options.anomalies) {
  const perKind = options.anomaliesPerKind ?? 3;
  // Anomaly kinds added later draw from a generator of their own, so that every record a seed made before stays as it was.
  const late = new Builder(prng(options.seed + 0x5eed));
  const later = new Builder(prng(options.seed + 0x7eed));
  const newest = new Builder(prng(options.seed + 0x9eed));
  const newer = new Builder(prng(options.seed + 0xbeed));
  const handled = new Builder(prng(options.seed + 0xfeed));
  const routed = new Builder(prng(options.seed + 0x11eed));
  const perimeter = new Builder(prng(options.seed + 0x13eed));
  // The signing traffic's builder and its jitter share one generator, as the benign traffic's do.
  const signingRand = prng(options.seed + 0xdeed);
  const signing = new Builder(signingRand);
  out.push(...signingTraffic(signing, signingRand, days));
  // Anomalies start one day after the 7-day learning period ends and stay clear of the last hour.
  const detectFrom = SIM_START_MS + 8 * DAY;
  const detectSpan = Math.max(DAY, spanMs - 8 * DAY - 3_600_000);
  for (let i = 0; i < perKind; i++) {
    const at = (kind: number) => detectFrom + Math.floor(((i * 13 + kind) / (perKind * 13 + 13)) * detectSpan);
    /** Labels the records; `kind` tells apart the anomalies of one rule (its id `<rule>/<kind>#<instance>`). */
    const add = (rule: string, description: string, recs: Record<string, unknown>[], alsoRules: string[] = [], kind?: string) => {
      out.push(...recs);
      labels.push({ id: `${rule}${kind !== undefined ? `/${kind}` : ''}#${i}`, rule, alsoRules, description, eventIds: recs.map((x) => x['eventID'] as string), timeMs: Date.parse(recs[0]?.['eventTime'] as string) });
    };
    const intruder: Actor = { role: `Intruder${i}`, account: SIM_ACCOUNTS.data, sessions: ['x'], ip: `198.51.100.${100 + i}`, userAgent: 'python-requests/2.31' };
    add('kms-unusual-principal', 'a role never seen on the key decrypts with it', [b.kms({ name: 'Decrypt', atMs: at(0), actor: intruder, key: SIM_KEYS.app, context: { app: 'payments', env: 'prod', tenant: 'acme' } })]);
    // Each instance uses a region (and account, below) of its own: once seen, a region or account is learned.
    const farRegion = ['ap-southeast-2', 'sa-east-1', 'me-south-1', 'af-south-1', 'ap-northeast-3'][i % 5] as string;
    const apKey = { arn: `arn:aws:kms:${farRegion}:${SIM_ACCOUNTS.data}:key/1a2b3c4d-0000-4000-8000-0000000aa${String(i).padStart(3, '0')}` };
    add('kms-unusual-region', 'a known analyst calls KMS in a region it never used', [b.kms({ name: 'Decrypt', atMs: at(1), actor: ACTORS.analyst, session: 'alice@example.com', region: farRegion, key: apKey, sourceIp: '203.0.113.7', context: { purpose: 'x' } })]);
    add('kms-missing-encryption-context', 'the payments app decrypts without its usual context', [b.kms({ name: 'Decrypt', atMs: at(2), actor: ACTORS.payments, key: SIM_KEYS.app })]);
    add('kms-s3-data-key-direct-decrypt', 'an S3 data key is decrypted from a laptop, not by S3', [b.kms({ name: 'Decrypt', atMs: at(3), actor: ACTORS.analyst, session: 'bob@example.com', key: SIM_KEYS.reports, context: { 'aws:s3:arn': `arn:aws:s3:::${SIM_BUCKETS.reports}/${objectKeys[i] ?? 'x'}` } })]);
    // Far above the analysts' own 5-minute rate (about 20% of traffic), and inside one 5-minute window.
    const analystPerWindow = (0.2 * options.events) / (days * 288);
    const massCount = Math.max(320, Math.ceil(15 * analystPerWindow));
    const stepMs = Math.min(500, Math.floor(200_000 / massCount));
    const massStart = Math.floor(at(4) / 300_000) * 300_000 + 10_000;
    const mass: Record<string, unknown>[] = [];
    for (let j = 0; j < massCount; j++) {
      const key = `finance/2026/bulk-${i}-${j}.pdf`;
      mass.push(b.kms({ name: 'Decrypt', atMs: massStart + j * stepMs, actor: ACTORS.analyst, session: 'carol@example.com', key: SIM_KEYS.reports, s3Made: true, context: { 'aws:s3:arn': `arn:aws:s3:::${SIM_BUCKETS.reports}/${key}` } }));
      mass.push(b.s3({ name: 'GetObject', atMs: massStart + j * stepMs + 50, actor: ACTORS.analyst, session: 'carol@example.com', bucket: SIM_BUCKETS.reports, key, bytes: 2_000_000 }));
    }
    add('kms-mass-decrypt', `an analyst reads ${massCount} distinct objects in under 4 minutes`, mass);
    const prober: Actor = { role: `ContractorSandbox${i}`, account: SIM_ACCOUNTS.data, sessions: ['probe'], ip: `198.51.100.${150 + i}`, userAgent: 'aws-cli/2.17.0' };
    add('kms-access-denied-burst', 'a role tries 15 keys it may not use within 2 minutes', Array.from({ length: 15 }, (_, j) => b.kms({ name: 'Decrypt', atMs: at(5) + j * 8_000, actor: prober, key: b.pick([SIM_KEYS.app, SIM_KEYS.reports, SIM_KEYS.archive, SIM_KEYS.lake]), errorCode: 'AccessDeniedException' })));
    const outsider: Actor = { role: 'ExternalReader', account: `${SIM_ACCOUNTS.outsider.slice(0, 10)}${String(10 + i).slice(-2)}`, sessions: [`ext-${i}`], ip: `192.0.2.${10 + i}`, userAgent: 'aws-sdk-go-v2/1.30.0' };
    add('kms-cross-account', 'an account never seen on the key decrypts with it', [b.kms({ name: 'Decrypt', atMs: at(6), actor: outsider, key: SIM_KEYS.app, context: { app: 'payments', env: 'prod', tenant: 'acme' } })], ['kms-unusual-principal']);
    add('kms-root-usage', 'the root user decrypts', [b.kms({ name: 'Decrypt', atMs: at(7), actor: ACTORS.admin, identity: ROOT_IDENTITY, sourceIp: '192.0.2.44', key: SIM_KEYS.app, context: { app: 'payments', env: 'prod', tenant: 'acme' } })], ['kms-unusual-principal']);
    add('kms-throttled', 'S3 uploads are throttled by KMS', Array.from({ length: 25 }, (_, j) => b.kms({ name: 'GenerateDataKey', atMs: at(8) + j * 200, actor: ACTORS.etl, session: 'etl-run', key: SIM_KEYS.reports, s3Made: true, errorCode: 'ThrottlingException', context: { 'aws:s3:arn': `arn:aws:s3:::${SIM_BUCKETS.reports}/finance/2026/burst-${i}-${j}.csv` } })));
    const lifecycle = [
      b.kms({ name: 'ScheduleKeyDeletion', atMs: at(9), actor: ACTORS.admin, key: SIM_KEYS.lake, keyIdParam: SIM_KEYS.lake.arn, requestParameters: { pendingWindowInDays: 7 } }),
      b.kms({ name: 'PutKeyPolicy', atMs: at(9) + 1000, actor: ACTORS.admin, key: SIM_KEYS.archive, keyIdParam: SIM_KEYS.archive.arn, requestParameters: { policyName: 'default', policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: '*' }, Action: 'kms:Decrypt', Resource: '*' }] }) } }),
    ];
    add('kms-key-lifecycle', 'a key is scheduled for deletion and another opened to everyone', [lifecycle[i % 2] as Record<string, unknown>]);
    const blind = i % 2 === 0
      ? b.other({ source: 'cloudtrail.amazonaws.com', name: 'StopLogging', atMs: at(10), actor: ACTORS.admin, requestParameters: { name: 'org-trail' }, readOnly: false })
      : b.other({ source: 'cloudtrail.amazonaws.com', name: 'PutEventSelectors', atMs: at(10), actor: ACTORS.admin, readOnly: false, requestParameters: { trailName: 'org-trail', eventSelectors: [{ readWriteType: 'All', includeManagementEvents: true, excludeManagementEventSources: ['kms.amazonaws.com'], dataResources: [] }] } });
    add('cloudtrail-kms-blind-spot', 'the trail stops logging KMS events', [blind]);
    const unlogged = `finance/2026/unlogged-${i}.pdf`;
    add('s3-decrypt-without-object-access', 'S3 decrypts an object for an analyst but no data event logs the read', [b.kms({ name: 'Decrypt', atMs: at(11), actor: ACTORS.analyst, session: 'dan@example.com', key: SIM_KEYS.reports, s3Made: true, context: { 'aws:s3:arn': `arn:aws:s3:::${SIM_BUCKETS.reports}/${unlogged}` } })]);
    add('s3-put-without-required-kms', 'an object lands in an SSE-KMS bucket with SSE-S3', [b.s3({ name: 'PutObject', atMs: at(12), actor: ACTORS.etl, session: 'etl-run', bucket: SIM_BUCKETS.reports, key: `finance/2026/plain-${i}.csv`, bytes: 12_000, sse: 'SSE_S3' })]);
    const tampering = i % 2 === 0
      ? late.other({ source: 'events.amazonaws.com', name: 'DisableRule', atMs: at(12) + 90_000, actor: ACTORS.admin, readOnly: false, requestParameters: { name: 'kms-decrypt-monitor-kms-calls', eventBusName: 'default' } })
      : late.other({ source: 'events.amazonaws.com', name: 'RemoveTargets', atMs: at(12) + 90_000, actor: ACTORS.admin, readOnly: false, requestParameters: { rule: 'kms-decrypt-monitor-trail-changes', ids: ['central-bus'] } });
    add('eventbridge-monitor-rule-tampered', 'the monitor\'s EventBridge rule is disabled or loses its target', [tampering]);
    const lockerKey = `arn:aws:kms:${REGION}:${SIM_ACCOUNTS.outsider}:key/3f1c0000-0000-4000-8000-0000000000${String(i).padStart(2, '0')}`;
    const locker = late.other({
      source: 's3.amazonaws.com',
      name: 'PutBucketEncryption',
      atMs: at(12) + 180_000,
      actor: ACTORS.admin,
      readOnly: false,
      requestParameters: {
        bucketName: SIM_BUCKETS.reports,
        Host: `${SIM_BUCKETS.reports}.s3.${REGION}.amazonaws.com`,
        encryption: '',
        ServerSideEncryptionConfiguration: { xmlns: 'http://s3.amazonaws.com/doc/2006-03-01/', Rule: { ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: lockerKey }, BucketKeyEnabled: true } },
      },
    });
    add('s3-bucket-default-key-changed', 'a bucket\'s default encryption is set to a key of an outside account', [locker]);
    // The platform admin's day: a key scheduled for deletion or opened to everyone, the trail blinded, the monitor's
    // rule tampered with and the bucket's key swapped, four rules' findings of one principal, one story when they
    // fall in one UTC day (the rule's window) or, across a midnight, in the 24 hours from noon to noon; apart, none.
    const adminDay = [lifecycle[i % 2] as Record<string, unknown>, blind, tampering, locker];
    const daysOf = (shiftMs: number) => new Set(adminDay.map((r) => new Date(Date.parse(r['eventTime'] as string) - shiftMs).toISOString().slice(0, 10)));
    if (daysOf(0).size === 1 || daysOf(12 * 3_600_000).size === 1) {
      labels.push({ id: `kms-principal-several-anomalies#${i}`, rule: 'kms-principal-several-anomalies', alsoRules: [], description: 'the platform admin deletes a key, blinds the trail, disables the monitor and swaps the bucket\'s key in one day', eventIds: adminDay.map((x) => x['eventID'] as string), timeMs: Date.parse(adminDay[0]?.['eventTime'] as string) });
    }
    // A principal of an outside account writes into the bucket under its own key: the owner's trail has only the data event.
    const uploader: Actor = { role: 'ExternalUploader', account: SIM_ACCOUNTS.outsider, sessions: [`up-${i}`], ip: `192.0.2.${60 + i}`, userAgent: 'aws-sdk-go-v2/1.30.0' };
    const foreignPut = late.s3({ name: 'PutObject', atMs: at(12) + 270_000, actor: uploader, session: `up-${i}`, bucket: SIM_BUCKETS.reports, key: `inbound/drop-${i}.csv`, bytes: 40_000, sse: 'SSE_KMS', kmsKey: lockerKey });
    add('s3-put-without-required-kms', 'a principal of an outside account writes into the bucket under its own key', [foreignPut], [], 'foreign-writer');
    // An object copied in place under a key its writer provided (SSE-C), the way ransomware takes objects hostage.
    const hostage = late.s3({ name: 'CopyObject', atMs: at(12) + 360_000, actor: intruder, session: 'x', bucket: SIM_BUCKETS.reports, key: objectKeys[i] ?? `finance/2026/x-${i}.pdf`, bytes: 0, sse: 'SSE_C' });
    const hostageRequest = hostage['requestParameters'] as Record<string, unknown>;
    hostageRequest['x-amz-copy-source'] = `${SIM_BUCKETS.reports}/${objectKeys[i] ?? `finance/2026/x-${i}.pdf`}`;
    hostageRequest['x-amz-server-side-encryption-customer-algorithm'] = 'AES256';
    add('s3-put-without-required-kms', 'an object is copied in place under a key its writer provided (SSE-C)', [hostage], [], 'sse-c');
    // The payments app's stored data keys re-encrypted under the outside account's key: the source key and the
    // destination both in `resources`, as KMS records a ReEncrypt.
    const usual = { app: 'payments', env: 'prod', tenant: 'acme' };
    const moved = later.kms({ name: 'ReEncrypt', atMs: at(12) + 450_000, actor: ACTORS.payments, key: SIM_KEYS.app, requestParameters: { destinationKeyId: lockerKey, sourceEncryptionContext: usual, destinationEncryptionContext: usual, sourceEncryptionAlgorithm: 'SYMMETRIC_DEFAULT', destinationEncryptionAlgorithm: 'SYMMETRIC_DEFAULT' } });
    (moved['resources'] as Record<string, unknown>[]).push({ accountId: SIM_ACCOUNTS.outsider, type: 'AWS::KMS::Key', ARN: lockerKey });
    add('kms-data-under-foreign-key', 'the payments app re-encrypts its data keys under a key of an outside account', [moved]);
    // A workload's credentials used away from its VPC: from an address on the internet, or through a VPC endpoint of
    // the taker's. Once a workload has left its endpoints its network is no longer judged, so each instance takes a
    // workload of its own, and there are three such workloads.
    const taken = [
      { actor: ACTORS.payments, key: SIM_KEYS.app, region: REGION, context: usual },
      { actor: ACTORS.billing, key: SIM_KEYS.app, region: REGION, context: { app: 'billing', env: 'prod', tenant: 'acme' } },
      { actor: ACTORS.euApp, key: SIM_KEYS.eu, region: EU, context: usual },
    ][i];
    if (taken !== undefined) {
      const elsewhere = i === 1 ? { sourceIp: '172.31.40.9', vpcEndpointId: `vpce-0badc0ffee00000${i}` } : { sourceIp: `198.51.100.${200 + i}` };
      const stolen = newest.kms({ name: 'Decrypt', atMs: at(12) + 540_000, actor: taken.actor, key: taken.key, region: taken.region, context: taken.context, ...elsewhere });
      add('kms-unusual-network', i === 1 ? 'the billing app\'s credentials call KMS through a VPC endpoint it never used' : 'a workload\'s credentials call KMS from the internet, away from its VPC endpoint', [stolen], [], i === 1 ? 'foreign-endpoint' : 'internet');
    }
    // An analyst has S3 decrypt an object of a bucket its role never read, encrypted under the key of the bucket it
    // does read: the key knows the caller, the bucket does not. Each instance a bucket of its own, since a bucket read
    // once is learned.
    const restricted = `${['sim-hr', 'sim-legal', 'sim-payroll'][i % 3] ?? 'sim-hr'}${i >= 3 ? `-${i}` : ''}`;
    const peekedKey = `records/2026/file-${String(i).padStart(3, '0')}.pdf`;
    const peekAt = at(12) + 630_000;
    const peek = [
      newer.kms({ name: 'Decrypt', atMs: peekAt, actor: ACTORS.analyst, session: 'erin@example.com', key: SIM_KEYS.reports, s3Made: true, context: { 'aws:s3:arn': `arn:aws:s3:::${restricted}/${peekedKey}` } }),
      newer.s3({ name: 'GetObject', atMs: peekAt + 300, actor: ACTORS.analyst, session: 'erin@example.com', bucket: restricted, key: peekedKey, bytes: 300_000 }),
    ];
    add('kms-s3-unusual-bucket', 'an analyst has S3 decrypt an object of a bucket its role never read, under the key of the bucket it reads', peek);
    // A workload's credentials used with the AWS CLI from another host of its VPC, through its own VPC endpoint: its
    // network is the usual one, its client is not. Once a workload's role has used the CLI it is no longer judged, so
    // each instance takes a workload of its own.
    const handledBy = [
      { actor: ACTORS.payments, name: 'Decrypt', key: SIM_KEYS.app, context: usual },
      { actor: ACTORS.billing, name: 'Decrypt', key: SIM_KEYS.app, context: { app: 'billing', env: 'prod', tenant: 'acme' } },
      { actor: ACTORS.tokenService, name: 'GenerateMac', key: SIM_KEYS.tokens, requestParameters: MAC_REQUEST },
    ][i];
    if (handledBy !== undefined) {
      const { actor, name, key, context, requestParameters } = handledBy;
      const cli = { ...actor, userAgent: 'aws-cli/2.17.0 Python/3.11.8 Linux/6.1.0 exe/x86_64.amzn.2023 prompt/off command/kms.decrypt' };
      const call = handled.kms({ name, atMs: at(12) + 900_000, actor: cli, key, sourceIp: '10.20.31.77', vpcEndpointId: actor.kmsEndpoint, ...(context !== undefined ? { context } : { keyIdParam: key.alias, requestParameters }) });
      add('kms-unusual-client', 'a workload\'s credentials call KMS with the AWS CLI from another host of its VPC, through its own endpoint', [call]);
    }
    // The ETL job's credentials read a report through S3 with the AWS CLI, from another host of its VPC through its
    // S3 endpoint: the client of the S3 request behind the Decrypt S3 makes. Once its role has used the CLI it is no
    // longer judged: one instance.
    if (i === 0) {
      const cli = { ...ACTORS.etl, ip: '10.20.30.77', userAgent: 'aws-cli/2.17.0 Python/3.11.8 Linux/6.1.0 exe/x86_64.amzn.2023 prompt/off command/s3.cp' };
      const reportKey = objectKeys[7] ?? 'finance/2026/report-00007.pdf';
      const readAt = at(12) + 960_000;
      const read = [
        handled.kms({ name: 'Decrypt', atMs: readAt, actor: cli, session: 'etl-run', key: SIM_KEYS.reports, s3Made: true, context: { 'aws:s3:arn': `arn:aws:s3:::${SIM_BUCKETS.reports}/${reportKey}` } }),
        handled.s3({ name: 'GetObject', atMs: readAt + 250, actor: cli, session: 'etl-run', bucket: SIM_BUCKETS.reports, key: reportKey, bytes: 250_000 }),
      ];
      add('kms-unusual-client', 'the ETL job\'s credentials read a report through S3 with the AWS CLI, from another host of its VPC', read, [], 's3');
      // Then with its own SDK from the internet, away from the S3 endpoint all its requests came through: S3's
      // Decrypt is judged by its request's network. Once its role has been seen on the internet it is no longer
      // judged: one instance.
      const away = { ...ACTORS.etl, ip: '198.51.100.32', userAgent: 'Boto3/1.34.100 md/Botocore#1.34.100 ua/2.0 os/macos#23.4.0 md/arch#arm64 lang/python#3.12.1 Botocore/1.34.100' };
      const exportKey = objectKeys[11] ?? 'finance/2026/report-00011.pdf';
      const exportAt = at(12) + 1_020_000;
      const exported = [
        routed.kms({ name: 'Decrypt', atMs: exportAt, actor: away, session: 'etl-run', key: SIM_KEYS.reports, s3Made: true, context: { 'aws:s3:arn': `arn:aws:s3:::${SIM_BUCKETS.reports}/${exportKey}` } }),
        routed.s3({ name: 'GetObject', atMs: exportAt + 300, actor: away, session: 'etl-run', bucket: SIM_BUCKETS.reports, key: exportKey, bytes: 310_000 }),
      ];
      add('kms-unusual-network', 'the ETL job\'s credentials read a report through S3 with its own SDK from the internet, away from its S3 endpoint', exported, [], 's3');
    }
    // The data account's trail logs network activity events of KMS and S3: its workloads' own calls through its
    // endpoints, which are no anomaly; a principal of an outside account decrypting through its KMS endpoint from a
    // host of its VPC; and a write the S3 endpoint's policy denies the ETL job's host (to a bucket outside the
    // perimeter, which the record does not name).
    const throughAt = at(12) + 1_080_000;
    // From the first day, so the endpoints learn the accounts they serve before the anomalies come: the data
    // account's, and the partner's, whose batch job runs in the data account's VPC (shared with it) and calls KMS
    // through its endpoint.
    const firstDayAt = SIM_START_MS + (i + 1) * 2 * 3_600_000;
    const sharedVpcPartner = { ...ACTORS.partner, ip: '10.20.35.8', kmsEndpoint: SIM_KMS_ENDPOINTS.us } as const satisfies Actor;
    out.push(perimeter.network({ source: 'kms.amazonaws.com', name: 'Decrypt', atMs: firstDayAt, actor: ACTORS.payments, endpoint: SIM_KMS_ENDPOINTS.us }));
    out.push(perimeter.network({ source: 's3.amazonaws.com', name: 'GetObject', atMs: firstDayAt + 30_000, actor: ACTORS.etl, endpoint: SIM_S3_ENDPOINT }));
    out.push(perimeter.network({ source: 'kms.amazonaws.com', name: 'Decrypt', atMs: firstDayAt + 60_000, actor: sharedVpcPartner, endpoint: SIM_KMS_ENDPOINTS.us }));
    for (const [j, actor] of [ACTORS.payments, ACTORS.billing, ACTORS.tokenService, sharedVpcPartner].entries()) {
      out.push(perimeter.network({ source: 'kms.amazonaws.com', name: j === 2 ? 'GenerateMac' : 'Decrypt', atMs: throughAt - 60_000 + j * 7_000, actor, endpoint: actor.kmsEndpoint }));
    }
    out.push(perimeter.network({ source: 's3.amazonaws.com', name: 'GetObject', atMs: throughAt - 30_000, actor: ACTORS.etl, endpoint: SIM_S3_ENDPOINT }));
    const insider: Actor = { role: 'OutsideCaller', account: `${SIM_ACCOUNTS.outsider.slice(0, 10)}${String(30 + i).slice(-2)}`, sessions: ['k'], ip: `10.20.31.${90 + i}`, userAgent: 'aws-sdk-go-v2/1.30.0' };
    add('vpce-outside-credentials', 'a principal of an outside account decrypts through the data account\'s KMS endpoint from a host of its VPC', [perimeter.network({ source: 'kms.amazonaws.com', name: 'Decrypt', atMs: throughAt, actor: insider, endpoint: SIM_KMS_ENDPOINTS.us, outside: true })]);
    add('vpce-access-denied', 'the S3 endpoint\'s policy denies the ETL job\'s host a write', [perimeter.network({ source: 's3.amazonaws.com', name: 'PutObject', atMs: throughAt + 45_000, actor: ACTORS.etl, endpoint: SIM_S3_ENDPOINT, denied: true })]);
    // Signatures and MACs: a role never seen on the release-signing key signs a digest with it, and the root user
    // makes a MAC with the session-token key, either of which others would trust.
    const forged = signing.kms({ name: 'Sign', atMs: at(12) + 720_000, actor: intruder, session: 'x', key: SIM_KEYS.signing, keyIdParam: SIM_KEYS.signing.arn, requestParameters: SIGN_REQUEST });
    add('kms-unusual-principal', 'a role never seen on the release-signing key signs a digest with it', [forged], [], 'sign');
    const rootMac = signing.kms({ name: 'GenerateMac', atMs: at(12) + 810_000, actor: ACTORS.admin, identity: ROOT_IDENTITY, sourceIp: '192.0.2.44', key: SIM_KEYS.tokens, keyIdParam: SIM_KEYS.tokens.alias, requestParameters: MAC_REQUEST });
    add('kms-root-usage', 'the root user makes an HMAC with the session-token key', [rootMac], ['kms-unusual-principal'], 'hmac');
  }
}

  return { records: out, labels };
};

/** How long after its last record a simulated file is delivered (CloudTrail delivers within about 5 minutes). */
const DELIVERY_DELAY_MS = 5 * 60_000;

/**
 * A file as a trail delivers it: named, and filed under the day, by its delivery time, which is after every record
 * it holds ("a log file delivered at a specific time can contain records written at any point before that time").
 */
const fileFor = (records: readonly Record<string, unknown>[], index: number): SimulatedFile => {
  let lastMs = SIM_START_MS;
  for (const r of records) lastMs = Math.max(lastMs, Date.parse(r['eventTime'] as string));
  const delivered = new Date(Math.ceil((lastMs + DELIVERY_DELAY_MS) / 60_000) * 60_000).toISOString();
  const [date = '2026-10-01', time = '00:00:00'] = delivered.split('T');
  const [y, m, d] = date.split('-');
  const stamp = `${date.replace(/-/g, '')}T${time.slice(0, 5).replace(':', '')}Z`;
  return {
    path: `AWSLogs/${SIM_ACCOUNTS.data}/CloudTrail/${REGION}/${y}/${m}/${d}/${SIM_ACCOUNTS.data}_CloudTrail_${REGION}_${stamp}_${String(index).padStart(6, '0')}.json.gz`,
    records,
  };
};

/**
 * The records in the order of their times, as numbers: as text a whole second ("…:48Z", its ".000" left out as
 * CloudTrail leaves it out) sorts after its own fractions ("…:48.550Z"), which put a file's last records out of order.
 */
const inTimeOrder = (records: readonly Record<string, unknown>[]): Record<string, unknown>[] =>
  records
    .map((record) => ({ record, timeMs: Date.parse(record['eventTime'] as string) }))
    .sort((a, b) => a.timeMs - b.timeMs)
    .map((x) => x.record);

/**
 * Generates the traffic hour by hour, so memory stays flat however many events are asked for: benign
 * records fill `events` (spread evenly over the hours; whole activities, so at most one record more),
 * anomalies come on top, after the learning week (with the signing traffic they need, from the first day).
 * `labels` is complete before the first file is produced.
 */
export const simulateStream = (
  options: SimulateOptions,
): {
  readonly labels: readonly AnomalyLabel[];
  readonly files: Generator<SimulatedFile>;
  /** The records `files` will hold: `events` (or one more, activities being whole) and anomalyRecords' records. */
  readonly expectedRecords: number;
} => {
  const rand = prng(options.seed);
  const b = new Builder(rand);
  const days = options.days ?? 14;
  const corpus: Corpus = {
    objectKeys: Array.from({ length: 2000 }, (_, i) => `finance/2026/report-${String(i).padStart(5, '0')}.pdf`),
    archiveKeys: Array.from({ length: 5000 }, (_, i) => `app/2026/part-${String(i).padStart(6, '0')}.json.gz`),
    tenants: ['acme', 'globex', 'initech', 'umbrella', 'hooli'],
  };
  const { records: anomalies, labels } = options.anomalies ? anomalyRecords(b, options, days, corpus) : { records: [], labels: [] };
  const perFile = options.recordsPerFile ?? 200;
  function* files(): Generator<SimulatedFile> {
    const hours = days * 24;
    const byHour = new Map<number, Record<string, unknown>[]>();
    for (const r of anomalies) {
      const h = Math.floor((Date.parse(r['eventTime'] as string) - SIM_START_MS) / HOUR);
      const hour = byHour.get(h);
      if (hour === undefined) byHour.set(h, [r]);
      else hour.push(r);
    }
    let produced = 0;
    let index = 0;
    let pending: Record<string, unknown>[] = [];
    for (let h = 0; h < hours; h++) {
      const target = Math.round(((h + 1) * options.events) / hours);
      const slice: Record<string, unknown>[] = [];
      while (produced + slice.length < target) benignActivity(b, rand, SIM_START_MS + h * HOUR + Math.floor(rand() * HOUR), corpus, slice);
      // Activities stay whole (a KMS call and its S3 request), so the total may exceed `events` by one record.
      produced += slice.length;
      slice.push(...(byHour.get(h) ?? []));
      pending.push(...inTimeOrder(slice));
      while (pending.length >= perFile) {
        yield fileFor(pending.slice(0, perFile), index++);
        pending = pending.slice(perFile);
      }
    }
    if (pending.length > 0) yield fileFor(pending, index++);
  }
  return { labels, files: files(), expectedRecords: options.events + anomalies.length };
};

/** The whole simulation in memory: for tests and small runs. */
export const simulate = (options: SimulateOptions): Simulation => {
  const { labels, files } = simulateStream(options);
  const all = [...files];
  return { files: all, labels, recordCount: all.reduce((n, f) => n + f.records.length, 0) };
};
