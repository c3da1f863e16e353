import { bool, clip, isObject, num, obj, own, parseTimeMs, str, stringMap, type JsonObject } from './fields.ts';
import { invokedByOf, normalizePrincipal } from './principal.ts';
import type { EncryptionContext, KmsCall, KmsRequestSummary, NormalizeResult, OtherApiCall, S3ObjectAccess } from './types.ts';

export const KMS_EVENT_SOURCE = 'kms.amazonaws.com';
export const S3_EVENT_SOURCE = 's3.amazonaws.com';
export const CLOUDTRAIL_EVENT_SOURCE = 'cloudtrail.amazonaws.com';
export const S3_ARN_CONTEXT_KEY = 'aws:s3:arn';

/** S3 object-level operations: data events even in records that omit `eventCategory`. */
export const S3_OBJECT_OPERATIONS: ReadonlySet<string> = new Set([
  'GetObject',
  'HeadObject',
  'PutObject',
  'CopyObject',
  'DeleteObject',
  'DeleteObjects',
  'CreateMultipartUpload',
  'UploadPart',
  'UploadPartCopy',
  'CompleteMultipartUpload',
  'AbortMultipartUpload',
  'SelectObjectContent',
  'RestoreObject',
  'GetObjectAcl',
  'PutObjectAcl',
  'GetObjectTagging',
  'PutObjectTagging',
  'GetObjectAttributes',
  'GetObjectRetention',
  'PutObjectRetention',
  'GetObjectLegalHold',
  'PutObjectLegalHold',
  'WriteGetObjectResponse',
]);

const EVENT_VERSION = /^1\.\d{1,2}$/;

/**
 * A `sourceIPAddress` or `invokedBy` value that names an AWS service rather than a network address.
 * Seen values vary (`AWS Internal`, `AWS Internal/3`, `internal.amazonaws.com`, `s3.amazonaws.com`,
 * `fas.s3.amazonaws.com`), so this matches the family, never one string.
 */
export const isAwsServiceMarker = (v: string | undefined): boolean =>
  v !== undefined && (v.startsWith('AWS Internal') || v === 'amazonaws.com' || v.endsWith('.amazonaws.com'));

const partitionOfRegion = (region: string): string =>
  region.startsWith('cn-') ? 'aws-cn' : region.startsWith('us-gov-') ? 'aws-us-gov' : 'aws';

const KEY_ARN = /^arn:[^:]+:kms:[^:]*:(\d{12}):key\/[^/\s]+$/;
const ALIAS_ARN = /^arn:[^:]+:kms:[^:]*:\d{12}:(alias\/.+)$/;
const BARE_KEY_ID = /^(?:mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

/** The ARN of one `resources` entry (CloudTrail spells it ARN; some exports, arn). */
const resourceArnOf = (r: unknown): string | undefined => (isObject(r) ? (str(own(r, 'ARN')) ?? str(own(r, 'arn'))) : undefined);

const resourceArns = (resources: unknown): string[] => {
  if (!Array.isArray(resources)) return [];
  const out: string[] = [];
  for (const r of resources) {
    const arn = resourceArnOf(r);
    if (arn !== undefined) out.push(arn);
  }
  return out;
};

interface KeyIdentity {
  keyArn?: string;
  keyAccountId?: string;
  keyAlias?: string;
}

/** Key ARN from `resources[]`, else from an ARN or bare-id `keyId`; aliases are noted, never guessed. */
export const resolveKey = (resources: unknown, keyIdParameter: string | undefined, region: string, callerAccountId: string | undefined): KeyIdentity => {
  const out: KeyIdentity = {};
  for (const arn of resourceArns(resources)) {
    const m = KEY_ARN.exec(arn);
    if (m) {
      out.keyArn = arn;
      out.keyAccountId = m[1] as string;
      break;
    }
  }
  if (keyIdParameter !== undefined) {
    const aliasArn = ALIAS_ARN.exec(keyIdParameter);
    if (aliasArn) out.keyAlias = aliasArn[1] as string;
    else if (keyIdParameter.startsWith('alias/')) out.keyAlias = keyIdParameter;
    else if (out.keyArn === undefined) {
      const m = KEY_ARN.exec(keyIdParameter);
      if (m) {
        out.keyArn = keyIdParameter;
        out.keyAccountId = m[1] as string;
      } else if (BARE_KEY_ID.test(keyIdParameter) && callerAccountId !== undefined && /^\d{12}$/.test(callerAccountId)) {
        // A bare key id can only name a key in the caller's own account and region.
        out.keyArn = `arn:${partitionOfRegion(region)}:kms:${region}:${callerAccountId}:key/${keyIdParameter}`;
        out.keyAccountId = callerAccountId;
      }
    }
  }
  return out;
};

const kmsRequestSummary = (rp: JsonObject | undefined): KmsRequestSummary => {
  if (!rp) return {};
  const out: Record<string, unknown> = {};
  const keySpec = str(rp['keySpec']) ?? str(rp['numberOfBytes'] !== undefined ? 'BYTES' : undefined);
  if (keySpec !== undefined) out['keySpec'] = keySpec;
  const alg = str(rp['encryptionAlgorithm']);
  if (alg !== undefined) out['encryptionAlgorithm'] = alg;
  const window = num(rp['pendingWindowInDays']);
  if (window !== undefined) out['pendingWindowInDays'] = window;
  // Key policies may be 32 KB: keep them whole (up to that) or the policy check would read a cut document.
  const policy = rp['policy'];
  if (typeof policy === 'string' && policy.length > 0) out['policy'] = clip(policy, 32 * 1024);
  const aliasName = str(rp['aliasName']);
  if (aliasName !== undefined) out['aliasName'] = aliasName;
  const targetKeyId = str(rp['targetKeyId']);
  if (targetKeyId !== undefined) out['targetKeyId'] = targetKeyId;
  const grantee = str(rp['granteePrincipal']);
  if (grantee !== undefined) out['grantee'] = grantee;
  return out as KmsRequestSummary;
};

const contextOf = (rp: JsonObject | undefined): EncryptionContext | undefined => {
  if (!rp) return undefined;
  return stringMap(rp['encryptionContext']) ?? stringMap(rp['sourceEncryptionContext']) ?? stringMap(rp['destinationEncryptionContext']);
};

const failed = (reason: string): NormalizeResult => ({ ok: false, outcome: 'failed', reason });

/** Sets `key` only when there is a value: optional fields are absent, never undefined (no copy to compact). */
const put = (event: Record<string, unknown>, key: string, value: unknown): void => {
  if (value !== undefined) event[key] = value;
};

/**
 * Normalizes one raw CloudTrail record. Never throws: anything unusable comes back as
 * `skipped` (with a reason) or `failed` (with a one-line reason). Errored calls are kept: they are signals.
 *
 * On the hot path of every replay: each event is built once, field by field, in a fixed order (the shared
 * fields first, then the kind's own), with no intermediate objects.
 */
export const normalizeRecord = (raw: unknown): NormalizeResult => {
  if (!isObject(raw)) return failed(`record is ${raw === null ? 'null' : Array.isArray(raw) ? 'an array' : typeof raw}, not a JSON object`);
  if (raw['eventType'] === 'AwsCloudTrailInsight' || raw['insightDetails'] !== undefined) {
    return { ok: false, outcome: 'skipped', reason: 'insight-event' };
  }
  const eventVersion = raw['eventVersion'];
  if (eventVersion !== undefined && (typeof eventVersion !== 'string' || !EVENT_VERSION.test(eventVersion))) {
    return failed(`unsupported eventVersion ${JSON.stringify(eventVersion).slice(0, 40)}`);
  }
  const eventSource = str(raw['eventSource']);
  if (eventSource === undefined) return failed('missing field eventSource');
  const eventName = str(raw['eventName']);
  if (eventName === undefined) return failed('missing field eventName');
  // Logstash-shipped archives replace eventTime with @timestamp.
  const eventTimeMs = parseTimeMs(raw['eventTime']) ?? parseTimeMs(raw['@timestamp']);
  if (eventTimeMs === undefined) {
    return failed(raw['eventTime'] === undefined ? 'missing field eventTime' : `invalid eventTime ${JSON.stringify(raw['eventTime']).slice(0, 40)}`);
  }
  const eventId = str(raw['eventID']);
  const region = str(raw['awsRegion']) ?? 'unknown';
  const userIdentity = obj(raw['userIdentity']);
  const principal = normalizePrincipal(userIdentity);
  const sourceIp = str(raw['sourceIPAddress']);
  const recipientAccountId = str(raw['recipientAccountId']);
  const userAgent = str(raw['userAgent']);

  // The fields every event shares, in EventBase order.
  const event: Record<string, unknown> = { eventId: eventId ?? '' };
  put(event, 'sharedEventId', str(raw['sharedEventID']));
  event['eventTimeMs'] = eventTimeMs;
  event['eventName'] = eventName;
  event['region'] = region;
  event['principal'] = principal;
  put(event, 'recipientAccountId', recipientAccountId);
  put(event, 'sourceIp', sourceIp);
  put(event, 'userAgent', userAgent);
  put(event, 'vpcEndpointId', str(raw['vpcEndpointId']));
  put(event, 'errorCode', str(raw['errorCode']));
  put(event, 'errorMessage', str(raw['errorMessage']));
  put(event, 'readOnly', bool(raw['readOnly']));

  if (eventSource === KMS_EVENT_SOURCE) {
    if (eventId === undefined) return failed('missing field eventID');
    const rp = obj(raw['requestParameters']);
    const keyIdParameter = str(rp?.['keyId']) ?? str(rp?.['sourceKeyId']);
    const key = resolveKey(raw['resources'], keyIdParameter, region, principal.accountId ?? recipientAccountId);
    const encryptionContext = contextOf(rp);
    const s3Arn = encryptionContext?.[S3_ARN_CONTEXT_KEY];
    // A service DNS name as user agent counts only when no network address contradicts it (partial exports).
    const invokedBy =
      invokedByOf(userIdentity) ??
      (isAwsServiceMarker(sourceIp) ? sourceIp : sourceIp === undefined && userAgent?.endsWith('.amazonaws.com') === true ? userAgent : undefined);
    const madeByAwsService = invokedBy !== undefined || principal.type === 'AWSService';
    event['kind'] = 'kms';
    put(event, 'keyArn', key.keyArn);
    put(event, 'keyAccountId', key.keyAccountId);
    put(event, 'keyAlias', key.keyAlias);
    put(event, 'keyIdParameter', keyIdParameter);
    put(event, 'encryptionContext', encryptionContext);
    put(event, 's3Arn', s3Arn);
    put(event, 'invokedBy', invokedBy);
    event['madeByAwsService'] = madeByAwsService;
    event['madeByS3'] = s3Arn !== undefined && madeByAwsService;
    event['request'] = kmsRequestSummary(rp);
    return { ok: true, event: event as unknown as KmsCall };
  }

  if (eventSource === S3_EVENT_SOURCE) {
    const isDataEvent = raw['eventCategory'] === 'Data' || raw['managementEvent'] === false;
    if (isDataEvent || S3_OBJECT_OPERATIONS.has(eventName)) {
      if (addS3Fields(event, raw, isDataEvent)) {
        if (eventId === undefined) return failed('missing field eventID');
        return { ok: true, event: event as unknown as S3ObjectAccess };
      }
    }
  }

  event['kind'] = 'other';
  event['eventSource'] = eventSource;
  if (eventSource === CLOUDTRAIL_EVENT_SOURCE) put(event, 'requestParameters', obj(raw['requestParameters']));
  return { ok: true, event: event as unknown as OtherApiCall };
};

const S3_ARN_PREFIX = 'arn:aws';
const S3_ARN_MARKER = ':s3:::';

/** Adds the S3 object-access fields to `event`; false (nothing added) when the record names no bucket. */
const addS3Fields = (event: Record<string, unknown>, raw: JsonObject, isDataEvent: boolean): boolean => {
  const rp = obj(raw['requestParameters']);
  let bucket = str(rp?.['bucketName']);
  let objectArn: string | undefined;
  const resources = raw['resources'];
  if (Array.isArray(resources)) {
    for (const r of resources) {
      const arn = resourceArnOf(r);
      if (arn === undefined || !arn.startsWith(S3_ARN_PREFIX)) continue;
      const at = arn.indexOf(S3_ARN_MARKER);
      if (at === -1) continue;
      const path = arn.slice(at + S3_ARN_MARKER.length);
      const slash = path.indexOf('/');
      if (slash > 0) {
        objectArn ??= arn;
        bucket ??= path.slice(0, slash);
      } else if (path.length > 0) bucket ??= path;
    }
  }
  if (bucket === undefined) return false;
  const objectKey = str(rp?.['key']);
  if (objectArn === undefined && objectKey !== undefined) objectArn = `arn:aws:s3:::${bucket}/${objectKey}`;
  const aed = obj(raw['additionalEventData']);
  const sseHeader = str(rp?.['x-amz-server-side-encryption']);
  event['kind'] = 's3';
  event['bucket'] = bucket;
  put(event, 'objectKey', objectKey);
  put(event, 'objectArn', objectArn);
  event['bucketArn'] = `arn:aws:s3:::${bucket}`;
  put(event, 'bytesIn', num(aed?.['bytesTransferredIn']));
  put(event, 'bytesOut', num(aed?.['bytesTransferredOut']));
  put(event, 'sseApplied', str(aed?.['SSEApplied']) ?? (sseHeader === 'aws:kms' ? 'SSE_KMS' : sseHeader === 'aws:kms:dsse' ? 'DSSE_KMS' : sseHeader === 'AES256' ? 'SSE_S3' : undefined));
  put(event, 'requestedKmsKeyId', str(rp?.['x-amz-server-side-encryption-aws-kms-key-id']) ?? str(rp?.['SSEKMSKeyId']));
  put(event, 'copySource', str(rp?.['x-amz-copy-source']));
  event['isDataEvent'] = isDataEvent;
  return true;
};

/** Key used to drop duplicate deliveries: `sharedEventID` spans the copies of a cross-account call. */
export const dedupeKeyOf = (e: { readonly eventId: string; readonly sharedEventId?: string }): string | undefined =>
  e.sharedEventId !== undefined ? `s:${e.sharedEventId}` : e.eventId !== '' ? `e:${e.eventId}` : undefined;
