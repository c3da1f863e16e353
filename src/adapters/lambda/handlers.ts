import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import type { Context, ScheduledEvent, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { InputError, type FindingFailure } from '#core/errors.ts';
import type { FindingRecord } from '#core/findings/finding.ts';
import type { Clock, FindingRefusal, FindingSink, ReadIssue, RefusalPolicy, RefusedFinding } from '#core/ports.ts';
import { ingestLogObject, type IngestDeps } from '#app/ingest-log-objects.ts';
import type { BatchOutcome, RecordProcessor } from '#app/process-records.ts';

/** The state store as the live path needs it: batches committed atomically, findings through an outbox. */
export interface LiveStateStore {
  atomically<T>(label: string, work: () => Promise<T>): Promise<T>;
  unpublishedFindings(limit?: number): Promise<FindingRecord[]>;
  markPublished(findings: readonly FindingRecord[]): Promise<void>;
  noteRefusals(refusals: readonly FindingRefusal[], policy: RefusalPolicy): Promise<readonly RefusedFinding[]>;
}

export interface LiveDeps {
  readonly processor: RecordProcessor;
  readonly store: LiveStateStore;
  /** Security Hub (through the import roles when configured). */
  readonly sink: FindingSink;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly clock: Clock;
  /** How late CloudTrail may deliver: the scheduled flush decides calls that waited longer for their S3 request. */
  readonly latenessMs: number;
  /** Severities published at once; the rest wait for a full Security Hub call or the flush. Default HIGH, CRITICAL. */
  readonly urgentSeverities?: ReadonlySet<string>;
  /** How long the scheduled flush lets a new finding wait for others to fill a call (default 5 minutes). */
  readonly findingHoldMs?: number;
}

/** Findings published per invocation at most; the rest wait in the outbox for the next one. */
const OUTBOX_PER_INVOCATION = 1_000;

/**
 * When Security Hub has refused one version of a finding (InvalidInput, too large) this many times, the first at
 * least an hour before, it leaves the outbox: read oldest first, the outbox would otherwise keep sending it with
 * every urgent finding, and enough of them would fill every invocation's 1,000. Whole calls that fail (access
 * denied, Security Hub not enabled, throttling) are not refusals of a finding: those findings wait for the fix.
 */
const GIVE_UP_AFTER = { refusals: 5, ms: 60 * 60_000 } as const;

/** Counts and logs what one engine pass did: never the events themselves. */
const report = (deps: LiveDeps, outcome: BatchOutcome): void => {
  const { metrics } = deps;
  metrics.addMetric('RecordsProcessed', MetricUnit.Count, outcome.processed);
  metrics.addMetric('RecordsDuplicate', MetricUnit.Count, outcome.duplicates);
  // Events more than the correlation lateness behind their stream: delivery delayed past what matching waits for.
  metrics.addMetric('EventsLate', MetricUnit.Count, outcome.late);
  metrics.addMetric('RecordsSkipped', MetricUnit.Count, outcome.skipped);
  metrics.addMetric('RecordsFailed', MetricUnit.Count, outcome.failed);
  metrics.addMetric('CorrelationObject', MetricUnit.Count, outcome.correlations.object);
  metrics.addMetric('CorrelationBucket', MetricUnit.Count, outcome.correlations.bucket);
  metrics.addMetric('CorrelationNone', MetricUnit.Count, outcome.correlations.none);
  for (const f of outcome.findings) {
    const single = metrics.singleMetric();
    single.addDimensions({ RuleId: f.ruleId, Severity: f.severity });
    single.addMetric('Findings', MetricUnit.Count, 1);
  }
  deps.logger.info('batch evaluated', {
    processed: outcome.processed,
    duplicates: outcome.duplicates,
    late: outcome.late,
    failed: outcome.failed,
    findings: outcome.findings.map((f) => ({ id: f.id, ruleId: f.ruleId, severity: f.severity, suppressed: f.suppressedBy !== undefined })),
    skipped: outcome.skipped,
    correlations: outcome.correlations,
  });
};

/** Problems with single records: named by file and index, without their content. */
export const logIssue = (logger: Logger) => (issue: ReadIssue): void => {
  if (issue.kind === 'record-skipped') return;
  logger.warn(issue.kind === 'file-note' ? 'file read, with a note' : 'record not processed', { kind: issue.kind, file: issue.origin.file, index: issue.origin.index, reason: issue.message });
};

/** A full Security Hub call (BatchImportFindings takes 100 findings). */
const FULL_IMPORT = 100;
const DEFAULT_URGENT: ReadonlySet<string> = new Set(['HIGH', 'CRITICAL']);
const DEFAULT_FINDING_HOLD_MS = 5 * 60_000;

/**
 * What to publish of the outbox (oldest first). An unsuppressed urgent finding (HIGH, CRITICAL) sends all that
 * waits, at once. Otherwise findings go out in full calls of 100, and the scheduled flush (`force`) also sends
 * those that have waited `holdMs` since they were found (or were updates of a published finding): so a burst
 * fills calls, and a quiet finding waits at most the hold plus one flush period.
 */
export const findingsToPublish = (waiting: readonly FindingRecord[], options: { readonly force: boolean; readonly nowMs: number; readonly holdMs: number; readonly urgentSeverities: ReadonlySet<string> }): readonly FindingRecord[] => {
  const oldestFirst = [...waiting].sort((a, b) => a.updatedAtMs - b.updatedAtMs);
  if (oldestFirst.some((f) => options.urgentSeverities.has(f.severity) && f.suppressedBy === undefined)) return oldestFirst;
  const fullCalls = Math.floor(oldestFirst.length / FULL_IMPORT) * FULL_IMPORT;
  const heldLongEnough = (f: FindingRecord): boolean => options.force && f.createdAtMs <= options.nowMs - options.holdMs;
  return oldestFirst.filter((f, i) => i < fullCalls || heldLongEnough(f));
};

/**
 * Publishes what the outbox holds (this batch's findings and any an earlier invocation could not deliver), as
 * `findingsToPublish` chooses. A refusal is logged and counted; the findings stay in the outbox for the next
 * invocation or the flush.
 */
export const publishOutbox = async (deps: LiveDeps, options: { readonly force?: boolean } = {}): Promise<{ published: number; failed: number }> => {
  const unpublished = await deps.store.unpublishedFindings(OUTBOX_PER_INVOCATION);
  const waiting = findingsToPublish(unpublished, {
    force: options.force === true,
    nowMs: deps.clock.nowMs(),
    holdMs: deps.findingHoldMs ?? DEFAULT_FINDING_HOLD_MS,
    urgentSeverities: deps.urgentSeverities ?? DEFAULT_URGENT,
  });
  if (waiting.length === 0) return { published: 0, failed: 0 };
  try {
    await deps.sink.put(waiting);
    await deps.store.markPublished(waiting);
    deps.metrics.addMetric('FindingsPublished', MetricUnit.Count, waiting.length);
    return { published: waiting.length, failed: 0 };
  } catch (error) {
    const failures = (error as { failures?: readonly FindingFailure[] }).failures;
    const failedIds = new Set(failures?.map((f) => f.id) ?? waiting.map((f) => f.id));
    const delivered = failures === undefined ? [] : waiting.filter((f) => !failedIds.has(f.id));
    if (delivered.length > 0) await deps.store.markPublished(delivered);
    deps.metrics.addMetric('FindingsPublished', MetricUnit.Count, delivered.length);
    deps.metrics.addMetric('FindingPublishFailures', MetricUnit.Count, failedIds.size);
    deps.logger.error('findings not published; they stay in the outbox and are retried', { error: error as Error, failed: failedIds.size });
    await setAsideRefused(deps, waiting, failures ?? []);
    return { published: delivered.length, failed: failedIds.size };
  }
};

/** Counts Security Hub's refusals of findings, and tells of each finding that left the outbox for them. */
const setAsideRefused = async (deps: LiveDeps, waiting: readonly FindingRecord[], failures: readonly FindingFailure[]): Promise<void> => {
  const byId = new Map(waiting.map((f) => [f.id, f]));
  const refusals: FindingRefusal[] = [];
  for (const failure of failures) {
    const finding = byId.get(failure.id);
    if (failure.refused === true && finding !== undefined) refusals.push({ finding, code: failure.code, ...(failure.message !== undefined ? { message: failure.message } : {}) });
  }
  if (refusals.length === 0) return;
  const setAside = await deps.store.noteRefusals(refusals, { nowMs: deps.clock.nowMs(), giveUpAfter: GIVE_UP_AFTER });
  deps.metrics.addMetric('FindingsRefused', MetricUnit.Count, setAside.length);
  for (const { finding, code, message, refusals: times, firstRefusedMs } of setAside) {
    deps.logger.error('Security Hub keeps refusing a finding: it left the outbox (gpk "refused" in the state table); its next update will be sent again', {
      findingId: finding.id,
      ruleId: finding.ruleId,
      severity: finding.severity,
      accountId: finding.accountId,
      region: finding.region,
      reason: finding.reason,
      refusal: { code, message, times, since: new Date(firstRefusedMs).toISOString() },
    });
  }
};

/**
 * A message the handler cannot read, logged by message id with the reason. Thrown, it is a partial batch failure:
 * SQS retries it and then keeps it in the dead-letter queue.
 */
const unreadableMessage = (deps: LiveDeps, message: SQSRecord, reason: string, cause?: unknown): InputError => {
  deps.logger.warn('message not readable', { messageId: message.messageId, reason });
  return new InputError(`sqs message ${message.messageId}`, undefined, reason, cause !== undefined ? { cause } : undefined);
};

const withMetrics = async <T>(deps: LiveDeps, context: Context, work: () => Promise<T>): Promise<T> => {
  deps.logger.addContext(context);
  try {
    return await work();
  } finally {
    deps.metrics.publishStoredMetrics();
  }
};

/**
 * SQS batch of EventBridge "AWS API Call via CloudTrail" envelopes → one engine pass, committed atomically.
 * A message that is not an envelope is a partial batch failure (retried, then kept in the dead-letter queue);
 * if the pass itself fails nothing was committed and the whole batch is retried.
 */
export const createCloudTrailEventHandler = (deps: LiveDeps) =>
  async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
    withMetrics(deps, context, async () => {
      const records: unknown[] = [];
      // Each record's position in event.Records: problems are logged as `sqs:<request id>` record <position>.
      const positions: number[] = [];
      const positionOf = new Map(event.Records.map((m, i) => [m.messageId, i]));
      const parse = async (message: SQSRecord): Promise<void> => {
        let reason: string | undefined;
        let detail: unknown;
        try {
          detail = (JSON.parse(message.body) as { detail?: unknown } | null)?.detail;
          if (detail === null || typeof detail !== 'object') reason = 'body is not an EventBridge envelope with a CloudTrail record in `detail`';
        } catch {
          reason = 'body is not JSON';
        }
        if (reason !== undefined) throw unreadableMessage(deps, message, reason);
        records.push(detail);
        positions.push(positionOf.get(message.messageId) ?? -1);
      };
      const response = await processPartialResponse(event, parse, new BatchProcessor(EventType.SQS), { context, throwOnFullBatchFailure: false });
      deps.metrics.addMetric('BatchItemFailures', MetricUnit.Count, response.batchItemFailures.length);
      if (records.length > 0) {
        const outcome = await deps.store.atomically(context.awsRequestId, () => deps.processor.processBatch({ file: `sqs:${context.awsRequestId}`, records, indexes: positions, firstIndex: 0 }));
        report(deps, outcome);
      }
      await publishOutbox(deps);
      return response;
    });

/** SQS batch of S3 ObjectCreated notifications for CloudTrail log files → the replay reader and the engine. */
export const createTrailLogObjectHandler = (deps: LiveDeps & Omit<IngestDeps, 'processor'>, objectsIn: (body: string) => readonly { bucket: string; key: string }[]) =>
  async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
    withMetrics(deps, context, async () => {
      const ingest = async (message: SQSRecord): Promise<void> => {
        let objects: readonly { bucket: string; key: string }[];
        try {
          objects = objectsIn(message.body);
        } catch (error) {
          throw unreadableMessage(deps, message, (error as Error).message, error);
        }
        for (const object of objects) {
          const done = await deps.store.atomically(`${context.awsRequestId}:${message.messageId}`, () => ingestLogObject(object, { ...deps, onBatch: (outcome) => report(deps, outcome) }));
          deps.metrics.addMetric('LogObjectsRead', MetricUnit.Count, 1);
          deps.logger.info('log object read', { bucket: object.bucket, key: object.key, records: done.records, findings: done.findings.length });
        }
      };
      const response = await processPartialResponse(event, ingest, new BatchProcessor(EventType.SQS), { context, throwOnFullBatchFailure: false });
      deps.metrics.addMetric('BatchItemFailures', MetricUnit.Count, response.batchItemFailures.length);
      await publishOutbox(deps);
      return response;
    });

/**
 * Scheduled: decides the KMS calls that waited longer than the lateness allowance for their S3 request (a
 * quiet stream's watermark does not move), then publishes what the outbox still holds.
 */
export const createFlushHandler = (deps: LiveDeps) =>
  async (_event: ScheduledEvent | Record<string, never>, context: Context): Promise<{ decided: number; published: number; failed: number }> =>
    withMetrics(deps, context, async () => {
      const decideBeforeMs = deps.clock.nowMs() - deps.latenessMs;
      const outcome = await deps.store.atomically(context.awsRequestId, () => deps.processor.flush({ decideBeforeMs }));
      report(deps, outcome);
      const published = await publishOutbox(deps, { force: true });
      return { decided: outcome.decidedKmsCalls.length, ...published };
    });

