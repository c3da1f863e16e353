/**
 * Builders for CloudTrail records in the documented shapes (../shared/docs/event-shapes.md): a base record
 * plus the few fields a case is about. Pure, with no test-framework import, so rule files use them for cases.
 */
import { normalizeRecord } from '../events/normalize.ts';
import type { KmsCall, MonitorEvent, OtherApiCall, S3ObjectAccess, VpcEndpointCall } from '../events/types.ts';

export const ACCOUNT = '111122223333';
export const OTHER_ACCOUNT = '444455556666';
export const REGION = 'us-east-1';
export const KEY_ARN = `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
export const BASE_TIME_MS = Date.UTC(2026, 9, 1, 9, 0, 0);

export type Identity =
  | { readonly role: string; readonly session?: string; readonly account?: string }
  | { readonly user: string; readonly account?: string }
  | { readonly root: true; readonly account?: string }
  | { readonly service: string };

export const identity = (who: Identity, invokedBy?: string): Record<string, unknown> => {
  const extra = invokedBy !== undefined ? { invokedBy } : {};
  if ('service' in who) return { type: 'AWSService', invokedBy: who.service };
  const account = who.account ?? ACCOUNT;
  if ('root' in who) return { type: 'Root', principalId: account, arn: `arn:aws:iam::${account}:root`, accountId: account, accessKeyId: 'ASIAEXAMPLEROOT00001', ...extra };
  if ('user' in who) return { type: 'IAMUser', principalId: 'AIDAEXAMPLE', arn: `arn:aws:iam::${account}:user/${who.user}`, accountId: account, userName: who.user, accessKeyId: 'AKIAEXAMPLE', ...extra };
  const session = who.session ?? 'session-1';
  return {
    type: 'AssumedRole',
    principalId: `AROAEXAMPLE:${session}`,
    arn: `arn:aws:sts::${account}:assumed-role/${who.role}/${session}`,
    accountId: account,
    accessKeyId: 'ASIAEXAMPLE',
    sessionContext: { sessionIssuer: { type: 'Role', principalId: 'AROAEXAMPLE', arn: `arn:aws:iam::${account}:role/${who.role}`, accountId: account, userName: who.role } },
    ...extra,
  };
};

let counter = 0;
/** Deterministic unique event ids for builders (tests may pass their own). */
export const nextEventId = (): string => `00000000-0000-4000-8000-${(++counter).toString(16).padStart(12, '0')}`;

export interface KmsRecordOptions {
  readonly eventName?: string;
  readonly atMs?: number;
  readonly who?: Identity;
  readonly keyArn?: string | null;
  readonly keyId?: string;
  readonly region?: string;
  readonly context?: Readonly<Record<string, string>> | null;
  /** Made by S3 for an SSE-KMS object: `aws:s3:arn` context plus the AWS-service markers. */
  readonly s3Arn?: string;
  readonly viaService?: string;
  readonly sourceIp?: string;
  readonly userAgent?: string;
  readonly errorCode?: string;
  readonly eventId?: string;
  readonly sharedEventId?: string;
  readonly recipientAccountId?: string;
  readonly requestParameters?: Readonly<Record<string, unknown>>;
  readonly vpcEndpointId?: string;
}

/**
 * The request parameters CloudTrail logs for the operations that use a key but take no encryption context (as in
 * the AWS documentation's examples of Sign and GenerateMac); the data operations log their `encryptionAlgorithm`.
 */
const REQUEST_DEFAULTS: ReadonlyMap<string, Readonly<Record<string, unknown>>> = new Map([
  ['Sign', { messageType: 'RAW', signingAlgorithm: 'ECDSA_SHA_256' }],
  ['Verify', { messageType: 'RAW', signingAlgorithm: 'ECDSA_SHA_256' }],
  ['GenerateMac', { macAlgorithm: 'HMAC_SHA_256' }],
  ['VerifyMac', { macAlgorithm: 'HMAC_SHA_256' }],
  ['DeriveSharedSecret', { keyAgreementAlgorithm: 'ECDH' }],
]);

export const kmsRecord = (o: KmsRecordOptions = {}): Record<string, unknown> => {
  const keyArn = o.keyArn === null ? undefined : (o.keyArn ?? KEY_ARN);
  const service = o.viaService ?? (o.s3Arn !== undefined ? 'AWS Internal' : undefined);
  const defaults = REQUEST_DEFAULTS.get(o.eventName ?? 'Decrypt');
  const context = o.context === null || (defaults !== undefined && o.context === undefined) ? undefined : { ...(o.context ?? {}), ...(o.s3Arn !== undefined ? { 'aws:s3:arn': o.s3Arn } : {}) };
  const requestParameters: Record<string, unknown> = { ...(defaults ?? { encryptionAlgorithm: 'SYMMETRIC_DEFAULT' }), ...(o.requestParameters ?? {}) };
  if (context !== undefined && Object.keys(context).length > 0) requestParameters['encryptionContext'] = context;
  if (o.keyId !== undefined) requestParameters['keyId'] = o.keyId;
  const record: Record<string, unknown> = {
    eventVersion: '1.11',
    userIdentity: identity(o.who ?? { role: 'AppRole' }, service),
    eventTime: new Date(o.atMs ?? BASE_TIME_MS).toISOString(),
    eventSource: 'kms.amazonaws.com',
    eventName: o.eventName ?? 'Decrypt',
    awsRegion: o.region ?? REGION,
    sourceIPAddress: o.sourceIp ?? service ?? '203.0.113.10',
    userAgent: o.userAgent ?? service ?? 'aws-sdk-js/3.600.0',
    requestParameters,
    responseElements: null,
    requestID: nextEventId(),
    eventID: o.eventId ?? nextEventId(),
    readOnly: true,
    resources: keyArn !== undefined ? [{ accountId: keyArn.split(':')[4], type: 'AWS::KMS::Key', ARN: keyArn }] : [],
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: o.recipientAccountId ?? ACCOUNT,
    eventCategory: 'Management',
  };
  if (o.errorCode !== undefined) {
    record['errorCode'] = o.errorCode;
    record['errorMessage'] = `${o.errorCode} (test)`;
  }
  if (o.sharedEventId !== undefined) record['sharedEventID'] = o.sharedEventId;
  if (o.vpcEndpointId !== undefined) record['vpcEndpointId'] = o.vpcEndpointId;
  return record;
};

export interface S3RecordOptions {
  readonly eventName?: string;
  readonly atMs?: number;
  readonly who?: Identity;
  readonly bucket?: string;
  readonly key?: string;
  readonly sourceIp?: string;
  readonly sseApplied?: string;
  readonly kmsKeyId?: string;
  /** The key S3's response says it encrypted under (`responseElements`). */
  readonly appliedKmsKeyId?: string;
  readonly bytesOut?: number;
  readonly eventId?: string;
  readonly vpcEndpointId?: string;
  readonly copySource?: string;
  readonly userAgent?: string;
  /** Signed in its query string (a presigned URL's request): `AuthenticationMethod` QueryString, not AuthHeader. */
  readonly presigned?: boolean;
}

export const s3Record = (o: S3RecordOptions = {}): Record<string, unknown> => {
  const bucket = o.bucket ?? 'example-bucket';
  const key = o.key ?? 'reports/q3.pdf';
  const rp: Record<string, unknown> = { bucketName: bucket, Host: `${bucket}.s3.${REGION}.amazonaws.com`, key };
  if (o.kmsKeyId !== undefined) {
    rp['x-amz-server-side-encryption'] = 'aws:kms';
    rp['x-amz-server-side-encryption-aws-kms-key-id'] = o.kmsKeyId;
  }
  if (o.copySource !== undefined) rp['x-amz-copy-source'] = o.copySource;
  const aed: Record<string, unknown> = { SignatureVersion: 'SigV4', bytesTransferredIn: 0, bytesTransferredOut: o.bytesOut ?? 1024, AuthenticationMethod: o.presigned === true ? 'QueryString' : 'AuthHeader' };
  if (o.sseApplied !== undefined) aed['SSEApplied'] = o.sseApplied;
  const record: Record<string, unknown> = {
    eventVersion: '1.10',
    userIdentity: identity(o.who ?? { role: 'AppRole' }),
    eventTime: new Date(o.atMs ?? BASE_TIME_MS).toISOString(),
    eventSource: 's3.amazonaws.com',
    eventName: o.eventName ?? 'GetObject',
    awsRegion: REGION,
    sourceIPAddress: o.sourceIp ?? '203.0.113.10',
    userAgent: o.userAgent ?? '[aws-cli/2.17.0]',
    requestParameters: rp,
    responseElements: o.appliedKmsKeyId !== undefined ? { 'x-amz-server-side-encryption': 'aws:kms', 'x-amz-server-side-encryption-aws-kms-key-id': o.appliedKmsKeyId } : null,
    additionalEventData: aed,
    requestID: 'EXAMPLE1234567890',
    eventID: o.eventId ?? nextEventId(),
    readOnly: (o.eventName ?? 'GetObject').startsWith('Get'),
    resources: [
      { type: 'AWS::S3::Object', ARN: `arn:aws:s3:::${bucket}/${key}` },
      { accountId: ACCOUNT, type: 'AWS::S3::Bucket', ARN: `arn:aws:s3:::${bucket}` },
    ],
    eventType: 'AwsApiCall',
    managementEvent: false,
    recipientAccountId: ACCOUNT,
    eventCategory: 'Data',
  };
  if (o.vpcEndpointId !== undefined) record['vpcEndpointId'] = o.vpcEndpointId;
  return record;
};

export const otherRecord = (eventSource: string, eventName: string, o: { readonly atMs?: number; readonly who?: Identity; readonly requestParameters?: Record<string, unknown>; readonly errorCode?: string } = {}): Record<string, unknown> => ({
  eventVersion: '1.11',
  userIdentity: identity(o.who ?? { role: 'AdminRole' }),
  eventTime: new Date(o.atMs ?? BASE_TIME_MS).toISOString(),
  eventSource,
  eventName,
  awsRegion: REGION,
  sourceIPAddress: '203.0.113.20',
  userAgent: 'aws-cli/2.17.0',
  requestParameters: o.requestParameters ?? null,
  responseElements: null,
  eventID: nextEventId(),
  readOnly: false,
  eventType: 'AwsApiCall',
  managementEvent: true,
  recipientAccountId: ACCOUNT,
  eventCategory: 'Management',
  ...(o.errorCode !== undefined ? { errorCode: o.errorCode } : {}),
});

export interface NetworkRecordOptions {
  readonly eventSource?: 'kms.amazonaws.com' | 's3.amazonaws.com';
  readonly eventName?: string;
  readonly atMs?: number;
  /** Who called. A caller of another account is named by its account and access key alone, as AWS's example shows. */
  readonly who?: Identity | { readonly outsideAccount: string };
  readonly vpcEndpointId?: string;
  /** The endpoint's owner: the account whose trail records the event. */
  readonly endpointAccount?: string;
  /** The endpoint's policy denied the call (errorCode VpceAccessDenied). */
  readonly denied?: boolean;
  readonly sourceIp?: string;
  readonly eventId?: string;
}

/**
 * A network activity event as AWS's examples show them (CloudTrail User Guide, "Network activity events"): the
 * endpoint owner's record of a call through its endpoint, with no request parameters and no resources.
 */
export const networkRecord = (o: NetworkRecordOptions = {}): Record<string, unknown> => {
  const endpointAccount = o.endpointAccount ?? ACCOUNT;
  const who = o.who ?? { role: 'AppRole' };
  const record: Record<string, unknown> = {
    eventVersion: '1.09',
    userIdentity: 'outsideAccount' in who ? { type: 'AWSAccount', principalId: 'AKIAIOSFODNN7EXAMPLE', accountId: who.outsideAccount } : identity(who),
    eventTime: new Date(o.atMs ?? BASE_TIME_MS).toISOString(),
    eventSource: o.eventSource ?? 'kms.amazonaws.com',
    eventName: o.eventName ?? 'Decrypt',
    awsRegion: REGION,
    sourceIPAddress: o.sourceIp ?? '10.0.12.34',
    requestID: nextEventId(),
    eventID: o.eventId ?? nextEventId(),
    eventType: 'AwsVpceEvent',
    recipientAccountId: endpointAccount,
    sharedEventID: nextEventId(),
    vpcEndpointId: o.vpcEndpointId ?? 'vpce-0a1b2c3d4e5f60718',
    vpcEndpointAccountId: endpointAccount,
    eventCategory: 'NetworkActivity',
  };
  if (o.denied === true) {
    record['errorCode'] = 'VpceAccessDenied';
    record['errorMessage'] = 'The request was denied due to a VPC endpoint policy';
  }
  return record;
};

const normalized = (raw: unknown): MonitorEvent => {
  const r = normalizeRecord(raw);
  if (!r.ok) throw new Error(`builder produced an unusable record: ${r.outcome === 'failed' ? r.reason : r.reason}`);
  return r.event;
};

export const kmsEvent = (o: KmsRecordOptions = {}): KmsCall => normalized(kmsRecord(o)) as KmsCall;
export const s3Event = (o: S3RecordOptions = {}): S3ObjectAccess => normalized(s3Record(o)) as S3ObjectAccess;
export const otherEvent = (...args: Parameters<typeof otherRecord>): OtherApiCall => normalized(otherRecord(...args)) as OtherApiCall;
export const networkEvent = (o: NetworkRecordOptions = {}): VpcEndpointCall => normalized(networkRecord(o)) as VpcEndpointCall;

export const minutes = (n: number): number => n * 60_000;
export const hours = (n: number): number => n * 3_600_000;
export const days = (n: number): number => n * 86_400_000;
