import { bool, clip, isObject, num, obj, own, parseTimeMs, str, stringMap, type JsonObject } from './fields.ts';
import { invokedByOf, normalizePrincipal } from './principal.ts';
import { s3ServiceOfArn } from './s3-arn.ts';
import type { EncryptionContext, KmsCall, KmsRequestSummary, NormalizeResult, OtherApiCall, S3ObjectAccess, VpcEndpointCall } from './types.ts';

export const KMS_EVENT_SOURCE = 'kms.amazonaws.com';
export const S3_EVENT_SOURCE = 's3.amazonaws.com';
export const CLOUDTRAIL_EVENT_SOURCE = 'cloudtrail.amazonaws.com';
export const EVENTBRIDGE_EVENT_SOURCE = 'events.amazonaws.com';
/**
 * The sources of other calls that rules may select (define-rule's SelectedEventSource is made of these and KMS and
 * S3): their request parameters are kept for the rules to read, so a source a rule can select always has them.
 */
export const OTHER_SELECTABLE_SOURCES = [CLOUDTRAIL_EVENT_SOURCE, EVENTBRIDGE_EVENT_SOURCE] as const;
const KEEPS_REQUEST_PARAMETERS: ReadonlySet<string> = new Set(OTHER_SELECTABLE_SOURCES);
/** The services whose network activity events are kept (as VpcEndpointCall): the two the monitor watches. */
export const NETWORK_ACTIVITY_SOURCES: ReadonlySet<string> = new Set([KMS_EVENT_SOURCE, S3_EVENT_SOURCE]);
/** The error code of a call through a VPC endpoint that the endpoint's policy denied. */
export const VPCE_ACCESS_DENIED = 'VpceAccessDenied';
/**
 * S3's bucket-level calls whose request parameters are kept (S3's other calls are many and their parameters are
 * not read): those that set or remove a bucket's default encryption, which decides the key of every write that
 * names none.
 */
export const S3_CALLS_KEEPING_REQUEST_PARAMETERS: ReadonlySet<string> = new Set(['PutBucketEncryption', 'DeleteBucketEncryption']);
export const S3_ARN_CONTEXT_KEY = 'aws:s3:arn';
/** What S3 puts in the context of a directory bucket's (S3 Express One Zone's) KMS calls: the bucket's ARN. */
export const S3_EXPRESS_ARN_CONTEXT_KEY = 'aws:s3express:arn';
/** What S3 Vectors puts in the context of a vector bucket's KMS calls: the bucket's or an index's ARN. */
export const S3_VECTORS_ARN_CONTEXT_KEY = 'aws:s3vectors:arn';

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

export const partitionOfRegion = (region: string): string =>
  region.startsWith('cn-') ? 'aws-cn' : region.startsWith('us-gov-') ? 'aws-us-gov' : 'aws';

const KEY_ARN = /^arn:[^:]+:kms:[^:]*:(\d{12}):key\/[^/\s]+$/;
const ALIAS_ARN = /^arn:[^:]+:kms:[^:]*:\d{12}:(alias\/.+)$/;
/** A key's or an alias's ARN: its account, `key` or `alias`, and the key id or alias name. */
export const KMS_KEY_OR_ALIAS_ARN = /^arn:[^:]+:kms:[^:]*:(\d{12}):(key|alias)\/(.+)$/;
/** A key id without its ARN: a key's UUID, or a multi-Region key's `mrk-` id. */
export const BARE_KEY_ID = /^(?:mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

/**
 * The account of the key a caller names (a key or alias ARN, a key id, an alias name): an ARN's own; else the
 * caller's, in whose account KMS resolves a key id or an alias name. Undefined for an ARN of anything else.
 */
export const accountOfNamedKey = (named: string, callerAccount: string | undefined): string | undefined => {
  const arn = KMS_KEY_OR_ALIAS_ARN.exec(named);
  return arn !== null ? arn[1] : named.startsWith('arn:') ? undefined : callerAccount;
};

/**
 * The ARN a key id or an alias name stands for in an account and region: KMS resolves either in the caller's own
 * account and region.
 */
export const kmsArnInAccount = (named: string, account: string, region: string): string =>
  `arn:${partitionOfRegion(region)}:kms:${region}:${account}:${named.startsWith('alias/') ? named : `key/${named}`}`;

/**
 * The ARN a bare key id names: a key of the caller's own account and region, the only one a key id can name.
 * Undefined unless `named` is a key id (`BARE_KEY_ID`) and `account` an account id.
 */
export const keyIdArnInAccount = (named: string, account: string | undefined, region: string): string | undefined =>
  BARE_KEY_ID.test(named) && account !== undefined && /^\d{12}$/.test(account) ? kmsArnInAccount(named, account, region) : undefined;

/** The ARN of one `resources` entry (CloudTrail spells it ARN; some exports, arn). */
const resourceArnOf = (r: unknown): string | undefined => (isObject(r) ? (str(own(r, 'ARN')) ?? str(own(r, 'arn'))) : undefined);

/**
 * The account of a key ARN (`KEY_ARN`), else undefined. Tested, then cut after the ARN's fourth colon, rather than
 * through `exec`'s match: every KMS record has a key ARN or two.
 */
const keyArnAccount = (arn: string): string | undefined => {
  if (!KEY_ARN.test(arn)) return undefined;
  let at = 0;
  for (let colon = 0; colon < 4; colon++) at = arn.indexOf(':', at) + 1;
  return arn.slice(at, at + 12);
};

interface KeyIdentity {
  keyArn?: string;
  keyAccountId?: string;
  keyAlias?: string;
}

/** Key ARN from `resources[]`, else from an ARN or bare-id `keyId`; aliases are noted, never guessed. */
export const resolveKey = (resources: unknown, keyIdParameter: string | undefined, region: string, callerAccountId: string | undefined): KeyIdentity => {
  const out: KeyIdentity = {};
  if (Array.isArray(resources)) {
    for (const r of resources) {
      const arn = resourceArnOf(r);
      if (arn === undefined) continue;
      const account = keyArnAccount(arn);
      if (account !== undefined) {
        out.keyArn = arn;
        out.keyAccountId = account;
        break;
      }
    }
  }
  if (keyIdParameter !== undefined) {
    const aliasArn = ALIAS_ARN.exec(keyIdParameter);
    if (aliasArn) out.keyAlias = aliasArn[1] as string;
    else if (keyIdParameter.startsWith('alias/')) out.keyAlias = keyIdParameter;
    else if (out.keyArn === undefined) {
      const account = keyArnAccount(keyIdParameter);
      if (account !== undefined) {
        out.keyArn = keyIdParameter;
        out.keyAccountId = account;
      } else {
        const inCallerAccount = keyIdArnInAccount(keyIdParameter, callerAccountId, region);
        if (inCallerAccount !== undefined && callerAccountId !== undefined) {
          out.keyArn = inCallerAccount;
          out.keyAccountId = callerAccountId;
        }
      }
    }
  }
  return out;
};

const MAX_GRANT_OPERATIONS = 32;

/**
 * A ReEncrypt's destination key ARN from its `resources`, which name the source key and then the destination (the
 * same key twice when it re-encrypts under its own key); undefined when they name one key or none.
 */
const destinationKeyArnOf = (resources: unknown): string | undefined => {
  if (!Array.isArray(resources)) return undefined;
  let keys = 0;
  for (const r of resources) {
    const arn = resourceArnOf(r);
    if (arn !== undefined && keyArnAccount(arn) !== undefined && ++keys === 2) return arn;
  }
  return undefined;
};

const kmsRequestSummary = (rp: JsonObject | undefined, resources: unknown): KmsRequestSummary => {
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
  const destinationKeyId = str(rp['destinationKeyId']);
  if (destinationKeyId !== undefined) {
    out['destinationKeyId'] = destinationKeyId;
    const destinationKeyArn = destinationKeyArnOf(resources);
    if (destinationKeyArn !== undefined) out['destinationKeyArn'] = destinationKeyArn;
  }
  if (rp['bypassPolicyLockoutSafetyCheck'] === true) out['bypassPolicyLockoutSafetyCheck'] = true;
  // KMS's grant operations are under twenty (Decrypt, GenerateDataKey, CreateGrant, ...); a list beyond 32 is not
  // KMS's, and is cut there.
  const operations = rp['operations'];
  if (Array.isArray(operations)) {
    const named = operations.filter((o): o is string => typeof o === 'string').slice(0, MAX_GRANT_OPERATIONS).map((o) => clip(o, 64));
    if (named.length > 0) out['grantOperations'] = named;
  }
  return out as KmsRequestSummary;
};

const contextOf = (rp: JsonObject | undefined): EncryptionContext | undefined => {
  if (!rp) return undefined;
  return stringMap(rp['encryptionContext']) ?? stringMap(rp['sourceEncryptionContext']) ?? stringMap(rp['destinationEncryptionContext']);
};

const failed = (reason: string): NormalizeResult => ({ ok: false, outcome: 'failed', reason });

/** A directory bucket's ARN as S3's documentation shows it logged, inside an S3 ARN's prefix. */
const PREFIXED_DIRECTORY_BUCKET_ARN = /^arn:[^:]+:s3:::(?=arn:[^:]+:s3express:)/;

/**
 * The object or bucket an S3-made KMS call names in its context. `aws:s3:arn` for a general purpose bucket (the
 * object's ARN, or the bucket's with S3 Bucket Keys) and for a table (its ARN); `aws:s3express:arn` for a directory
 * bucket, whose calls always name the bucket (its Bucket Keys cannot be turned off); `aws:s3vectors:arn` for a vector
 * bucket (the bucket's or an index's ARN). S3's documentation shows the directory bucket's value inside an S3 ARN's
 * prefix (`arn:aws:s3:::arn:aws:s3express:…`) where its text says it is the bucket's ARN: the prefix is dropped.
 */
const s3ArnOf = (context: EncryptionContext | undefined): string | undefined => {
  if (context === undefined) return undefined;
  const s3Arn = context[S3_ARN_CONTEXT_KEY];
  if (s3Arn !== undefined) return s3Arn;
  const directoryBucketArn = context[S3_EXPRESS_ARN_CONTEXT_KEY];
  if (directoryBucketArn !== undefined) return directoryBucketArn.replace(PREFIXED_DIRECTORY_BUCKET_ARN, '');
  return context[S3_VECTORS_ARN_CONTEXT_KEY];
};

/** The context key an S3-made call's `s3Arn` came from, told by the ARN: `s3ArnOf` read the other way. */
export const s3ContextKeyOf = (s3Arn: string): string => {
  const service = s3ServiceOfArn(s3Arn);
  return service === 's3express' ? S3_EXPRESS_ARN_CONTEXT_KEY : service === 's3vectors' ? S3_VECTORS_ARN_CONTEXT_KEY : S3_ARN_CONTEXT_KEY;
};

/**
 * The eventID of the event a record updates, else undefined. CloudTrail delivers an event again, under an eventID
 * of its own, when it learns more of it: the copy's `addendum` says `reason` UPDATED_DATA and names the first
 * delivery by `originalEventID`. The copy is the same call, so it goes by that id, and whichever comes second is a
 * duplicate (an `addendum` for a delivery delay, on the event's only record, changes nothing).
 */
const updatedEventIdOf = (raw: JsonObject): string | undefined => {
  const addendum = obj(raw['addendum']);
  return addendum?.['reason'] === 'UPDATED_DATA' ? str(addendum['originalEventID']) : undefined;
};

/**
 * Normalizes one raw CloudTrail record. Never throws: anything unusable comes back as
 * `skipped` (with a reason) or `failed` (with a one-line reason). Errored calls are kept: they are signals.
 *
 * On the hot path of every replay: each event is one object literal of its kind, every field set (undefined
 * when absent) in one order, so events of a kind share a hidden class (see types.ts).
 */
export const normalizeRecord = (raw: unknown): NormalizeResult => {
  if (!isObject(raw)) return failed(`record is ${raw === null ? 'null' : Array.isArray(raw) ? 'an array' : typeof raw}, not a JSON object`);
  if (raw['eventType'] === 'AwsCloudTrailInsight' || raw['insightDetails'] !== undefined) {
    return { ok: false, outcome: 'skipped', reason: 'insight-event' };
  }
  // Not the call but the VPC endpoint owner's record of it: no resources (in AWS's example no parameters either),
  // so no key. KMS's and S3's are kept as VpcEndpointCall, apart from the calls; the other services' are skipped.
  const networkActivity = raw['eventCategory'] === 'NetworkActivity' || raw['eventType'] === 'AwsVpceEvent';
  if (networkActivity && !NETWORK_ACTIVITY_SOURCES.has(raw['eventSource'] as string)) {
    return { ok: false, outcome: 'skipped', reason: 'network-activity-event' };
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
  const eventId = updatedEventIdOf(raw) ?? str(raw['eventID']);
  const region = str(raw['awsRegion']) ?? 'unknown';
  const userIdentity = obj(raw['userIdentity']);
  const principal = normalizePrincipal(userIdentity);
  const sourceIp = str(raw['sourceIPAddress']);
  const recipientAccountId = str(raw['recipientAccountId']);
  const userAgent = str(raw['userAgent']);

  const sharedEventId = str(raw['sharedEventID']);
  const vpcEndpointId = str(raw['vpcEndpointId']);
  const errorCode = str(raw['errorCode']);
  const errorMessage = str(raw['errorMessage']);
  const readOnly = bool(raw['readOnly']);
  if (networkActivity) {
    const event: VpcEndpointCall = {
      eventId: eventId ?? '',
      sharedEventId,
      eventTimeMs,
      eventName,
      region,
      principal,
      recipientAccountId,
      sourceIp,
      userAgent,
      vpcEndpointId,
      errorCode,
      errorMessage,
      readOnly,
      kind: 'vpce',
      eventSource,
      vpcEndpointAccountId: str(raw['vpcEndpointAccountId']),
    };
    return { ok: true, event };
  }
  // Each kind's event is one literal: every field set even when undefined, the shared ones first in EventBase
  // order. They are listed in each literal, not spread from a shared object: V8 adds the properties that follow
  // a spread one at a time, which made normalizing several times slower.
  if (eventSource === KMS_EVENT_SOURCE) {
    if (eventId === undefined) return failed('missing field eventID');
    const rp = obj(raw['requestParameters']);
    const keyIdParameter = str(rp?.['keyId']) ?? str(rp?.['sourceKeyId']);
    const key = resolveKey(raw['resources'], keyIdParameter, region, principal.accountId ?? recipientAccountId);
    const encryptionContext = contextOf(rp);
    const s3Arn = s3ArnOf(encryptionContext);
    // A service DNS name as user agent counts only when no network address contradicts it (partial exports).
    const invokedBy =
      invokedByOf(userIdentity) ??
      (isAwsServiceMarker(sourceIp) ? sourceIp : sourceIp === undefined && userAgent?.endsWith('.amazonaws.com') === true ? userAgent : undefined);
    const madeByAwsService = invokedBy !== undefined || principal.type === 'AWSService';
    const event: KmsCall = {
      eventId,
      sharedEventId,
      eventTimeMs,
      eventName,
      region,
      principal,
      recipientAccountId,
      sourceIp,
      userAgent,
      vpcEndpointId,
      errorCode,
      errorMessage,
      readOnly,
      kind: 'kms',
      keyArn: key.keyArn,
      keyAccountId: key.keyAccountId,
      keyAlias: key.keyAlias,
      keyIdParameter,
      encryptionContext,
      s3Arn,
      invokedBy,
      madeByAwsService,
      madeByS3: s3Arn !== undefined && madeByAwsService,
      request: kmsRequestSummary(rp, raw['resources']),
      correlation: undefined,
      s3Request: undefined,
    };
    return { ok: true, event };
  }

  if (eventSource === S3_EVENT_SOURCE) {
    const isDataEvent = raw['eventCategory'] === 'Data' || raw['managementEvent'] === false;
    if (isDataEvent || S3_OBJECT_OPERATIONS.has(eventName)) {
      const access = s3AccessFields(raw, region);
      if (access !== undefined) {
        if (eventId === undefined) return failed('missing field eventID');
        const event: S3ObjectAccess = {
          eventId,
          sharedEventId,
          eventTimeMs,
          eventName,
          region,
          principal,
          recipientAccountId,
          sourceIp,
          userAgent,
          vpcEndpointId,
          errorCode,
          errorMessage,
          readOnly,
          kind: 's3',
          bucket: access.bucket,
          objectKey: access.objectKey,
          objectArn: access.objectArn,
          bucketArn: `arn:${partitionOfRegion(region)}:s3:::${access.bucket}`,
          bytesIn: access.bytesIn,
          bytesOut: access.bytesOut,
          sseApplied: access.sseApplied,
          requestedKmsKeyId: access.requestedKmsKeyId,
          appliedKmsKeyId: access.appliedKmsKeyId,
          copySource: access.copySource,
          isDataEvent,
          presigned: access.presigned,
        };
        return { ok: true, event };
      }
    }
  }

  const event: OtherApiCall = {
    eventId: eventId ?? '',
    sharedEventId,
    eventTimeMs,
    eventName,
    region,
    principal,
    recipientAccountId,
    sourceIp,
    userAgent,
    vpcEndpointId,
    errorCode,
    errorMessage,
    readOnly,
    kind: 'other',
    eventSource,
    requestParameters:
      KEEPS_REQUEST_PARAMETERS.has(eventSource) || (eventSource === S3_EVENT_SOURCE && S3_CALLS_KEEPING_REQUEST_PARAMETERS.has(eventName))
        ? obj(raw['requestParameters'])
        : undefined,
  };
  return { ok: true, event };
};

const S3_ARN_PREFIX = 'arn:aws';
const S3_ARN_MARKER = ':s3:::';

/**
 * Whether an S3 request's `AuthenticationMethod` says it was signed ahead of it: a presigned URL's (QueryString) or a
 * POST form's (HtmlForm), whoever sent it (AWS Prescriptive Guidance, "Identifying presigned requests").
 */
const isSignedAhead = (authenticationMethod: unknown): boolean => authenticationMethod === 'QueryString' || authenticationMethod === 'HtmlForm';

/**
 * What an S3 record says of the object it accessed; undefined when it names no bucket. An object ARN the record does
 * not give is made in the partition of its Region.
 */
const s3AccessFields = (
  raw: JsonObject,
  region: string,
): Pick<S3ObjectAccess, 'bucket' | 'objectKey' | 'objectArn' | 'bytesIn' | 'bytesOut' | 'sseApplied' | 'requestedKmsKeyId' | 'appliedKmsKeyId' | 'copySource' | 'presigned'> | undefined => {
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
  if (bucket === undefined) return undefined;
  const objectKey = str(rp?.['key']);
  if (objectArn === undefined && objectKey !== undefined) objectArn = `arn:${partitionOfRegion(region)}:s3:::${bucket}/${objectKey}`;
  const aed = obj(raw['additionalEventData']);
  const sseHeader = str(rp?.['x-amz-server-side-encryption']);
  return {
    bucket,
    objectKey,
    objectArn,
    bytesIn: num(aed?.['bytesTransferredIn']),
    bytesOut: num(aed?.['bytesTransferredOut']),
    // A customer-provided key (SSE-C) decides the object's encryption whatever else the request says.
    sseApplied:
      str(aed?.['SSEApplied']) ??
      (str(rp?.['x-amz-server-side-encryption-customer-algorithm']) !== undefined
        ? 'SSE_C'
        : sseHeader === 'aws:kms' ? 'SSE_KMS' : sseHeader === 'aws:kms:dsse' ? 'DSSE_KMS' : sseHeader === 'AES256' ? 'SSE_S3' : undefined),
    requestedKmsKeyId: str(rp?.['x-amz-server-side-encryption-aws-kms-key-id']) ?? str(rp?.['SSEKMSKeyId']),
    appliedKmsKeyId: str(obj(raw['responseElements'])?.['x-amz-server-side-encryption-aws-kms-key-id']),
    copySource: str(rp?.['x-amz-copy-source']),
    presigned: isSignedAhead(aed?.['AuthenticationMethod']),
  };
};

/**
 * The key an S3 access names: the one S3's response says it encrypted under, which is what an alias or the bucket's
 * default resolved to, else the one the request named (an ARN, an alias or a key id).
 */
export const s3AccessKeyOf = (e: S3ObjectAccess): string | undefined => e.appliedKmsKeyId ?? e.requestedKmsKeyId;

/**
 * The key of an S3 write whose KMS call this trail never records, as an ARN; else undefined. That is a write by a
 * principal of another account (S3 delivers its data event to the bucket owner as well) under a key of an account
 * other than the bucket owner's (whose copy of the call would land here): the call S3 made is in the writer's and
 * the key owner's trails only. The key is the one S3's response names, else the request's; a key id or an alias
 * name is the writer's own (KMS resolves it in the requester's account), so it is made an ARN of that account.
 */
export const unloggedWriteKeyOf = (e: S3ObjectAccess): string | undefined => {
  const writer = e.principal.accountId;
  const owner = e.recipientAccountId;
  if (writer === undefined || owner === undefined || writer === owner || e.errorCode !== undefined || e.objectKey === undefined) return undefined;
  const key = s3AccessKeyOf(e);
  const keyAccount = key === undefined ? undefined : accountOfNamedKey(key, writer);
  if (key === undefined || keyAccount === undefined || keyAccount === owner) return undefined;
  return key.startsWith('arn:') ? key : kmsArnInAccount(key, writer, e.region);
};

/**
 * A ReEncrypt's destination key ARN, whose baseline the engine keeps (as the source's: the record's key is the
 * source): the one the record's `resources` name, else the request's when it names a key by ARN or by key id (a
 * key of the caller's own account and region). An alias the record does not resolve gives none.
 */
export const reEncryptDestinationArnOf = (e: KmsCall): string | undefined => {
  if (e.eventName !== 'ReEncrypt') return undefined;
  const named = e.request.destinationKeyId;
  if (e.request.destinationKeyArn !== undefined || named === undefined) return e.request.destinationKeyArn;
  return KEY_ARN.test(named) ? named : keyIdArnInAccount(named, e.principal.accountId, e.region);
};

/** `s3AccessKeyOf` when it is a key's ARN, whose baseline the engine keeps (not an alias or a bare key id). */
export const s3AccessKeyArnOf = (e: S3ObjectAccess): string | undefined => {
  const key = s3AccessKeyOf(e);
  return key !== undefined && KEY_ARN.test(key) ? key : undefined;
};

/** How a dedupe key marks a `sharedEventID`, a record's own `eventID`, and a network activity event's `eventID`. */
export const SHARED_EVENT_ID_PREFIX = 's:';
export const EVENT_ID_PREFIX = 'e:';
export const NETWORK_EVENT_ID_PREFIX = 'v:';

/**
 * Key used to drop duplicate deliveries: `sharedEventID` spans the copies of a cross-account call. A network activity
 * event goes by its own eventID, apart from the calls: its sharedEventID may be the call's own (AWS does not say), and
 * must not make the call a duplicate.
 */
export const dedupeKeyOf = (e: { readonly kind?: string; readonly eventId: string; readonly sharedEventId?: string | undefined }): string | undefined =>
  e.kind === 'vpce'
    ? e.eventId !== '' ? `${NETWORK_EVENT_ID_PREFIX}${e.eventId}` : undefined
    : e.sharedEventId !== undefined ? `${SHARED_EVENT_ID_PREFIX}${e.sharedEventId}` : e.eventId !== '' ? `${EVENT_ID_PREFIX}${e.eventId}` : undefined;
