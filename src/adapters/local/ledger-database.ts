import { DuckDBInstance, DuckDBTimestampValue, type DuckDBAppender, type DuckDBConnection } from '@duckdb/node-api';
import { InputError, MonitorError } from '#core/errors.ts';
import type { FindingRecord } from '#core/findings/finding.ts';
import { ledgerRowId, objectAccessId, type LedgerDelta } from '#core/ledger/ledger.ts';
import type { StoredEntry } from '#core/ports.ts';
import { decodeState, encodeState } from '../state-codec.ts';

/**
 * The local database (`kdm replay --db <file>`): one DuckDB file holding the decrypt ledger, the findings and
 * the engine's state (baselines, dedupe ids, waiting correlation halves). Replaying tomorrow's logs into the
 * same file continues both the history and the learning. A run commits at its checkpoints and at its end: a
 * run that fails leaves the file as its last checkpoint left it.
 */

export const LEDGER_SCHEMA_VERSION = '1';

// The ledger tables have no PRIMARY KEY: the folds keep one row per id by themselves, and DuckDB's key index
// made the file about a third larger (78 → 54 MB after 1M records) without making the folds faster. Files made
// by earlier versions keep their keys; the same statements work on both.
const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS kdm_meta (name VARCHAR PRIMARY KEY, value VARCHAR)`,
  `CREATE TABLE IF NOT EXISTS ledger (
     id VARCHAR NOT NULL, day DATE NOT NULL, key VARCHAR NOT NULL, key_alias VARCHAR, principal VARCHAR NOT NULL, principal_type VARCHAR,
     account VARCHAR, region VARCHAR, bucket VARCHAR, operation VARCHAR, path VARCHAR, calls BIGINT, errors BIGINT,
     first_seen TIMESTAMP, last_seen TIMESTAMP, objects VARCHAR[], objects_overflow BOOLEAN, event_ids VARCHAR[], findings BIGINT)`,
  `CREATE TABLE IF NOT EXISTS object_access (
     id VARCHAR NOT NULL, day DATE NOT NULL, key VARCHAR NOT NULL, principal VARCHAR NOT NULL, bucket VARCHAR, object_key VARCHAR, operation VARCHAR,
     calls BIGINT, first_seen TIMESTAMP, last_seen TIMESTAMP, source_ips VARCHAR[], sessions VARCHAR[], event_ids VARCHAR[], correlation VARCHAR)`,
  `CREATE TABLE IF NOT EXISTS findings (
     id VARCHAR PRIMARY KEY, rule_id VARCHAR, severity VARCHAR, subject VARCHAR, reason VARCHAR, first_seen TIMESTAMP, last_seen TIMESTAMP,
     updated_at TIMESTAMP, event_count BIGINT, event_ids VARCHAR[], key VARCHAR, principal VARCHAR, account VARCHAR, region VARCHAR,
     bucket VARCHAR, object_key VARCHAR, suppressed_by VARCHAR, record VARCHAR)`,
  `CREATE TABLE IF NOT EXISTS engine_state (k VARCHAR PRIMARY KEY, v VARCHAR)`,
  // Log files already replayed into this database (CloudTrail file names are unique): replaying one again
  // would count its calls twice once their dedupe ids have expired.
  `CREATE TABLE IF NOT EXISTS ingested_files (name VARCHAR, bytes BIGINT, ingested_at TIMESTAMP, records BIGINT, PRIMARY KEY (name, bytes))`,
];

const STAGING = [
  `CREATE TEMP TABLE ledger_stage (id VARCHAR, day VARCHAR, key VARCHAR, key_alias VARCHAR, principal VARCHAR, principal_type VARCHAR, account VARCHAR, region VARCHAR,
     bucket VARCHAR, operation VARCHAR, path VARCHAR, calls BIGINT, errors BIGINT, first_ms BIGINT, last_ms BIGINT, objects VARCHAR, objects_overflow BOOLEAN, event_ids VARCHAR, findings BIGINT)`,
  `CREATE TEMP TABLE access_stage (id VARCHAR, day VARCHAR, key VARCHAR, principal VARCHAR, bucket VARCHAR, object_key VARCHAR, operation VARCHAR, calls BIGINT,
     first_ms BIGINT, last_ms BIGINT, source_ips VARCHAR, sessions VARCHAR, event_ids VARCHAR, correlation VARCHAR)`,
];

/**
 * Folds the run's staged rows into the ledger at commit: rows of the same id (earlier runs' and this run's
 * batches) become one. Done once per run as a set operation, not as an upsert per batch.
 */
const MERGE_LEDGER = [
  `CREATE TEMP TABLE ledger_merged AS
   SELECT id, any_value(day) AS day, any_value(key) AS key, max(key_alias) AS key_alias, any_value(principal) AS principal, any_value(principal_type) AS principal_type,
     any_value(account) AS account, any_value(region) AS region, any_value(bucket) AS bucket, any_value(operation) AS operation, any_value(path) AS path,
     sum(calls) AS calls, sum(errors) AS errors, min(first_seen) AS first_seen, max(last_seen) AS last_seen,
     list_distinct(flatten(list(objects)))[1:200] AS objects,
     bool_or(objects_overflow) OR len(list_distinct(flatten(list(objects)))) > 200 AS objects_overflow,
     list_distinct(flatten(list(event_ids)))[1:10] AS event_ids, sum(findings) AS findings
   FROM (
     SELECT * FROM ledger WHERE id IN (SELECT id FROM ledger_stage)
     UNION ALL BY NAME
     SELECT id, CAST(day AS DATE) AS day, key, key_alias, principal, principal_type, account, region, bucket, operation, path, calls, errors,
       make_timestamp(first_ms * 1000) AS first_seen, make_timestamp(last_ms * 1000) AS last_seen, from_json(objects, '["VARCHAR"]') AS objects, objects_overflow,
       from_json(event_ids, '["VARCHAR"]') AS event_ids, findings FROM ledger_stage
   ) GROUP BY id`,
  `DELETE FROM ledger WHERE id IN (SELECT id FROM ledger_merged)`,
  `INSERT INTO ledger BY NAME SELECT * FROM ledger_merged`,
  `DROP TABLE ledger_merged`,
  `DELETE FROM ledger_stage`,
];

const MERGE_ACCESS = [
  `CREATE TEMP TABLE access_merged AS
   SELECT id, any_value(day) AS day, any_value(key) AS key, any_value(principal) AS principal, any_value(bucket) AS bucket, any_value(object_key) AS object_key,
     any_value(operation) AS operation, sum(calls) AS calls, min(first_seen) AS first_seen, max(last_seen) AS last_seen,
     list_distinct(flatten(list(source_ips)))[1:5] AS source_ips, list_distinct(flatten(list(sessions)))[1:5] AS sessions,
     list_distinct(flatten(list(event_ids)))[1:5] AS event_ids, any_value(correlation) AS correlation
   FROM (
     SELECT * FROM object_access WHERE id IN (SELECT id FROM access_stage)
     UNION ALL BY NAME
     SELECT id, CAST(day AS DATE) AS day, key, principal, bucket, object_key, operation, calls, make_timestamp(first_ms * 1000) AS first_seen,
       make_timestamp(last_ms * 1000) AS last_seen, from_json(source_ips, '["VARCHAR"]') AS source_ips, from_json(sessions, '["VARCHAR"]') AS sessions,
       from_json(event_ids, '["VARCHAR"]') AS event_ids, correlation FROM access_stage
   ) GROUP BY id`,
  `DELETE FROM object_access WHERE id IN (SELECT id FROM access_merged)`,
  `INSERT INTO object_access BY NAME SELECT * FROM access_merged`,
  `DROP TABLE access_merged`,
  `DELETE FROM access_stage`,
];

export interface LedgerDatabase {
  readonly file: string;
  readonly connection: DuckDBConnection;
  /** Every state entry a previous run left, to seed the in-memory store. */
  loadState(): Promise<Map<string, StoredEntry>>;
  /** Starts the run's transaction. */
  begin(): Promise<void>;
  /** Stages a batch's ledger rows (appended, cheap); `flushLedger`, `checkpoint` or `commit` folds them into the ledger. */
  appendLedger(delta: LedgerDelta): Promise<void>;
  /**
   * Enough ledger rows were written since the last checkpoint that the run should `checkpoint` (and so bound
   * DuckDB's memory): every 250,000 rows, or every `stateEntries` rows when the state is larger, so rewriting
   * the state never outweighs the ledger.
   */
  checkpointDue(stateEntries: number): boolean;
  /**
   * Commits what the run has done so far — the ledger, the engine state, the findings created or updated since the
   * last checkpoint and the files read — as one transaction, and goes on in a new one. A run that fails later
   * keeps this point; its re-run continues from it.
   */
  checkpoint(state: Iterable<readonly [string, StoredEntry]>, findings: readonly FindingRecord[]): Promise<void>;
  flushLedger(): Promise<void>;
  /** Whether a log file with this name and size was replayed into the database before (or earlier in this run). */
  hasFile(name: string, bytes: number): Promise<boolean>;
  noteFile(name: string, bytes: number, records: number, atMs: number): Promise<void>;
  /** Replaces the stored state with the run's final state and upserts the findings changed since the last checkpoint, then commits. */
  commit(state: Iterable<readonly [string, StoredEntry]>, findings: readonly FindingRecord[]): Promise<void>;
  rollback(): Promise<void>;
  close(): void;
}

/** Staged rows per fold: the fold's own memory grows with it. */
const STAGE_ROWS_PER_FOLD = 50_000;
/**
 * Ledger rows per checkpoint. Rows a transaction inserts stay in DuckDB's memory until it commits, so one
 * transaction for a whole long replay outgrows the memory limit (5M records did, after about 1.1M rows); each
 * commit costs a write of the changed tables, so not too often either.
 */
const LEDGER_ROWS_PER_CHECKPOINT = 250_000;

type Cell = string | number | boolean | null | Date | readonly string[];

/** Appends one row: numbers as BIGINT, dates as TIMESTAMP, string lists as JSON text (from_json reads them back when folded). */
const appendRow = (appender: DuckDBAppender, cells: readonly Cell[]): void => {
  for (const c of cells) {
    if (c === null) appender.appendNull();
    else if (typeof c === 'string') appender.appendVarchar(c);
    else if (typeof c === 'number') appender.appendBigInt(BigInt(c));
    else if (typeof c === 'boolean') appender.appendBoolean(c);
    else if (c instanceof Date) appender.appendTimestamp(new DuckDBTimestampValue(BigInt(c.getTime()) * 1000n));
    else appender.appendVarchar(JSON.stringify(c));
  }
  appender.endRow();
};

const describeOpenError = (file: string, error: unknown): MonitorError => {
  const message = error instanceof Error ? error.message : String(error);
  if (/lock/i.test(message)) return new InputError(file, undefined, 'the database is in use by another process (one kdm run per database file at a time)', { cause: error });
  if (/not a valid DuckDB database|Corrupt|IO Error/i.test(message)) return new InputError(file, undefined, `not a kdm database or damaged: ${message.split('\n')[0]}`, { cause: error });
  return new InputError(file, undefined, `cannot open the database: ${message.split('\n')[0]}`, { cause: error });
};

/** Opens (creating when absent) a kdm database file. `readOnly` for queries and reports. */
export const openLedgerDatabase = async (file: string, options: { readonly readOnly?: boolean; readonly memoryLimit?: string; readonly checkpointRows?: number } = {}): Promise<LedgerDatabase> => {
  const checkpointRows = options.checkpointRows ?? LEDGER_ROWS_PER_CHECKPOINT;
  let instance: DuckDBInstance;
  try {
    // A bounded buffer pool (DuckDB spills to disk beyond it), one thread: the replay beside it needs the rest.
    const settings = { memory_limit: options.memoryLimit ?? '128MB', preserve_insertion_order: 'false', threads: '1', ...(options.readOnly === true ? { access_mode: 'READ_ONLY' } : {}) };
    instance = await DuckDBInstance.create(file, settings);
  } catch (error) {
    throw describeOpenError(file, error);
  }
  const connection = await instance.connect();
  if (options.readOnly !== true) {
    for (const sql of SCHEMA) await connection.run(sql);
    const version = (await connection.runAndReadAll(`SELECT value FROM kdm_meta WHERE name = 'schema'`)).getRowObjectsJson()[0]?.value;
    if (version === undefined) await connection.run(`INSERT INTO kdm_meta VALUES ('schema', '${LEDGER_SCHEMA_VERSION}')`);
    else if (version !== LEDGER_SCHEMA_VERSION) throw new InputError(file, undefined, `database schema ${String(version)} is not the one this kdm writes (${LEDGER_SCHEMA_VERSION})`);
    for (const sql of STAGING) await connection.run(sql);
  } else {
    const tables = (await connection.runAndReadAll(`SELECT table_name FROM information_schema.tables`)).getRowObjectsJson().map((r) => r.table_name);
    if (!tables.includes('ledger')) throw new InputError(file, undefined, 'not a kdm database (no ledger table): build one with `kdm replay <logs> --db <file>`');
  }
  let inTransaction = false;
  let ledgerAppender: DuckDBAppender | undefined;
  let accessAppender: DuckDBAppender | undefined;
  let filesAppender: DuckDBAppender | undefined;
  let ingested: Set<string> | undefined;
  // Rows staged since the last fold (folded every STAGE_ROWS_PER_FOLD), and rows since the last checkpoint.
  let staged = 0;
  let sinceCheckpoint = 0;
  const flushLedger = async (): Promise<void> => {
    filesAppender?.closeSync();
    filesAppender = undefined;
    for (const appender of [ledgerAppender, accessAppender]) appender?.closeSync();
    ledgerAppender = undefined;
    accessAppender = undefined;
    for (const sql of [...MERGE_LEDGER, ...MERGE_ACCESS]) await connection.run(sql);
    staged = 0;
  };
  /** Folds the staged rows, replaces the stored state with `state` and upserts `findings`, inside the open transaction. */
  const writeRun = async (state: Iterable<readonly [string, StoredEntry]>, findings: readonly FindingRecord[]): Promise<void> => {
    await flushLedger();
    await connection.run('DELETE FROM engine_state');
    const st = await connection.createAppender('engine_state');
    for (const [k, v] of state) appendRow(st, [k, encodeState(v)]);
    st.flushSync();
    st.closeSync();
    for (const f of findings) {
      await connection.run(
        `INSERT OR REPLACE INTO findings VALUES ($id, $rule, $severity, $subject, $reason, make_timestamp(CAST($first AS BIGINT) * 1000),
           make_timestamp(CAST($last AS BIGINT) * 1000), make_timestamp(CAST($updated AS BIGINT) * 1000), CAST($count AS BIGINT),
           from_json($ids, '["VARCHAR"]'), $key, $principal, $account, $region, $bucket, $object, $suppressed, $record)`,
        {
          id: f.id, rule: f.ruleId, severity: f.severity, subject: f.subject, reason: f.reason, first: f.firstSeenMs, last: f.lastSeenMs, updated: f.updatedAtMs,
          count: f.eventCount, ids: JSON.stringify(f.eventIds), key: f.key?.arn ?? null, principal: f.principal.id, account: f.accountId ?? null, region: f.region,
          bucket: f.s3?.bucket ?? null, object: f.s3?.objectKey ?? null, suppressed: f.suppressedBy?.id ?? null, record: encodeState(f),
        },
      );
    }
  };
  return {
    file,
    connection,
    async loadState() {
      const out = new Map<string, StoredEntry>();
      const reader = await connection.runAndReadAll('SELECT k, v FROM engine_state');
      for (const [k, v] of reader.getRows() as [string, string][]) out.set(k, decodeState(v) as StoredEntry);
      return out;
    },
    async begin() {
      await connection.run('BEGIN TRANSACTION');
      inTransaction = true;
    },
    checkpointDue(stateEntries) {
      return sinceCheckpoint >= Math.max(checkpointRows, stateEntries);
    },
    async appendLedger(delta) {
      if (staged >= STAGE_ROWS_PER_FOLD) await flushLedger();
      staged += delta.rows.length + delta.accesses.length;
      sinceCheckpoint += delta.rows.length + delta.accesses.length;
      if (delta.rows.length > 0) {
        ledgerAppender ??= await connection.createAppender('ledger_stage', 'main', 'temp');
        for (const r of delta.rows) {
          appendRow(ledgerAppender, [
            ledgerRowId(r), r.day, r.key, r.keyAlias ?? null, r.principal, r.principalType, r.account, r.region, r.bucket, r.operation, r.path,
            r.count, r.errors, r.firstSeenMs, r.lastSeenMs, r.objects, r.objectsOverflow, r.eventIds, r.findings,
          ]);
        }
      }
      if (delta.accesses.length > 0) {
        accessAppender ??= await connection.createAppender('access_stage', 'main', 'temp');
        for (const a of delta.accesses) {
          appendRow(accessAppender, [
            objectAccessId(a), a.day, a.key, a.principal, a.bucket, a.objectKey, a.operation, a.count, a.firstSeenMs, a.lastSeenMs, a.sourceIps, a.sessions, a.eventIds, a.correlation,
          ]);
        }
      }
    },
    flushLedger,
    async hasFile(name, bytes) {
      if (ingested === undefined) {
        ingested = new Set();
        const reader = await connection.runAndReadAll('SELECT name, bytes FROM ingested_files');
        for (const [n, b] of reader.getRows()) ingested.add(`${String(n)}\u0000${String(b)}`);
      }
      return ingested.has(`${name}\u0000${bytes}`);
    },
    async noteFile(name, bytes, records, atMs) {
      ingested?.add(`${name}\u0000${bytes}`);
      filesAppender ??= await connection.createAppender('ingested_files');
      appendRow(filesAppender, [name, bytes, new Date(atMs), records]);
    },
    async checkpoint(state, findings) {
      await writeRun(state, findings);
      await connection.run('COMMIT');
      await connection.run('BEGIN TRANSACTION');
      sinceCheckpoint = 0;
    },
    async commit(state, findings) {
      await writeRun(state, findings);
      await connection.run('COMMIT');
      inTransaction = false;
    },
    async rollback() {
      if (inTransaction) await connection.run('ROLLBACK');
      inTransaction = false;
    },
    close() {
      connection.closeSync();
      instance.closeSync();
    },
  };
};
