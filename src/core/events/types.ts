/**
 * Normalized CloudTrail events: the only shapes rules, correlation and the ledger see.
 * Times are epoch milliseconds. Every string comes from the record and is attacker-influenced.
 *
 * `normalizeRecord` sets every field of an event's kind, in one order, undefined where the record has no
 * value: every event of a kind then shares one hidden class, so the engine's property reads and copies stay
 * on V8's fast paths instead of falling to its generic ones (without this, the engine's thread of a 1M-record
 * replay was busy a third longer). The engine's changed copies of a KMS call are made by `kmsCallWith`, which
 * keeps that class. Code that builds events elsewhere (tests, stored state) may leave fields out.
 */

export type PrincipalType =
  | 'Root'
  | 'IAMUser'
  | 'AssumedRole'
  | 'FederatedUser'
  | 'AWSService'
  | 'AWSAccount'
  | 'IdentityCenterUser'
  | 'Unknown';

export interface Principal {
  readonly type: PrincipalType;
  /**
   * Stable identity used for baselines: the role ARN for assumed-role sessions (session folded away),
   * the user ARN, `arn:aws:iam::<acct>:root`, the service name for AWS services, else a synthetic id.
   */
  readonly id: string;
  /** The ARN exactly as logged (for an assumed role, the session ARN). */
  readonly arn?: string | undefined;
  /** Role session name, kept apart from `id`. */
  readonly sessionName?: string | undefined;
  readonly accountId?: string | undefined;
  readonly accessKeyId?: string | undefined;
  /** True for AWS service principals and service-linked roles: expected callers, not anomalies. */
  readonly isAwsService: boolean;
}

export interface EventBase {
  readonly eventId: string;
  /** Shared between the copies of one cross-account call; undefined when caller and owner are one account. */
  readonly sharedEventId?: string | undefined;
  readonly eventTimeMs: number;
  readonly eventName: string;
  readonly region: string;
  readonly principal: Principal;
  /** Account whose trail logged the record (`recipientAccountId`). */
  readonly recipientAccountId?: string | undefined;
  readonly sourceIp?: string | undefined;
  readonly userAgent?: string | undefined;
  readonly vpcEndpointId?: string | undefined;
  readonly errorCode?: string | undefined;
  readonly errorMessage?: string | undefined;
  readonly readOnly?: boolean | undefined;
}

/** A null-prototype map: safe with keys such as `__proto__` or `constructor`. */
export type EncryptionContext = Readonly<Record<string, string>>;

export interface KmsCall extends EventBase {
  readonly kind: 'kms';
  /** Key ARN when the record names it (resources[], or an ARN keyId), else undefined. */
  readonly keyArn?: string | undefined;
  /** Account that owns the key, from its ARN. */
  readonly keyAccountId?: string | undefined;
  /** Alias the caller named (`alias/...`), when it did. */
  readonly keyAlias?: string | undefined;
  /** Whatever `requestParameters.keyId` said, verbatim. */
  readonly keyIdParameter?: string | undefined;
  /** Undefined when the call carried no context at all. */
  readonly encryptionContext?: EncryptionContext | undefined;
  /**
   * What S3 names in the context (normalize.ts, s3ArnOf): `aws:s3:arn`'s object ARN, its bucket ARN with S3 Bucket
   * Keys, or a table's ARN (`arn:aws:s3tables:…`); for a directory bucket, `aws:s3express:arn`'s bucket ARN
   * (`arn:aws:s3express:<region>:<account>:bucket/<name>`); for a vector bucket, `aws:s3vectors:arn`'s bucket or
   * index ARN.
   */
  readonly s3Arn?: string | undefined;
  /** The AWS service that made the call on the caller's behalf (`invokedBy`, or a service marker in sourceIPAddress). */
  readonly invokedBy?: string | undefined;
  readonly madeByAwsService: boolean;
  /** An S3-made SSE-KMS call: an `s3Arn` from its context and an AWS-service marker. */
  readonly madeByS3: boolean;
  /** Request parameters a few lifecycle rules need; only the documented scalar ones are kept. */
  readonly request: KmsRequestSummary;
  /** For an S3-made call: how it was matched to the S3 request behind it (set by correlation). */
  readonly correlation?: CorrelationConfidence | undefined;
  /** For an S3-made call matched to its S3 data event: the real request (source IP, operation, ...). */
  readonly s3Request?: S3RequestSummary | undefined;
}

/** `object`: same principal, object and time window; `bucket`: an S3 Bucket Key decrypt, matched by bucket; `none`: no data event in the window. */
export type CorrelationConfidence = 'object' | 'bucket' | 'none';

/** The S3 request that made a KMS call, as correlation attaches it. */
export interface S3RequestSummary {
  readonly operation: string;
  readonly eventId: string;
  readonly eventTimeMs: number;
  readonly bucket: string;
  readonly objectKey?: string | undefined;
  readonly sourceIp?: string | undefined;
  readonly userAgent?: string | undefined;
  readonly vpcEndpointId?: string | undefined;
  readonly bytesIn?: number | undefined;
  readonly bytesOut?: number | undefined;
  readonly sseApplied?: string | undefined;
  /**
   * Signed ahead of it, a presigned URL's or a POST form's (`S3ObjectAccess.presigned`); absent from requests kept
   * before 2026-12-07.
   */
  readonly presigned?: boolean | undefined;
  /**
   * The key the ledger counted this write under from its data event alone (`unloggedWriteKeyOf`: the bucket owner's
   * copy of a write by another account under a key the owner does not hold); the KMS call matched to it then counts
   * on the same object access without counting the write again.
   */
  readonly unloggedWriteKey?: string | undefined;
}

export interface KmsRequestSummary {
  readonly keySpec?: string;
  readonly encryptionAlgorithm?: string;
  readonly pendingWindowInDays?: number;
  readonly policy?: string;
  readonly aliasName?: string;
  readonly targetKeyId?: string;
  readonly grantee?: string;
  /** CreateGrant: the operations the grant allows (`operations`), as logged. */
  readonly grantOperations?: readonly string[];
  /** ReEncrypt: the key the ciphertext is encrypted under afterwards (`destinationKeyId`), as the caller named it. */
  readonly destinationKeyId?: string;
  /** ReEncrypt: the destination key's ARN, the second key of the record's `resources` (the source comes first). */
  readonly destinationKeyArn?: string;
  /**
   * PutKeyPolicy, CreateKey: present (true) when the caller skipped KMS's check that the policy still lets it manage
   * the key (`bypassPolicyLockoutSafetyCheck`); absent when the record says false or nothing.
   */
  readonly bypassPolicyLockoutSafetyCheck?: true;
}

export interface S3ObjectAccess extends EventBase {
  readonly kind: 's3';
  readonly bucket: string;
  readonly objectKey?: string | undefined;
  /** `arn:aws:s3:::bucket/key` when the record names an object. */
  readonly objectArn?: string | undefined;
  readonly bucketArn: string;
  readonly bytesIn?: number | undefined;
  readonly bytesOut?: number | undefined;
  /** `SSE_KMS`, `Default_SSE_KMS`, `SSE_S3`, `Default_SSE_S3`, `SSE_C`, ... as logged. */
  readonly sseApplied?: string | undefined;
  /** KMS key requested in the `x-amz-server-side-encryption-aws-kms-key-id` header. */
  readonly requestedKmsKeyId?: string | undefined;
  /**
   * KMS key S3 encrypted the object under, as the response's `x-amz-server-side-encryption-aws-kms-key-id` names it
   * (`responseElements`): the key an alias or the bucket's default resolved to, also when the request named none.
   */
  readonly appliedKmsKeyId?: string | undefined;
  /** For CopyObject / UploadPartCopy: `bucket/key` of the source. */
  readonly copySource?: string | undefined;
  /** True when the record is a data event (eventCategory Data, or managementEvent false). */
  readonly isDataEvent: boolean;
  /**
   * True when the request was signed ahead of it, in its query string (a presigned URL) or by a form's policy (a
   * browser's POST upload): `additionalEventData.AuthenticationMethod` QueryString or HtmlForm, as against AuthHeader.
   * Made with the principal's credentials and sent by whoever holds the URL or the form, so its user agent and
   * address are that holder's, not the principal's.
   */
  readonly presigned: boolean;
}

/** Any other API call: counted, and visible to rules that select it (e.g. CloudTrail trail changes). */
export interface OtherApiCall extends EventBase {
  readonly kind: 'other';
  readonly eventSource: string;
  /**
   * The request parameters, kept only where rules read them: every call of CloudTrail and EventBridge, and S3's
   * default-encryption calls (normalize.ts, S3_CALLS_KEEPING_REQUEST_PARAMETERS).
   */
  readonly requestParameters?: Readonly<Record<string, unknown>> | undefined;
}

/**
 * A network activity event of KMS or S3 (eventCategory NetworkActivity, eventType AwsVpceEvent): the VPC endpoint
 * owner's record of a call through its endpoint, whoever made it. The owner's trail records it even for callers of
 * other accounts (whose calls with keys of their own its management events never show) and for calls the endpoint's
 * policy denied (`errorCode` VpceAccessDenied). It names no key (no resources; in AWS's examples no request
 * parameters either). It is not the call, which is a management or data event of its own, so correlation and the
 * ledger leave it alone: the rules that select network activity see it, and its endpoint's baseline learns the
 * caller's account (EndpointBaseline). A caller of another account is named by its account and access key alone
 * (`userIdentity` of type AWSAccount).
 */
export interface VpcEndpointCall extends EventBase {
  readonly kind: 'vpce';
  /** The service called through the endpoint: `kms.amazonaws.com` or `s3.amazonaws.com` (NETWORK_ACTIVITY_SOURCES). */
  readonly eventSource: string;
  /** The account that owns the VPC endpoint (`vpcEndpointAccountId`). */
  readonly vpcEndpointAccountId?: string | undefined;
}

export type MonitorEvent = KmsCall | S3ObjectAccess | OtherApiCall | VpcEndpointCall;

export type SkipReason =
  | 'duplicate'
  | 'insight-event'
  /**
   * A network activity event (eventCategory NetworkActivity, eventType AwsVpceEvent) of a service other than KMS and
   * S3: the VPC endpoint owner's record of a call through its endpoint, which no rule reads. KMS's and S3's come as
   * VpcEndpointCall.
   */
  | 'network-activity-event'
  | 'digest-file'
  | 'not-cloudtrail'
  /** An event before `--from` or after `--to` of a replay of a time window. */
  | 'outside-time-range';

/** Where a raw record came from: named in every error. */
export interface RecordOrigin {
  readonly file: string;
  /** Zero-based index of the record within the file (line number minus one for NDJSON). */
  readonly index: number;
}

export type NormalizeResult =
  | { readonly ok: true; readonly event: MonitorEvent }
  | { readonly ok: false; readonly outcome: 'skipped'; readonly reason: SkipReason }
  | { readonly ok: false; readonly outcome: 'failed'; readonly reason: string };
