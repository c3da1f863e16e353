import type { FindingRecord } from '#core/findings/finding.ts';
import type { ObjectSource, SourceItem } from '#core/ports.ts';
import type { BatchOutcome, RecordProcessor } from './process-records.ts';

export interface LogObjectOutcome {
  readonly findings: readonly FindingRecord[];
  readonly records: number;
}

export interface IngestDeps {
  readonly source: ObjectSource;
  readonly processor: RecordProcessor;
  /** The same reader as `kdm replay` (cloudtrail-files.ts): bytes → batches and issues. */
  readonly parse: (file: string, bytes: Uint8Array, maxBytes: number) => Iterable<SourceItem>;
  readonly maxBytes: number;
  /** Told about each batch's outcome (the Lambda reports metrics per batch). */
  readonly onBatch?: (outcome: BatchOutcome) => void;
}

/**
 * Reads one CloudTrail log file from object storage and runs it through the same reader and engine as
 * `kdm replay`. Unreadable content is counted and reported by the processor; a failed read throws (SQS then
 * retries the message and finally keeps it in the dead-letter queue).
 */
export const ingestLogObject = async (object: { readonly bucket: string; readonly key: string }, deps: IngestDeps): Promise<LogObjectOutcome> => {
  const bytes = await deps.source.read(object.bucket, object.key, deps.maxBytes);
  const findings: FindingRecord[] = [];
  let records = 0;
  deps.processor.summary.files.read++;
  for (const item of deps.parse(`s3://${object.bucket}/${object.key}`, bytes, deps.maxBytes)) {
    if (item.type === 'issue') deps.processor.noteIssue(item.issue);
    else if (item.type === 'batch') {
      records += item.batch.records.length;
      const outcome = await deps.processor.processBatch(item.batch);
      deps.onBatch?.(outcome);
      findings.push(...outcome.findings);
    }
  }
  return { findings, records };
};
