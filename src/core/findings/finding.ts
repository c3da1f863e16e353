import { compact } from '../events/fields.ts';
import type { KeyFacts } from '../key-facts.ts';
import { partitionOfRegion } from '../events/normalize.ts';
import { parseS3Arn, s3ServiceOfArn } from '../events/s3-arn.ts';
import type { CorrelationConfidence, MonitorEvent, PrincipalType, S3RequestSummary } from '../events/types.ts';
import type { AffectedResource, Detection, Severity } from '../rules/define-rule.ts';

/** Evidence ids kept per finding (ASFF `kdm/EventIds`). */
export const MAX_EVIDENCE_IDS = 20;
/** Related findings named per finding: ASFF's limit on `RelatedFindings`. */
export const MAX_RELATED_FINDINGS = 10;

/** One finding as the engine keeps it: the same rule and subject in one window update it. */
export interface FindingRecord {
  readonly kind: 'finding';
  readonly id: string;
  readonly ruleId: string;
  severity: Severity;
  readonly subject: string;
  readonly windowStartMs: number;
  /** Why it is unusual, in plain words: the first of its most severe detections says it, and who, where, what. */
  reason: string;
  firstSeenMs: number;
  lastSeenMs: number;
  readonly createdAtMs: number;
  /** Strictly increases on every update: Security Hub ignores a re-import with an equal `UpdatedAt`. */
  updatedAtMs: number;
  eventCount: number;
  eventIds: string[];
  readonly api: string;
  readonly serviceName: string;
  readonly accountId: string | undefined;
  readonly region: string;
  readonly principal: {
    readonly id: string;
    readonly type: PrincipalType;
    readonly arn?: string;
    readonly sessionName?: string;
    readonly accountId?: string;
    readonly accessKeyId?: string;
  };
  readonly key?: { readonly arn: string; readonly alias?: string; readonly accountId?: string };
  /**
   * The bucket and object: `bucketArn` only for a bucket whose ARN is not `arn:<partition>:s3:::<name>` (a directory,
   * table or vector bucket named by its KMS call's context), `objectArn` as the event named it.
   */
  readonly s3?: { readonly bucket: string; readonly bucketArn?: string; readonly objectArn?: string; readonly objectKey?: string };
  readonly resource?: AffectedResource;
  readonly network: { readonly sourceIp?: string; readonly userAgent?: string; readonly vpcEndpointId?: string };
  readonly errorCode?: string;
  readonly encryptionContext?: Readonly<Record<string, string>>;
  /** Set once the context values were replaced by keyed hashes (config `privacy.hashEncryptionContext`). */
  contextHashed?: boolean;
  /** For an S3-made KMS call: how it matched its S3 request, and that request. */
  readonly correlation?: CorrelationConfidence;
  readonly s3Request?: S3RequestSummary;
  /** What KMS said about the key when the finding was last updated (absent when enrichment is off). */
  keyFacts?: KeyFacts;
  /** Set when an active suppression matched: the finding is counted and listed, never dropped. */
  suppressedBy?: { readonly id: string; readonly reason: string };
  /**
   * The ids of the findings other rules raised on events of this one (`relatedFindingsByEvent`), in the order they
   * were first related, at most MAX_RELATED_FINDINGS: a new client and a new network on one call are two findings
   * about one thief. Absent until there is one.
   */
  related?: string[];
  /**
   * The ids of other findings of the same principal seen within a day of this one, in this batch or earlier ones
   * (`relateByPrincipal`), the principal's stories (a rule over findings') first and then in the order of their ids,
   * at most MAX_RELATED_FINDINGS: the morning's new network and the night's mass decrypt of one stolen role. None of
   * `related`. Absent until there is one.
   */
  samePrincipal?: string[];
  /**
   * Where those of `samePrincipal` of another account or Region than this one are (a principal's finding in a Region
   * it never used, say), by id: Security Hub keeps each finding under its account's and Region's product, and ASFF's
   * `RelatedFindings` names it there.
   */
  samePrincipalElsewhere?: Record<string, FindingPlace>;
}

/** The account and Region a finding is of (`FindingRecord.accountId`, `region`): where Security Hub keeps it. */
export interface FindingPlace {
  readonly accountId: string | undefined;
  readonly region: string;
}

/** Every finding `f` names, for ASFF's `RelatedFindings` and OCSF's related events: `related`, then `samePrincipal`. */
export const relatedIdsOf = (f: Pick<FindingRecord, 'related' | 'samePrincipal'>): string[] => {
  const ids = [...(f.related ?? [])];
  for (const id of f.samePrincipal ?? []) if (!ids.includes(id)) ids.push(id);
  return ids.slice(0, MAX_RELATED_FINDINGS);
};

/** 53-bit string hash (cyrb53): deterministic, pure, enough to keep finding ids short. */
export const hash53 = (text: string, seed = 0): string => {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(16).padStart(14, '0');
};

export const findingWindowStartMs = (d: Detection): number =>
  Math.floor(d.event.eventTimeMs / d.aggregationWindowMs) * d.aggregationWindowMs;

/** Deterministic: a retry or a re-run of the same data updates the finding instead of duplicating it. */
export const findingIdOf = (d: Detection): string => findingIdFor(d.ruleId, d.subject, findingWindowStartMs(d));

/** A finding's id: its rule, a hash of its subject, and the start of its window. */
export const findingIdFor = (ruleId: string, subject: string, windowStartMs: number): string =>
  `kms-decrypt-monitor/${ruleId}/${hash53(subject)}/${windowStartMs}`;

/** The rule a finding id names (`findingIdOf`'s second part). */
export const ruleIdOfFindingId = (id: string): string => id.split('/')[1] ?? id;

/** The rules finding ids name, in the order first named, each with how many of the ids name it. */
export const countByRule = (ids: readonly string[]): Map<string, number> => {
  const byRule = new Map<string, number>();
  for (const id of ids) {
    const rule = ruleIdOfFindingId(id);
    byRule.set(rule, (byRule.get(rule) ?? 0) + 1);
  }
  return byRule;
};

export const findingStateKey = (findingId: string): string => `finding#${findingId}`;

const activityAccountOf = (e: MonitorEvent): string | undefined =>
  e.recipientAccountId ?? e.principal.accountId ?? (e.kind === 'kms' ? e.keyAccountId : undefined);


const newFinding = (d: Detection, nowMs: number): FindingRecord => {
  const e = d.event;
  const p = e.principal;
  const s3Request = e.kind === 'kms' ? e.s3Request : undefined;
  return compact({
    kind: 'finding' as const,
    id: findingIdOf(d),
    ruleId: d.ruleId,
    severity: d.severity,
    subject: d.subject,
    windowStartMs: findingWindowStartMs(d),
    reason: d.reason,
    firstSeenMs: d.firstSeenMs ?? e.eventTimeMs,
    lastSeenMs: e.eventTimeMs,
    createdAtMs: nowMs,
    updatedAtMs: nowMs,
    eventCount: 0,
    eventIds: [],
    api: e.eventName,
    serviceName: e.kind === 'kms' ? 'kms.amazonaws.com' : e.kind === 's3' ? 's3.amazonaws.com' : e.eventSource,
    accountId: activityAccountOf(e),
    region: e.region,
    principal: compact({ id: p.id, type: p.type, arn: p.arn, sessionName: p.sessionName, accountId: p.accountId, accessKeyId: p.accessKeyId }),
    key: d.key ?? (e.kind === 'kms' && e.keyArn !== undefined ? compact({ arn: e.keyArn, alias: e.keyAlias, accountId: e.keyAccountId }) : undefined),
    s3: d.bucket !== undefined ? { bucket: d.bucket } : s3Of(e),
    resource: d.resource,
    // The real network of an S3-made call is the S3 request's; the KMS record only says "AWS Internal".
    network: compact({
      sourceIp: s3Request?.sourceIp ?? e.sourceIp,
      userAgent: s3Request?.userAgent ?? e.userAgent,
      vpcEndpointId: s3Request?.vpcEndpointId ?? e.vpcEndpointId,
    }),
    errorCode: e.errorCode,
    encryptionContext: e.kind === 'kms' ? e.encryptionContext : undefined,
    correlation: e.kind === 'kms' ? e.correlation : undefined,
    s3Request,
  }) as FindingRecord;
};

const s3Of = (e: MonitorEvent): FindingRecord['s3'] => {
  if (e.kind === 's3') return compact({ bucket: e.bucket, objectArn: e.objectArn, objectKey: e.objectKey });
  if (e.kind === 'kms' && e.s3Request !== undefined && e.s3Request.objectKey !== undefined) {
    return { bucket: e.s3Request.bucket, objectArn: `arn:${partitionOfRegion(e.region)}:s3:::${e.s3Request.bucket}/${e.s3Request.objectKey}`, objectKey: e.s3Request.objectKey };
  }
  if (e.kind === 'kms' && e.s3Arn !== undefined) {
    const { bucket, objectKey } = parseS3Arn(e.s3Arn);
    if (objectKey !== undefined) return { bucket, objectArn: e.s3Arn, objectKey };
    const service = s3ServiceOfArn(e.s3Arn);
    return service === undefined || service === 's3' ? { bucket } : { bucket, bucketArn: e.s3Arn };
  }
  return undefined;
};

/**
 * The finding as a more severe detection tells it (its reason, caller, network, key and object), with the count,
 * evidence and times gathered so far. What the caller added to the old headline (hashed context, key facts, a
 * suppression) is left out, to be worked out again for the new one. Without this, two selector changes of one trail,
 * the first dropping S3 data events (MEDIUM) and the second KMS events (HIGH), made a HIGH finding that told only of
 * S3 data events.
 */
const toldBy = (d: Detection, existing: FindingRecord): FindingRecord => ({
  ...newFinding(d, existing.createdAtMs),
  firstSeenMs: existing.firstSeenMs,
  lastSeenMs: existing.lastSeenMs,
  updatedAtMs: existing.updatedAtMs,
  eventCount: existing.eventCount,
  eventIds: [...existing.eventIds],
  ...(existing.related !== undefined ? { related: [...existing.related] } : {}),
});

/**
 * Folds a detection into its finding (new or existing). `nowMs` is the caller's clock; `UpdatedAt`
 * moves strictly forward even when the clock does not.
 */
export const mergeDetection = (existing: FindingRecord | undefined, d: Detection, nowMs: number): FindingRecord => {
  const e = d.event;
  const s3EventId = e.kind === 'kms' ? e.s3Request?.eventId : undefined;
  const known = new Set(existing?.eventIds);
  // A KMS call S3 made for a request whose data event the finding already counts is that same read or write.
  const sameRequest = s3EventId !== undefined && known.has(s3EventId);
  const fresh: string[] = [];
  for (const id of [e.eventId, ...(s3EventId !== undefined ? [s3EventId] : []), ...(d.relatedEventIds ?? [])]) {
    if (id === '' || known.has(id)) continue;
    known.add(id);
    fresh.push(id);
  }
  if (existing !== undefined && fresh.length === 0 && e.eventId !== '') return existing; // a replayed detection changes nothing
  // Returns a new record: callers (and the stores behind them) keep the version they had.
  const f: FindingRecord =
    existing === undefined
      ? newFinding(d, nowMs)
      : severityRank(d.severity) > severityRank(existing.severity)
        ? toldBy(d, existing)
        : { ...existing, eventIds: [...existing.eventIds] };
  if (!sameRequest) f.eventCount += d.eventCount ?? 1;
  for (const id of fresh) if (f.eventIds.length < MAX_EVIDENCE_IDS) f.eventIds.push(id);
  f.firstSeenMs = Math.min(f.firstSeenMs, d.firstSeenMs ?? e.eventTimeMs);
  f.lastSeenMs = Math.max(f.lastSeenMs, e.eventTimeMs);
  if (severityRank(d.severity) > severityRank(f.severity)) f.severity = d.severity;
  if (existing !== undefined) f.updatedAtMs = Math.max(nowMs, f.updatedAtMs + 1);
  return f;
};

const RANK: Readonly<Record<Severity, number>> = { INFORMATIONAL: 0, LOW: 1, MEDIUM: 2, HIGH: 3, CRITICAL: 4 };
export const severityRank = (s: Severity): number => RANK[s];

/**
 * For each finding of a batch's detections that shares an event with findings of other ids, those ids, in the order
 * the detections came: an event is one call or request, and several rules' findings on it are one story. Events
 * without an id (some lookups of Event history) relate nothing.
 */
export const relatedFindingsByEvent = (detections: readonly Detection[]): Map<string, string[]> => {
  const byEvent = new Map<string, string[]>();
  for (const d of detections) {
    if (d.event.eventId === '') continue;
    const id = findingIdOf(d);
    const ids = byEvent.get(d.event.eventId);
    if (ids === undefined) byEvent.set(d.event.eventId, [id]);
    else if (!ids.includes(id)) ids.push(id);
  }
  const related = new Map<string, string[]>();
  for (const ids of byEvent.values()) {
    if (ids.length < 2) continue;
    for (const id of ids) {
      const others = related.get(id) ?? [];
      for (const other of ids) if (other !== id && !others.includes(other)) others.push(other);
      related.set(id, others);
    }
  }
  return related;
};

/**
 * `f` naming `others` among its related findings, as a new record with a later `updatedAtMs` (Security Hub keeps a
 * re-import only then) when it names one it did not, up to MAX_RELATED_FINDINGS; `f` itself otherwise.
 */
export const withRelatedFindings = (f: FindingRecord, others: readonly string[], nowMs: number): FindingRecord => {
  const related = [...(f.related ?? [])];
  for (const id of others) if (id !== f.id && !related.includes(id) && related.length < MAX_RELATED_FINDINGS) related.push(id);
  if (related.length === (f.related?.length ?? 0)) return f;
  return { ...f, related, updatedAtMs: Math.max(nowMs, f.updatedAtMs + 1) };
};
