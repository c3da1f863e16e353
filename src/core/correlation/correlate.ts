/**
 * KMS ↔ S3 correlation. An S3-made KMS call carries the caller's identity but not the caller's network; the
 * S3 data event carries the network but not the key. Both halves are joined on (operation family, principal
 * session, object ARN — or bucket ARN for S3 Bucket Keys) within an event-time window, one to one, nearest
 * first, whichever half arrives first. Unmatched KMS halves wait in state until the watermark of their stream
 * passes their deadline; then they are decided as `none`. Pure: all state goes through `WorkingState`.
 */
import type { CorrelationConfidence, KmsCall, MonitorEvent, S3ObjectAccess, S3RequestSummary } from '../events/types.ts';
import { parseS3Arn } from '../events/s3-arn.ts';
import { kmsCallWith } from '../events/kms-call-with.ts';
import { unloggedWriteKeyOf } from '../events/normalize.ts';
import { getEntry, putEntry, stateKey, type BucketCoverage, type CorrelationSlot, type WorkingState } from '../state.ts';

export interface CorrelationSettings {
  /** Largest |eventTime difference| between a KMS call and its S3 request. */
  readonly windowMs: number;
  /** How far behind its stream's newest event an event may still arrive and be matched. */
  readonly latenessMs: number;
  /** How long an S3 Bucket Key decrypt covers later reads of the same session in the bucket. */
  readonly bucketKeyReuseMs: number;
}

export const DEFAULT_CORRELATION: CorrelationSettings = { windowMs: 60_000, latenessMs: 15 * 60_000, bucketKeyReuseMs: 15 * 60_000 };

/** Unmatched halves kept per slot; older ones are decided early rather than grow without bound. */
const MAX_HALVES_PER_SLOT = 64;

export type KmsFamily = 'decrypt' | 'generate';

/** KMS operations S3 makes, by family. */
export const kmsFamilyOf = (eventName: string): KmsFamily | undefined =>
  eventName === 'Decrypt' ? 'decrypt' : eventName.startsWith('GenerateDataKey') ? 'generate' : undefined;

/** S3 operations whose SSE-KMS handling makes S3 call Decrypt (reads, parts, copy sources). */
const DECRYPT_OPS: ReadonlySet<string> = new Set(['GetObject', 'SelectObjectContent', 'RestoreObject', 'UploadPart', 'CompleteMultipartUpload', 'CopyObject', 'UploadPartCopy']);
/** S3 operations that make S3 call GenerateDataKey (new objects, copy destinations). */
const GENERATE_OPS: ReadonlySet<string> = new Set(['PutObject', 'CreateMultipartUpload', 'CopyObject', 'UploadPartCopy']);

/** `bucket/key`, `/bucket/key?versionId=…`, URL-encoded → object ARN. */
export const copySourceArn = (copySource: string): string | undefined => {
  let text = copySource.startsWith('/') ? copySource.slice(1) : copySource;
  const q = text.indexOf('?versionId=');
  if (q !== -1) text = text.slice(0, q);
  try {
    text = decodeURIComponent(text);
  } catch {
    return undefined;
  }
  const slash = text.indexOf('/');
  return slash > 0 ? `arn:aws:s3:::${text}` : undefined;
};

const isCopy = (e: S3ObjectAccess): boolean => e.eventName === 'CopyObject' || e.eventName === 'UploadPartCopy';

/** The object an S3 data event makes S3 decrypt: its copy source for a copy, else its own object for a read. */
const decryptTargetOf = (e: S3ObjectAccess): string | undefined => {
  if (isCopy(e)) return e.copySource !== undefined ? copySourceArn(e.copySource) : undefined;
  return e.objectArn !== undefined && DECRYPT_OPS.has(e.eventName) ? e.objectArn : undefined;
};

/** The (family, object ARN) pairs an S3 data event can stand behind. */
export const s3Targets = (e: S3ObjectAccess): { family: KmsFamily; objectArn: string }[] => {
  const out: { family: KmsFamily; objectArn: string }[] = [];
  if (e.objectArn !== undefined && GENERATE_OPS.has(e.eventName)) out.push({ family: 'generate', objectArn: e.objectArn });
  const source = decryptTargetOf(e);
  if (source !== undefined) out.push({ family: 'decrypt', objectArn: source });
  return out;
};

let lastArn: string | undefined;
let lastBucket: { readonly bucket: string; readonly isBucketArn: boolean } = { bucket: '', isBucketArn: true };

/**
 * The bucket an S3 ARN names, and whether it names only the bucket (an S3 Bucket Key's context). An S3-made KMS call
 * asks three or four times in a row (bucket coverage, correlation, the rules), so the last answer is kept.
 */
export const bucketOfS3Arn = (arn: string): { readonly bucket: string; readonly isBucketArn: boolean } => {
  if (arn !== lastArn) {
    const { bucket, objectKey } = parseS3Arn(arn);
    lastBucket = { bucket, isBucketArn: objectKey === undefined };
    lastArn = arn;
  }
  return lastBucket;
};

export const sessionKeyOf = (e: MonitorEvent): string => `${e.principal.id}#${e.principal.sessionName ?? e.principal.accessKeyId ?? ''}`;

/** The account whose stream an event belongs to: the one that logged it, else the caller's. */
const streamAccountOf = (e: MonitorEvent): string => e.recipientAccountId ?? e.principal.accountId ?? 'unknown';

export const partitionOf = (e: MonitorEvent): string => `${streamAccountOf(e)}|${e.region}`;

/** Is this a KMS call S3 made for an object or bucket (the KMS half of a pair)? */
export const isKmsHalf = (e: MonitorEvent): e is KmsCall & { s3Arn: string } =>
  e.kind === 'kms' && e.madeByS3 && e.s3Arn !== undefined && kmsFamilyOf(e.eventName) !== undefined;

export const isS3Half = (e: MonitorEvent): e is S3ObjectAccess => e.kind === 's3' && e.isDataEvent;

/** The correlation state keys an event touches (for planning a batch's loads). */
export const correlationKeysOf = (e: MonitorEvent): string[] => {
  if (isKmsHalf(e)) {
    const family = kmsFamilyOf(e.eventName) as KmsFamily;
    const { bucket, isBucketArn } = bucketOfS3Arn(e.s3Arn);
    const target = isBucketArn ? `bucket:${bucket}` : e.s3Arn;
    return [stateKey.correlation(family, sessionKeyOf(e), target), stateKey.bucket(bucket), stateKey.watermark(partitionOf(e))];
  }
  if (isS3Half(e)) {
    const keys = [stateKey.bucket(e.bucket), stateKey.watermark(partitionOf(e))];
    for (const t of s3Targets(e)) {
      keys.push(stateKey.correlation(t.family, sessionKeyOf(e), t.objectArn));
      keys.push(stateKey.correlation(t.family, sessionKeyOf(e), `bucket:${bucketOfS3Arn(t.objectArn).bucket}`));
    }
    return keys;
  }
  return [];
};

/** Every field set, undefined where absent, like the events (see types.ts). */
const requestOf = (e: S3ObjectAccess): S3RequestSummary => ({
  operation: e.eventName,
  eventId: e.eventId,
  eventTimeMs: e.eventTimeMs,
  bucket: e.bucket,
  objectKey: e.objectKey,
  sourceIp: e.sourceIp,
  userAgent: e.userAgent,
  vpcEndpointId: e.vpcEndpointId,
  bytesIn: e.bytesIn,
  bytesOut: e.bytesOut,
  sseApplied: e.sseApplied,
  presigned: e.presigned,
  unloggedWriteKey: unloggedWriteKeyOf(e),
});

const emptySlot = (partition: string): CorrelationSlot => ({ kind: 'correlation', partition, dueMs: Number.POSITIVE_INFINITY, expiresMs: 0, kms: [], s3: [] });

/** The slot under `key`, updated in place like the baselines (the entry is this batch's; `saveSlot` writes it back). */
const slotAt = (state: WorkingState, key: string, partition: string): CorrelationSlot => {
  const entry = state.get(key);
  return entry?.kind === 'correlation' ? entry : emptySlot(partition);
};

const saveSlot = (state: WorkingState, key: string, slot: CorrelationSlot): void => {
  let dueMs = Number.POSITIVE_INFINITY;
  for (const h of slot.kms) if (h.deadlineMs < dueMs) dueMs = h.deadlineMs;
  let expiresMs = slot.lastBucketDecrypt?.eventTimeMs ?? 0;
  for (const h of slot.s3) if (h.deadlineMs > expiresMs) expiresMs = h.deadlineMs;
  slot.dueMs = dueMs;
  slot.expiresMs = expiresMs;
  if (slot.kms.length === 0 && slot.s3.length === 0 && slot.lastBucketDecrypt === undefined) state.delete(key);
  else state.set(key, slot);
};

/** Index of the entry nearest in time to `t` within `windowMs`, or -1. */
const nearest = <T>(items: readonly T[], timeOf: (x: T) => number, t: number, windowMs: number): number => {
  let best = -1;
  let bestGap = Number.POSITIVE_INFINITY;
  for (let i = 0; i < items.length; i++) {
    const gap = Math.abs(timeOf(items[i] as T) - t);
    if (gap <= windowMs && gap < bestGap) {
      best = i;
      bestGap = gap;
    }
  }
  return best;
};

const kmsHalfTime = (h: CorrelationSlot['kms'][number]): number => h.event.eventTimeMs;
const s3HalfTime = (h: CorrelationSlot['s3'][number]): number => h.request.eventTimeMs;

/** A KMS call ready for the rules: matched (with its S3 request) or decided unmatched. */
export interface ResolvedKmsCall {
  readonly event: KmsCall;
  readonly confidence: CorrelationConfidence;
}

export const withCorrelation = (e: KmsCall, confidence: CorrelationConfidence, request?: S3RequestSummary): KmsCall =>
  kmsCallWith(e, { correlation: confidence, s3Request: request });

/** Records what a bucket's events tell about its logging and encryption. */
export const noteBucketCoverage = (state: WorkingState, e: MonitorEvent): void => {
  let bucket: string | undefined;
  if (isS3Half(e)) bucket = e.bucket;
  else if (isKmsHalf(e)) bucket = bucketOfS3Arn(e.s3Arn).bucket;
  if (bucket === undefined) return;
  const key = stateKey.bucket(bucket);
  const existing = state.get(key);
  // Updated in place, like the key baselines: the entry is this batch's (and is saved with its changes).
  const c: BucketCoverage =
    existing?.kind === 'bucket'
      ? existing
      : { kind: 'bucket', firstSeenMs: e.eventTimeMs, dataEvents: 0, readEvents: 0, firstReadMs: undefined, bucketKeyCalls: 0, objectKeyCalls: 0, sse: Object.create(null) as Record<string, number>, kmsKeys: Object.create(null) as Record<string, number> };
  c.firstSeenMs = Math.min(c.firstSeenMs, e.eventTimeMs);
  if (isS3Half(e)) {
    c.dataEvents++;
    if (decryptTargetOf(e) !== undefined) {
      c.readEvents++;
      if (c.firstReadMs === undefined || e.eventTimeMs < c.firstReadMs) c.firstReadMs = e.eventTimeMs;
    }
    if (e.sseApplied !== undefined) putEntry(c.sse, e.sseApplied, (getEntry(c.sse, e.sseApplied) ?? 0) + 1);
  } else if (isKmsHalf(e)) {
    if (bucketOfS3Arn(e.s3Arn).isBucketArn) c.bucketKeyCalls++;
    else c.objectKeyCalls++;
    if (e.keyArn !== undefined) {
      const uses = getEntry(c.kmsKeys, e.keyArn);
      if (uses !== undefined) putEntry(c.kmsKeys, e.keyArn, uses + 1);
      else if (Object.keys(c.kmsKeys).length < 100) putEntry(c.kmsKeys, e.keyArn, 1);
    }
  }
  state.set(key, c);
};

/** An S3-made KMS call arrives: match it to a waiting S3 request, or park it until its deadline. */
export const correlateKms = (e: KmsCall & { s3Arn: string }, state: WorkingState, s: CorrelationSettings): ResolvedKmsCall[] => {
  const family = kmsFamilyOf(e.eventName) as KmsFamily;
  const { bucket, isBucketArn } = bucketOfS3Arn(e.s3Arn);
  const key = stateKey.correlation(family, sessionKeyOf(e), isBucketArn ? `bucket:${bucket}` : e.s3Arn);
  const slot = slotAt(state, key, partitionOf(e));
  if (isBucketArn) slot.lastBucketDecrypt = { eventId: e.eventId, eventTimeMs: e.eventTimeMs };
  const i = nearest(slot.s3, s3HalfTime, e.eventTimeMs, s.windowMs);
  if (i !== -1) {
    const [half] = slot.s3.splice(i, 1);
    saveSlot(state, key, slot);
    const confidence = isBucketArn ? 'bucket' : 'object';
    return [{ event: withCorrelation(e, confidence, half?.request), confidence }];
  }
  slot.kms.push({ event: e, deadlineMs: e.eventTimeMs + s.windowMs + s.latenessMs });
  const overflow: ResolvedKmsCall[] = [];
  if (slot.kms.length > MAX_HALVES_PER_SLOT) {
    const [oldest] = slot.kms.splice(0, 1);
    if (oldest !== undefined) overflow.push({ event: withCorrelation(oldest.event, 'none'), confidence: 'none' });
  }
  saveSlot(state, key, slot);
  return overflow;
};

/** The S3 request an S3 data event is, for the KMS halves it may complete; the same for each of its targets. */
interface ArrivingS3Request {
  readonly request: S3RequestSummary;
  readonly partition: string;
  readonly session: string;
}

/**
 * Matches an S3 request to the nearest waiting KMS half in the slot of (family, target), or leaves it waiting there.
 * Returns whether it matched. `target` is an object ARN (`confidence` object) or `bucket:<name>` (bucket).
 */
const matchS3At = (
  arriving: ArrivingS3Request,
  family: KmsFamily,
  target: string,
  confidence: 'object' | 'bucket',
  state: WorkingState,
  s: CorrelationSettings,
  resolved: ResolvedKmsCall[],
): boolean => {
  const { request } = arriving;
  const key = stateKey.correlation(family, arriving.session, target);
  const slot = slotAt(state, key, arriving.partition);
  const i = nearest(slot.kms, kmsHalfTime, request.eventTimeMs, s.windowMs);
  const matched = i !== -1;
  if (matched) {
    const [half] = slot.kms.splice(i, 1);
    if (half !== undefined) resolved.push({ event: withCorrelation(half.event, confidence, request), confidence });
  } else {
    const sinceBucketDecrypt = slot.lastBucketDecrypt === undefined ? undefined : request.eventTimeMs - slot.lastBucketDecrypt.eventTimeMs;
    const covered = confidence === 'bucket' && sinceBucketDecrypt !== undefined && sinceBucketDecrypt >= -s.windowMs && sinceBucketDecrypt <= s.bucketKeyReuseMs;
    // Wait for a KMS half that may still arrive (not needed at bucket level when a Bucket Key already covers it).
    if (!covered) {
      slot.s3.push({ request, deadlineMs: request.eventTimeMs + s.windowMs + s.latenessMs });
      if (slot.s3.length > MAX_HALVES_PER_SLOT) slot.s3.splice(0, slot.s3.length - MAX_HALVES_PER_SLOT);
    }
  }
  saveSlot(state, key, slot);
  return matched;
};

/**
 * An S3 data event arrives: it may complete waiting KMS halves, at object level first and then at bucket level (a
 * Bucket Key's decrypt names only the bucket), or wait for them.
 */
export const correlateS3 = (e: S3ObjectAccess, state: WorkingState, s: CorrelationSettings): ResolvedKmsCall[] => {
  const resolved: ResolvedKmsCall[] = [];
  const arriving: ArrivingS3Request = { request: requestOf(e), partition: partitionOf(e), session: sessionKeyOf(e) };
  for (const t of s3Targets(e)) {
    if (!matchS3At(arriving, t.family, t.objectArn, 'object', state, s, resolved)) matchS3At(arriving, t.family, `bucket:${bucketOfS3Arn(t.objectArn).bucket}`, 'bucket', state, s, resolved);
  }
  return resolved;
};

/**
 * Decides every KMS half whose deadline the stream's watermark (or `decideBeforeMs`, if later) has passed, in
 * event-time order (then event id): the rules see them as they happened, whatever order the store lists slots in.
 */
export const resolveDue = (keys: Iterable<string>, state: WorkingState, decideBeforeMs: number): ResolvedKmsCall[] => {
  const resolved: ResolvedKmsCall[] = [];
  for (const key of keys) {
    const entry = state.get(key);
    if (entry?.kind !== 'correlation' || entry.kms.length === 0) continue;
    const watermark = state.get(stateKey.watermark(entry.partition));
    const reached = Math.max(watermark?.kind === 'watermark' ? watermark.maxEventTimeMs : Number.NEGATIVE_INFINITY, decideBeforeMs);
    const slot = slotAt(state, key, entry.partition);
    const due = slot.kms.filter((h) => h.deadlineMs <= reached);
    if (due.length === 0) continue;
    slot.kms = slot.kms.filter((h) => !due.includes(h));
    for (const h of due) resolved.push({ event: withCorrelation(h.event, 'none'), confidence: 'none' });
    saveSlot(state, key, slot);
  }
  return resolved.sort(byEventTimeThenId);
};

const byEventTimeThenId = (a: ResolvedKmsCall, b: ResolvedKmsCall): number =>
  a.event.eventTimeMs - b.event.eventTimeMs || (a.event.eventId < b.event.eventId ? -1 : a.event.eventId > b.event.eventId ? 1 : 0);

/**
 * Moves each stream's watermark forward (never back) as a batch's events go by, and tells whether an event came more
 * than `latenessMs` behind it (a boolean, not the distance: a time returned from a call that is not inlined would be
 * a number allocated for each event). The last stream's key and time are remembered, so a batch from one trail file
 * (one account and region) reads its watermark once instead of once an event. Nothing else writes watermarks during
 * a batch, so the remembered time stays the stored one.
 */
export const createWatermarks = (state: WorkingState, latenessMs: number): { advance(e: MonitorEvent): boolean } => {
  let account: string | undefined;
  let region: string | undefined;
  let key = '';
  let maxEventTimeMs = Number.NEGATIVE_INFINITY;
  return {
    advance(e) {
      const eventAccount = streamAccountOf(e);
      if (eventAccount !== account || e.region !== region) {
        account = eventAccount;
        region = e.region;
        key = stateKey.watermark(partitionOf(e));
        const entry = state.get(key);
        maxEventTimeMs = entry?.kind === 'watermark' ? entry.maxEventTimeMs : Number.NEGATIVE_INFINITY;
      }
      if (maxEventTimeMs >= e.eventTimeMs) return maxEventTimeMs - e.eventTimeMs > latenessMs;
      maxEventTimeMs = e.eventTimeMs;
      state.set(key, { kind: 'watermark', maxEventTimeMs });
      return false;
    },
  };
};
