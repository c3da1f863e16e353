/**
 * A batch of normalization results between the replay's reader thread and its engine thread, on the transfer
 * codec's tokens. Events are written field by field in the order `normalizeRecord` sets them, and read back as
 * one object literal per kind: the engine's thread then builds each event in one step, with the hidden class
 * every event of its kind shares (see core/events/types.ts), instead of property by property from a generic
 * encoding. Nested values of open shape (encryption context, request parameters) use the generic encoding.
 *
 * A field added to an event type must be added to both functions here, in the same place: the round-trip test
 * over every dataset record compares results strictly and fails on a field left out.
 */
import type { KmsCall, MonitorEvent, NormalizeResult, OtherApiCall, Principal, PrincipalType, S3ObjectAccess, SkipReason, VpcEndpointCall } from '#core/events/types.ts';
import { TokenReader, TokenWriter, TransferCodecError, type EncodedValue } from './transfer-codec.ts';

const SKIPPED = 0;
const FAILED = 1;
const KMS = 2;
const S3 = 3;
const OTHER = 4;
/**
 * A record the native reader (native/records.cc) left to JavaScript: its place in a batch. Its result travels in a
 * second encoding beside the batch's, and is put in its place where the batch is decoded (`decodeNormalized`'s
 * `pending`).
 */
const PENDING = 5;
/** A network activity event (VpcEndpointCall): written by JavaScript only, the native reader leaving them to it. */
const VPCE = 6;

/**
 * Encodes a batch's results as they come, so that a batch read in pieces (see `parseCloudTrailPieces`) can be
 * encoded piece by piece, its records and their normalized events let go after each, into one encoding with one
 * table of distinct strings.
 */
export class NormalizedBatchWriter {
  readonly #w = new TokenWriter();
  readonly #countSlot = this.#w.reserveInt();
  #count = 0;

  add(r: NormalizeResult): void {
    this.#count++;
    if (!r.ok) {
      this.#w.int(r.outcome === 'skipped' ? SKIPPED : FAILED);
      this.#w.value(r.reason);
    } else writeEvent(this.#w, r.event);
  }

  finish(): EncodedValue {
    this.#w.setInt(this.#countSlot, this.#count);
    return this.#w.finish();
  }
}

export const encodeNormalized = (results: readonly NormalizeResult[]): EncodedValue => {
  const writer = new NormalizedBatchWriter();
  for (const r of results) writer.add(r);
  return writer.finish();
};

/**
 * The batch's results. `pending` encodes, in turn, the results of the records whose places PENDING tags hold (the
 * native reader's batches); a tag without its result, or a result without its tag, is a damaged encoding.
 */
export const decodeNormalized = (encoded: EncodedValue, pending?: EncodedValue, lasting?: readonly string[]): NormalizeResult[] => {
  const filled = pending === undefined ? [] : decodeNormalized(pending);
  let nextFilled = 0;
  const r = new TokenReader(encoded, lasting);
  const count = r.int();
  const out: NormalizeResult[] = new Array<NormalizeResult>(count);
  for (let i = 0; i < count; i++) {
    const tag = r.int();
    switch (tag) {
      case SKIPPED:
        out[i] = { ok: false, outcome: 'skipped', reason: r.string() as SkipReason };
        break;
      case FAILED:
        out[i] = { ok: false, outcome: 'failed', reason: r.string() };
        break;
      case KMS:
        out[i] = { ok: true, event: readKmsCall(r) };
        break;
      case S3:
        out[i] = { ok: true, event: readS3ObjectAccess(r) };
        break;
      case OTHER:
        out[i] = { ok: true, event: readOtherApiCall(r) };
        break;
      case VPCE:
        out[i] = { ok: true, event: readVpcEndpointCall(r) };
        break;
      case PENDING: {
        const result = filled[nextFilled++];
        if (result === undefined) throw new TransferCodecError(`damaged encoding: result ${i} is a record left to be normalized, and no result is given for it`);
        out[i] = result;
        break;
      }
      default:
        throw new TransferCodecError(`damaged encoding: result ${i} has tag ${tag}`);
    }
  }
  r.end();
  if (nextFilled < filled.length) throw new TransferCodecError(`damaged encoding: ${filled.length - nextFilled} result(s) given for records no PENDING tag holds`);
  return out;
};

const writeEvent = (w: TokenWriter, e: MonitorEvent): void => {
  w.int(e.kind === 'kms' ? KMS : e.kind === 's3' ? S3 : e.kind === 'vpce' ? VPCE : OTHER);
  // EventBase, in its order.
  w.unique(e.eventId);
  w.unique(e.sharedEventId);
  w.value(e.eventTimeMs);
  w.value(e.eventName);
  w.value(e.region);
  writePrincipal(w, e.principal);
  w.value(e.recipientAccountId);
  w.value(e.sourceIp);
  w.value(e.userAgent);
  w.value(e.vpcEndpointId);
  w.value(e.errorCode);
  w.value(e.errorMessage);
  w.value(e.readOnly);
  switch (e.kind) {
    case 'kms':
      w.value(e.keyArn);
      w.value(e.keyAccountId);
      w.value(e.keyAlias);
      w.value(e.keyIdParameter);
      w.value(e.encryptionContext);
      w.value(e.s3Arn);
      w.value(e.invokedBy);
      w.value(e.madeByAwsService);
      w.value(e.madeByS3);
      w.value(e.request);
      w.value(e.correlation);
      w.value(e.s3Request);
      return;
    case 's3':
      w.value(e.bucket);
      w.value(e.objectKey);
      w.value(e.objectArn);
      w.value(e.bucketArn);
      w.value(e.bytesIn);
      w.value(e.bytesOut);
      w.value(e.sseApplied);
      w.value(e.requestedKmsKeyId);
      w.value(e.appliedKmsKeyId);
      w.value(e.copySource);
      w.value(e.isDataEvent);
      w.value(e.presigned);
      return;
    case 'other':
      w.value(e.eventSource);
      w.value(e.requestParameters);
      return;
    case 'vpce':
      w.value(e.eventSource);
      w.value(e.vpcEndpointAccountId);
  }
};

const writePrincipal = (w: TokenWriter, p: Principal): void => {
  w.value(p.type);
  w.value(p.id);
  w.value(p.isAwsService);
  w.value(p.arn);
  w.value(p.sessionName);
  w.value(p.accountId);
  w.value(p.accessKeyId);
};

const readPrincipal = (r: TokenReader): Principal => ({
  type: r.string() as PrincipalType,
  id: r.string(),
  isAwsService: r.boolean(),
  arn: r.optionalString(),
  sessionName: r.optionalString(),
  accountId: r.optionalString(),
  accessKeyId: r.optionalString(),
});

// Each literal lists EventBase's fields first, as `normalizeRecord` does: a shared helper would need a spread.
const readKmsCall = (r: TokenReader): KmsCall => ({
  eventId: r.string(),
  sharedEventId: r.optionalString(),
  eventTimeMs: r.number(),
  eventName: r.string(),
  region: r.string(),
  principal: readPrincipal(r),
  recipientAccountId: r.optionalString(),
  sourceIp: r.optionalString(),
  userAgent: r.optionalString(),
  vpcEndpointId: r.optionalString(),
  errorCode: r.optionalString(),
  errorMessage: r.optionalString(),
  readOnly: r.optionalBoolean(),
  kind: 'kms',
  keyArn: r.optionalString(),
  keyAccountId: r.optionalString(),
  keyAlias: r.optionalString(),
  keyIdParameter: r.optionalString(),
  encryptionContext: r.value() as KmsCall['encryptionContext'],
  s3Arn: r.optionalString(),
  invokedBy: r.optionalString(),
  madeByAwsService: r.boolean(),
  madeByS3: r.boolean(),
  request: r.value() as KmsCall['request'],
  correlation: r.optionalString() as KmsCall['correlation'],
  s3Request: r.value() as KmsCall['s3Request'],
});

const readS3ObjectAccess = (r: TokenReader): S3ObjectAccess => ({
  eventId: r.string(),
  sharedEventId: r.optionalString(),
  eventTimeMs: r.number(),
  eventName: r.string(),
  region: r.string(),
  principal: readPrincipal(r),
  recipientAccountId: r.optionalString(),
  sourceIp: r.optionalString(),
  userAgent: r.optionalString(),
  vpcEndpointId: r.optionalString(),
  errorCode: r.optionalString(),
  errorMessage: r.optionalString(),
  readOnly: r.optionalBoolean(),
  kind: 's3',
  bucket: r.string(),
  objectKey: r.optionalString(),
  objectArn: r.optionalString(),
  bucketArn: r.string(),
  bytesIn: r.optionalNumber(),
  bytesOut: r.optionalNumber(),
  sseApplied: r.optionalString(),
  requestedKmsKeyId: r.optionalString(),
  appliedKmsKeyId: r.optionalString(),
  copySource: r.optionalString(),
  isDataEvent: r.boolean(),
  presigned: r.boolean(),
});

const readOtherApiCall = (r: TokenReader): OtherApiCall => ({
  eventId: r.string(),
  sharedEventId: r.optionalString(),
  eventTimeMs: r.number(),
  eventName: r.string(),
  region: r.string(),
  principal: readPrincipal(r),
  recipientAccountId: r.optionalString(),
  sourceIp: r.optionalString(),
  userAgent: r.optionalString(),
  vpcEndpointId: r.optionalString(),
  errorCode: r.optionalString(),
  errorMessage: r.optionalString(),
  readOnly: r.optionalBoolean(),
  kind: 'other',
  eventSource: r.string(),
  requestParameters: r.value() as OtherApiCall['requestParameters'],
});

const readVpcEndpointCall = (r: TokenReader): VpcEndpointCall => ({
  eventId: r.string(),
  sharedEventId: r.optionalString(),
  eventTimeMs: r.number(),
  eventName: r.string(),
  region: r.string(),
  principal: readPrincipal(r),
  recipientAccountId: r.optionalString(),
  sourceIp: r.optionalString(),
  userAgent: r.optionalString(),
  vpcEndpointId: r.optionalString(),
  errorCode: r.optionalString(),
  errorMessage: r.optionalString(),
  readOnly: r.optionalBoolean(),
  kind: 'vpce',
  eventSource: r.string(),
  vpcEndpointAccountId: r.optionalString(),
});
