import { parseS3Arn } from './events/s3-arn.ts';
import type { MonitorEvent, SkipReason } from './events/types.ts';
import type { FindingRecord } from './findings/finding.ts';

/** Per-key decrypt activity for the replay summary. */
export interface KeyActivity {
  calls: number;
  s3Made: number;
  direct: number;
  errors: number;
  readonly principals: Set<string>;
  readonly regions: Set<string>;
  alias?: string;
}

/** Counts for one run. Every record read ends in exactly one of processed, skipped or failed. */
export interface ActivitySummary {
  readonly records: { read: number; processed: number; skipped: number; failed: number; readonly skippedByReason: Map<string, number> };
  readonly files: { read: number; failed: number; skipped: number; readonly skippedByReason: Map<string, number> };
  /**
   * Events by kind (`network`: KMS's and S3's network activity events), and `late`: those that came more than the
   * lateness allowance behind their stream (EvaluationResult.late).
   */
  readonly events: { kms: number; s3: number; other: number; network: number; late: number };
  readonly kmsByOperation: Map<string, number>;
  readonly kmsErrors: Map<string, number>;
  readonly keys: Map<string, KeyActivity>;
  readonly principals: Map<string, number>;
  readonly s3ByOperation: Map<string, number>;
  /** S3-made KMS calls by how they matched their S3 request. */
  readonly correlations: { object: number; bucket: number; none: number };
  readonly buckets: Map<string, BucketActivity>;
  firstEventMs: number | undefined;
  lastEventMs: number | undefined;
}

/** Coverage of one bucket as seen in this run. */
export interface BucketActivity {
  dataEvents: number;
  bucketKeyCalls: number;
  objectKeyCalls: number;
  readonly sse: Map<string, number>;
}

export const createSummary = (): ActivitySummary => ({
  records: { read: 0, processed: 0, skipped: 0, failed: 0, skippedByReason: new Map() },
  files: { read: 0, failed: 0, skipped: 0, skippedByReason: new Map() },
  events: { kms: 0, s3: 0, other: 0, network: 0, late: 0 },
  kmsByOperation: new Map(),
  kmsErrors: new Map(),
  keys: new Map(),
  principals: new Map(),
  s3ByOperation: new Map(),
  correlations: { object: 0, bucket: 0, none: 0 },
  buckets: new Map(),
  firstEventMs: undefined,
  lastEventMs: undefined,
});

const bump = (m: Map<string, number>, k: string, by = 1): void => {
  m.set(k, (m.get(k) ?? 0) + by);
};

/** Most distinct keys tracked in the summary; further keys are counted under `(other keys)`. */
const MAX_TRACKED_KEYS = 10_000;
const MAX_TRACKED_PRINCIPALS = 50_000;

export const recordSkipped = (s: ActivitySummary, reason: SkipReason | string, count = 1): void => {
  s.records.skipped += count;
  bump(s.records.skippedByReason, reason, count);
};

export const fileSkipped = (s: ActivitySummary, reason: string): void => {
  s.files.skipped++;
  bump(s.files.skippedByReason, reason);
};

export const recordFailed = (s: ActivitySummary, count = 1): void => {
  s.records.failed += count;
};

const MAX_TRACKED_BUCKETS = 10_000;

const bucketActivity = (s: ActivitySummary, bucket: string): BucketActivity | undefined => {
  let b = s.buckets.get(bucket);
  if (b === undefined && s.buckets.size < MAX_TRACKED_BUCKETS) {
    b = { dataEvents: 0, bucketKeyCalls: 0, objectKeyCalls: 0, sse: new Map() };
    s.buckets.set(bucket, b);
  }
  return b;
};

export const recordCorrelations = (s: ActivitySummary, c: { readonly object: number; readonly bucket: number; readonly none: number }): void => {
  s.correlations.object += c.object;
  s.correlations.bucket += c.bucket;
  s.correlations.none += c.none;
};

/** Counts one accepted (not duplicate) event. */
export const recordEvent = (s: ActivitySummary, e: MonitorEvent): void => {
  s.records.processed++;
  s.firstEventMs = s.firstEventMs === undefined ? e.eventTimeMs : Math.min(s.firstEventMs, e.eventTimeMs);
  s.lastEventMs = s.lastEventMs === undefined ? e.eventTimeMs : Math.max(s.lastEventMs, e.eventTimeMs);
  if (e.kind === 'other') {
    s.events.other++;
    return;
  }
  if (e.kind === 'vpce') {
    s.events.network++;
    return;
  }
  if (e.kind === 's3') {
    s.events.s3++;
    bump(s.s3ByOperation, e.eventName);
    const b = e.isDataEvent ? bucketActivity(s, e.bucket) : undefined;
    if (b !== undefined) {
      b.dataEvents++;
      if (e.sseApplied !== undefined) bump(b.sse, e.sseApplied);
    }
    return;
  }
  s.events.kms++;
  bump(s.kmsByOperation, e.eventName);
  if (e.madeByS3 && e.s3Arn !== undefined) {
    const { bucket, objectKey } = parseS3Arn(e.s3Arn);
    const b = bucketActivity(s, bucket);
    if (b !== undefined) {
      if (objectKey === undefined) b.bucketKeyCalls++;
      else b.objectKeyCalls++;
    }
  }
  if (e.errorCode !== undefined) bump(s.kmsErrors, e.errorCode);
  if (s.principals.has(e.principal.id) || s.principals.size < MAX_TRACKED_PRINCIPALS) bump(s.principals, e.principal.id);
  const keyName = e.keyArn ?? (e.keyAlias !== undefined ? `(alias) ${e.keyAlias}` : undefined);
  if (keyName === undefined) return;
  let k = s.keys.get(keyName);
  if (k === undefined) {
    if (s.keys.size >= MAX_TRACKED_KEYS) return;
    k = { calls: 0, s3Made: 0, direct: 0, errors: 0, principals: new Set(), regions: new Set() };
    s.keys.set(keyName, k);
  }
  k.calls++;
  if (e.madeByS3) k.s3Made++;
  else if (!e.madeByAwsService) k.direct++;
  if (e.errorCode !== undefined) k.errors++;
  if (k.principals.size < 1000) k.principals.add(e.principal.id);
  k.regions.add(e.region);
  if (e.keyAlias !== undefined) k.alias ??= e.keyAlias;
};

const sortedObject = (m: ReadonlyMap<string, number>): Record<string, number> => {
  const out: Record<string, number> = Object.create(null) as Record<string, number>;
  for (const [k, v] of [...m].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))) out[k] = v;
  return out;
};

export const topEntries = (m: ReadonlyMap<string, number>, n: number): [string, number][] =>
  [...m].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, n);

/** A replay's window of event time (`--from`, `--to`, `--learn-from`), as its summary records it. */
export interface SummaryWindow {
  readonly fromMs?: number | undefined;
  readonly toMs?: number | undefined;
  readonly learnFromMs?: number | undefined;
  /** With `learnFromMs`: the findings last seen before `fromMs`, the learning's, left out. */
  readonly findingsLeftOut?: number | undefined;
  /** With `toMs`: a trail's files delivered more than this after it were not read (`--delivery-lag`; absent: all were). */
  readonly deliveryLagMs?: number | undefined;
  /** `deliveryLagMs` as the user gave it (`1d`), for people. */
  readonly deliveryLagText?: string | undefined;
}

const isoOrNull = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());

const windowToJson = (w: SummaryWindow): Record<string, unknown> => ({
  from: isoOrNull(w.fromMs),
  to: isoOrNull(w.toMs),
  learnFrom: isoOrNull(w.learnFromMs),
  ...(w.findingsLeftOut !== undefined ? { findingsLeftOut: w.findingsLeftOut } : {}),
  ...(w.toMs !== undefined ? { deliveryLagMs: w.deliveryLagMs ?? null } : {}),
});

/** The `--summary json` document. Its keys are a documented, stable contract (see README). */
export const summaryToJson = (
  s: ActivitySummary,
  findings: readonly FindingRecord[],
  extra: { readonly durationMs?: number; readonly expiredSuppressions?: readonly string[]; readonly window?: SummaryWindow } = {},
): Record<string, unknown> => {
  const active = findings.filter((f) => f.suppressedBy === undefined);
  const byRule = new Map<string, number>();
  const bySeverity = new Map<string, number>();
  for (const f of active) {
    bump(byRule, f.ruleId);
    bump(bySeverity, f.severity);
  }
  return {
    records: {
      read: s.records.read,
      processed: s.records.processed,
      skipped: s.records.skipped,
      failed: s.records.failed,
      skippedByReason: sortedObject(s.records.skippedByReason),
    },
    files: { read: s.files.read, failed: s.files.failed, skipped: s.files.skipped, skippedByReason: sortedObject(s.files.skippedByReason) },
    events: { ...s.events, firstEventTime: s.firstEventMs === undefined ? null : new Date(s.firstEventMs).toISOString(), lastEventTime: s.lastEventMs === undefined ? null : new Date(s.lastEventMs).toISOString() },
    kms: { byOperation: sortedObject(s.kmsByOperation), errors: sortedObject(s.kmsErrors) },
    s3: { byOperation: sortedObject(s.s3ByOperation) },
    keys: [...s.keys]
      .sort((a, b) => b[1].calls - a[1].calls || a[0].localeCompare(b[0]))
      .map(([key, k]) => ({
        key,
        alias: k.alias ?? null,
        calls: k.calls,
        s3Made: k.s3Made,
        direct: k.direct,
        errors: k.errors,
        distinctPrincipals: k.principals.size,
        regions: [...k.regions].sort(),
      })),
    topPrincipals: topEntries(s.principals, 10).map(([principal, calls]) => ({ principal, calls })),
    correlation: { ...s.correlations },
    buckets: [...s.buckets]
      .sort((a, b) => a[0].localeCompare(b[0]))
      .map(([bucket, b]) => ({
        bucket,
        dataEventsSeen: b.dataEvents > 0,
        dataEvents: b.dataEvents,
        bucketKeysInUse: b.bucketKeyCalls > 0,
        s3MadeKmsCalls: b.bucketKeyCalls + b.objectKeyCalls,
        sseTypes: sortedObject(b.sse),
      })),
    findings: {
      total: active.length,
      byRule: sortedObject(byRule),
      bySeverity: sortedObject(bySeverity),
      suppressed: findings.length - active.length,
    },
    ...(extra.window !== undefined ? { window: windowToJson(extra.window) } : {}),
    ...(extra.expiredSuppressions !== undefined ? { expiredSuppressions: [...extra.expiredSuppressions] } : {}),
    ...(extra.durationMs !== undefined ? { durationMs: Math.round(extra.durationMs) } : {}),
  };
};
