import type { RecordOrigin } from './events/types.ts';
import type { FindingRecord } from './findings/finding.ts';
import type { PrincipalFindings } from './findings/principal-findings.ts';
import type { LedgerRow, ObjectAccess } from './ledger/ledger.ts';
import type { DeliveredRecord, StateEntry } from './state.ts';

/**
 * What a state store holds: engine state, aggregated findings, each principal's recent findings and (in AWS) the
 * decrypt ledger.
 */
export type StoredEntry = StateEntry | FindingRecord | PrincipalFindings | LedgerRow | ObjectAccess;

/** Persistence for engine state. Loads and saves whole batches: never one round trip per record. */
export interface StateStore {
  load(keys: readonly string[]): Promise<ReadonlyMap<string, StoredEntry>>;
  /** Writes entries; an undefined value deletes the key. */
  save(changes: ReadonlyMap<string, StoredEntry | undefined>): Promise<void>;
  /**
   * Correlation slots whose earliest KMS deadline the watermark of their stream has passed, or is at or
   * before `decideBeforeMs` (`Infinity` at the end of a replay). The engine decides them in the next batch.
   */
  takeDue(options?: { readonly decideBeforeMs?: number }): Promise<ReadonlyMap<string, StoredEntry>>;
  /** Drops state that event time has moved past (dedupe entries, closed windows, stale slots). Optional. */
  expire?(watermarkMs: number): Promise<void>;
  /**
   * Every entry, readable synchronously: a store that holds its state in memory offers it, and a batch then
   * reads from it directly instead of planning and loading its keys first. Optional.
   */
  readonly entries?: ReadonlyMap<string, StoredEntry>;
  /**
   * Writes one entry at once (undefined deletes it), for a store that offers `entries`: a batch then writes
   * through instead of collecting its changes for `save`. Its writes are not undone if the batch fails, so only
   * a store whose run ends on a failure offers it (the replay's). Optional.
   */
  readonly write?: (key: string, entry: StoredEntry | undefined) => void;
  /**
   * `WorkingState.markSeen` done by the store itself, for a store that offers `write`: the same entry as
   * writing its `stateKey.seen` key, without building that key. Optional.
   */
  readonly markSeen?: (record: DeliveredRecord, expiresAtMs: number) => boolean;
}

/** Where findings go: a JSONL file, Security Hub, EventBridge, ... */
export interface FindingSink {
  put(findings: readonly FindingRecord[]): Promise<void>;
}

/** A run of raw records from one input, with where each came from. */
export interface RecordBatch {
  readonly file: string;
  readonly records: readonly unknown[];
  /** Index of each record within its file; when absent, records are numbered from `firstIndex`. */
  readonly indexes?: readonly number[];
  readonly firstIndex: number;
}

/**
 * Something that could not be read, named by file and (when known) record; or, as a `file-note`, something a reader
 * of a file that was read should know (it holds one page of a longer lookup), which no count includes.
 */
export interface ReadIssue {
  readonly kind: 'record-failed' | 'record-skipped' | 'file-failed' | 'file-skipped' | 'file-note';
  readonly origin: RecordOrigin | { readonly file: string; readonly index?: undefined };
  readonly message: string;
  /** For record-skipped and file-skipped: the skip reason counted in the summary (`records.skippedByReason`, `files.skippedByReason`). */
  readonly reason?: string;
}

export type SourceItem =
  | { readonly type: 'batch'; readonly batch: RecordBatch }
  | { readonly type: 'issue'; readonly issue: ReadIssue }
  | { readonly type: 'file-done'; readonly file: string; readonly bytes: number };

export interface Clock {
  nowMs(): number;
}

/** Reads whole objects (CloudTrail log files) from a store such as S3. */
export interface ObjectSource {
  /** The object's bytes; rejects with a clear error beyond `maxBytes`. */
  read(bucket: string, key: string, maxBytes: number): Promise<Uint8Array>;
}

/** One refusal of a finding by its destination (the destination's own error code and message). */
export interface FindingRefusal {
  readonly finding: FindingRecord;
  readonly code: string;
  readonly message?: string;
}

/** When a live store stops offering a finding that keeps being refused (see the DynamoDB store's `noteRefusals`). */
export interface RefusalPolicy {
  readonly nowMs: number;
  /** Refused this many times, the first at least `ms` ago: sending it again is not going to help. */
  readonly giveUpAfter: { readonly refusals: number; readonly ms: number };
}

export interface RefusedFinding extends FindingRefusal {
  readonly refusals: number;
  readonly firstRefusedMs: number;
}
