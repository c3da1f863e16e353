import { DuckDBInstance, DuckDBTimestampValue, type DuckDBAppender, type DuckDBConnection, type Json } from '@duckdb/node-api';
import { DatabaseMemoryError, InputError, MonitorError } from '#core/errors.ts';
import type { FindingRecord } from '#core/findings/finding.ts';
import { mergeLedgerRow, mergeObjectAccess, PathMap, type LedgerDelta, type LedgerRow, type ObjectAccess } from '#core/ledger/ledger.ts';
import type { StoredEntry } from '#core/ports.ts';
import { decodeState, encodeState } from '../state-codec.ts';
import { DEFAULT_WRITE_MEMORY_MB, QUERY_MEMORY_MB } from './database-budget.ts';
import { pathState } from './file-paths.ts';
import { WrittenIds } from './written-ids.ts';

/**
 * The local database (`kdm replay --db <file>`): one DuckDB file holding the decrypt ledger, the findings and
 * the engine's state (baselines, dedupe ids, waiting correlation halves). Replaying tomorrow's logs into the
 * same file continues both the history and the learning. A run commits at its checkpoints and at its end: a
 * run that fails leaves the file as its last checkpoint left it.
 */

/**
 * 2: the ledger tables lost their `id` column. A row's identity is its columns (day, key, principal, ...), which
 * the id only repeated as one long string: in object_access it was a third of the table (200 characters a row)
 * and of the time DuckDB took to store a write. A file of schema 1 is upgraded when opened for writing
 * (`dropIdColumns`); read, it answers the same queries.
 *
 * 3: the engine state's dedupe entries are stored DEDUPE_ENTRIES_PER_ROW to a row (`packDedupeEntries`). A file of
 * schema 2 needs no change: its state is read either way, and written packed at the next checkpoint. The number
 * changes so that an earlier kdm refuses the file rather than reading packed rows as entries.
 *
 * 4: ledger rows keep a ReEncrypt's destination key (`destination_key`, '' for every other call), part of a row's
 * identity. A file of an earlier schema gets the column, '' in every row it holds, when opened for writing; read, it
 * answers as if it had it (`readAsCurrentSchema`). An earlier kdm refuses the file, whose writes would leave it out.
 *
 * 5: ledger rows and object accesses keep the network their calls came through (`network`: a VPC endpoint's id,
 * `public`, or '' where the records say neither; `ledgerNetworkOf`), part of their identity. A file of an earlier
 * schema gets the columns, '' in every row it holds, as schema 4's; its rows then stand for calls of no known network.
 */
export const LEDGER_SCHEMA_VERSION = '5';

/** The schemas a kdm of this one opens for writing, and upgrades. */
const EARLIER_SCHEMAS: readonly string[] = ['1', '2', '3', '4'];

// The ledger tables have no PRIMARY KEY: writes keep one row per identity by themselves (they merge with the stored
// row of the same identity), and DuckDB's key index made the file about a third larger (78 → 54 MB after 1M
// records). Files made by earlier versions had keys, on the id the upgrade drops.
//
// The engine state is rewritten whole at every checkpoint, so its table is dropped and made again, without a key:
// the keys come from one map, and keeping an index of them cost most of a checkpoint (the final commit of a
// 1M-record replay took 1.2 s with it, 0.2 s without).
//
// Most of the state is dedupe entries (72,000 of 72,500 after a 1M-record replay), each an event's key and when it
// expires: they are stored DEDUPE_ENTRIES_PER_ROW to a row, as one JSON list, under keys no state key has (they
// start with a letter). One row an entry, writing the state took 140-165 ms and reading it back 350-370 ms (a
// reviver call for every value), against 42-48 and 72-84 ms so.
const ENGINE_STATE_COLUMNS = '(k VARCHAR, v VARCHAR)';
const DEDUPE_ROW_PREFIX = '#seen#';
const DEDUPE_ENTRIES_PER_ROW = 1_000;
const META_TABLE = `CREATE TABLE IF NOT EXISTS kdm_meta (name VARCHAR PRIMARY KEY, value VARCHAR)`;
const LEDGER_TABLES = {
  ledger: `CREATE TABLE IF NOT EXISTS ledger (
     day DATE NOT NULL, key VARCHAR NOT NULL, key_alias VARCHAR, principal VARCHAR NOT NULL, principal_type VARCHAR,
     account VARCHAR, region VARCHAR, bucket VARCHAR, operation VARCHAR, path VARCHAR, calls BIGINT, errors BIGINT,
     first_seen TIMESTAMP, last_seen TIMESTAMP, objects VARCHAR[], objects_overflow BOOLEAN, event_ids VARCHAR[], findings BIGINT,
     destination_key VARCHAR DEFAULT '', network VARCHAR DEFAULT '')`,
  object_access: `CREATE TABLE IF NOT EXISTS object_access (
     day DATE NOT NULL, key VARCHAR NOT NULL, principal VARCHAR NOT NULL, bucket VARCHAR, object_key VARCHAR, operation VARCHAR,
     calls BIGINT, first_seen TIMESTAMP, last_seen TIMESTAMP, source_ips VARCHAR[], sessions VARCHAR[], event_ids VARCHAR[], correlation VARCHAR,
     network VARCHAR DEFAULT '')`,
} as const;
type LedgerTableName = keyof typeof LEDGER_TABLES;
const SCHEMA = [
  META_TABLE,
  LEDGER_TABLES.ledger,
  // Schema 4's and 5's columns, added to a table an earlier schema made (after its other columns, as the table above has them).
  `ALTER TABLE ledger ADD COLUMN IF NOT EXISTS destination_key VARCHAR DEFAULT ''`,
  `ALTER TABLE ledger ADD COLUMN IF NOT EXISTS network VARCHAR DEFAULT ''`,
  LEDGER_TABLES.object_access,
  `ALTER TABLE object_access ADD COLUMN IF NOT EXISTS network VARCHAR DEFAULT ''`,
  `CREATE TABLE IF NOT EXISTS findings (
     id VARCHAR PRIMARY KEY, rule_id VARCHAR, severity VARCHAR, subject VARCHAR, reason VARCHAR, first_seen TIMESTAMP, last_seen TIMESTAMP,
     updated_at TIMESTAMP, event_count BIGINT, event_ids VARCHAR[], key VARCHAR, principal VARCHAR, account VARCHAR, region VARCHAR,
     bucket VARCHAR, object_key VARCHAR, suppressed_by VARCHAR, record VARCHAR)`,
  `CREATE TABLE IF NOT EXISTS engine_state ${ENGINE_STATE_COLUMNS}`,
  // Log files already replayed into this database (CloudTrail file names are unique): replaying one again
  // would count its calls twice once their dedupe ids have expired.
  `CREATE TABLE IF NOT EXISTS ingested_files (name VARCHAR, bytes BIGINT, ingested_at TIMESTAMP, records BIGINT, PRIMARY KEY (name, bytes))`,
];

/**
 * Where merged rows wait to be inserted: string lists as JSON text, since appending them as DuckDB lists costs
 * a native value per list (three times the time of this copy). Made once, when the database opens, and emptied
 * after each write: a stage made for each write and dropped after it kept its blocks until the run's next
 * commit, so a run with many writes between commits (small writes, a large engine state) ran out of its budget
 * (a 1M-record replay handing over 5,000 rows a write failed with 32 MiB; it now peaks where 10,000 do).
 * Binding each write's rows as one JSON parameter instead (`unnest(from_json($1, ...))`, in statements of 1,000
 * rows) kept less in DuckDB's own accounting but more outside it: a 1M-record replay peaked at 540 MB instead
 * of 460 MB, and ran slower.
 */
const STAGE = {
  ledger: `CREATE TEMP TABLE ledger_stage (day VARCHAR, key VARCHAR, key_alias VARCHAR, principal VARCHAR, principal_type VARCHAR, account VARCHAR,
     region VARCHAR, bucket VARCHAR, operation VARCHAR, path VARCHAR, calls BIGINT, errors BIGINT, first_ms BIGINT, last_ms BIGINT, objects VARCHAR,
     objects_overflow BOOLEAN, event_ids VARCHAR, findings BIGINT, destination_key VARCHAR, network VARCHAR)`,
  // An access's day, key, principal, bucket, operation, correlation and network, which a write's accesses share, once
  // a write in `object_access_dims`; its numbers as doubles (no BigInt made for each) and its three sample lists
  // as one JSON text: six calls into DuckDB an access instead of thirteen (stageAccesses).
  object_access: `CREATE TEMP TABLE object_access_stage (dims INTEGER, object_key VARCHAR, calls DOUBLE, first_ms DOUBLE, last_ms DOUBLE, samples VARCHAR)`,
  object_access_dims: `CREATE TEMP TABLE object_access_dims (id INTEGER, day VARCHAR, key VARCHAR, principal VARCHAR, bucket VARCHAR, operation VARCHAR, correlation VARCHAR, network VARCHAR)`,
};
const INSERT_STAGED = {
  ledger: `INSERT INTO ledger BY NAME
     SELECT CAST(day AS DATE) AS day, key, key_alias, principal, principal_type, account, region, bucket, operation, path, calls, errors,
       make_timestamp(first_ms * 1000) AS first_seen, make_timestamp(last_ms * 1000) AS last_seen, from_json(objects, '["VARCHAR"]') AS objects, objects_overflow,
       from_json(event_ids, '["VARCHAR"]') AS event_ids, findings, destination_key, network FROM ledger_stage`,
  object_access: `INSERT INTO object_access BY NAME
     SELECT CAST(d.day AS DATE) AS day, d.key, d.principal, d.bucket, s.object_key, d.operation, CAST(s.calls AS BIGINT) AS calls,
       make_timestamp(CAST(s.first_ms AS BIGINT) * 1000) AS first_seen, make_timestamp(CAST(s.last_ms AS BIGINT) * 1000) AS last_seen,
       s.samples[1] AS source_ips, s.samples[2] AS sessions, s.samples[3] AS event_ids, d.correlation, d.network
     FROM (SELECT dims, object_key, calls, first_ms, last_ms, from_json(samples, '[["VARCHAR"]]') AS samples FROM object_access_stage) s
       JOIN object_access_dims d ON s.dims = d.id`,
};

/**
 * The row ids of the stored rows a write finds by their identity, which it then reads and deletes by (made once,
 * like the stages). Over a 1M-record replay, finding, reading, converting and deleting them took about 630 ms that
 * way, against about 890 ms for a select of every column and a delete, each joined on the ids of schema 1
 * (docs/performance.md).
 */
const FOUND_ROWIDS_STAGE = 'CREATE TEMP TABLE found_rowids (found BIGINT)';

/** Findings created or updated since the last checkpoint wait here to be upserted in one statement (made once, like the stages). */
const FINDINGS_STAGE = `CREATE TEMP TABLE findings_stage (id VARCHAR, rule_id VARCHAR, severity VARCHAR, subject VARCHAR, reason VARCHAR, first_ms BIGINT, last_ms BIGINT,
  updated_ms BIGINT, event_count BIGINT, event_ids VARCHAR, key VARCHAR, principal VARCHAR, account VARCHAR, region VARCHAR, bucket VARCHAR, object_key VARCHAR,
  suppressed_by VARCHAR, record VARCHAR)`;
const UPSERT_STAGED_FINDINGS = `INSERT OR REPLACE INTO findings
  SELECT id, rule_id, severity, subject, reason, make_timestamp(first_ms * 1000), make_timestamp(last_ms * 1000), make_timestamp(updated_ms * 1000), event_count,
    from_json(event_ids, '["VARCHAR"]'), key, principal, account, region, bucket, object_key, suppressed_by, record
  FROM findings_stage`;

/** Columns of the two ledger tables as a write reads them back (in the order of their stages). */
const LEDGER_COLUMNS = `day::VARCHAR AS day, key, key_alias, principal, principal_type, account, region, bucket, operation, path, calls, errors,
  epoch_ms(first_seen) AS first_ms, epoch_ms(last_seen) AS last_ms, objects, objects_overflow, event_ids, findings, destination_key, network`;
const ACCESS_COLUMNS = `day::VARCHAR AS day, key, principal, bucket, object_key, operation, calls, epoch_ms(first_seen) AS first_ms, epoch_ms(last_seen) AS last_ms,
  source_ips, sessions, event_ids, correlation, network`;

export interface LedgerDatabase {
  readonly file: string;
  /** Ledger rows written between checkpoints (at least; see `checkpointDue`). */
  readonly checkpointRows: number;
  readonly connection: DuckDBConnection;
  /** Every state entry a previous run left, to seed the in-memory store. */
  loadState(): Promise<Map<string, StoredEntry>>;
  /** Starts the run's transaction. */
  begin(): Promise<void>;
  /**
   * Adds ledger rows and object accesses to what the database holds, inside the open transaction: a row whose
   * identity is stored already is merged with it (counts added, first and last seen widened, samples joined).
   */
  writeLedger(delta: LedgerDelta): Promise<void>;
  /**
   * Enough ledger rows were written since the last checkpoint that the run should `checkpoint` (and so bound
   * DuckDB's memory): every 50,000 rows, or every `stateEntries` rows when the state is larger, so rewriting
   * the state never outweighs the ledger.
   */
  checkpointDue(stateEntries: number): boolean;
  /**
   * Commits what the run has done so far — the ledger, the engine state, the findings created or updated since the
   * last checkpoint and the files read — as one transaction, and goes on in a new one. A run that fails later
   * keeps this point; its re-run continues from it.
   */
  checkpoint(state: Iterable<readonly [string, StoredEntry]>, findings: readonly FindingRecord[]): Promise<void>;
  /** Whether a log file with this name and size was replayed into the database before (or earlier in this run). */
  hasFile(name: string, bytes: number): Promise<boolean>;
  noteFile(name: string, bytes: number, records: number, atMs: number): Promise<void>;
  /** Replaces the stored state with the run's final state and upserts the findings changed since the last checkpoint, then commits. */
  commit(state: Iterable<readonly [string, StoredEntry]>, findings: readonly FindingRecord[]): Promise<void>;
  rollback(): Promise<void>;
  close(): void;
}

/**
 * Ledger rows per checkpoint. Rows a transaction writes stay in DuckDB's memory until it commits (about 700
 * bytes a row, more than once over while a write merges), so a checkpoint every 50,000 rows bounds that; each
 * commit rewrites the engine state, so not much more often either.
 */
const LEDGER_ROWS_PER_CHECKPOINT = 50_000;

/**
 * Rows a write stages and inserts at once, at most: what DuckDB needs for one grows with it (20,000 object accesses
 * with 1,000-character keys needed more than its 32 MiB budget, 10,000 did not). A larger delta goes in parts.
 */
const WRITE_ROWS = 10_000;

/** DuckDB's ways of saying a step needed more memory than its budget (a statement, an appender). */
const OUT_OF_MEMORY = /Out of Memory Error|could not allocate block|failed to pin block|failed to allocate data/i;

/** A ledger day as the rows name it (and DuckDB reads as a DATE literal). */
const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** A cell of an appended row: numbers are BIGINT, Dates TIMESTAMP, string lists JSON text (`from_json` reads them back). */
type Cell = string | number | boolean | null | Date | readonly string[];

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

const ledgerCells = (r: LedgerRow): Cell[] => [
  r.day, r.key, r.keyAlias ?? null, r.principal, r.principalType, r.account, r.region, r.bucket, r.operation, r.path,
  r.count, r.errors, r.firstSeenMs, r.lastSeenMs, r.objects, r.objectsOverflow, r.eventIds, r.findings, r.destinationKey ?? '', r.network ?? '',
];

const stageLedgerRows = async (connection: DuckDBConnection, rows: readonly LedgerRow[]): Promise<void> => {
  const appender = await connection.createAppender('ledger_stage', 'main', 'temp');
  for (const r of rows) appendRow(appender, ledgerCells(r));
  appender.closeSync();
};

/** Stages a write's object accesses (see STAGE.object_access): each its dims' id, object key, numbers and samples. */
const stageAccesses = async (connection: DuckDBConnection, rows: readonly ObjectAccess[]): Promise<void> => {
  const ids = new PathMap<number>();
  const dims: ObjectAccess[] = [];
  const path = ['', '', '', '', '', '', ''];
  let previous: ObjectAccess | undefined;
  let id = -1;
  const stage = await connection.createAppender('object_access_stage', 'main', 'temp');
  for (const a of rows) {
    // Accesses come in runs of the same dims (one principal's reads): the last one's id while they are the same strings.
    const network = a.network ?? '';
    if (
      previous === undefined || a.day !== previous.day || a.key !== previous.key || a.principal !== previous.principal || a.bucket !== previous.bucket ||
      a.operation !== previous.operation || a.correlation !== previous.correlation || network !== (previous.network ?? '')
    ) {
      path[0] = a.day;
      path[1] = a.key;
      path[2] = a.principal;
      path[3] = a.bucket;
      path[4] = a.operation;
      path[5] = a.correlation;
      path[6] = network;
      const known = ids.get(path);
      if (known !== undefined) id = known;
      else {
        id = dims.length;
        ids.set(path, id);
        dims.push(a);
      }
      previous = a;
    }
    stage.appendInteger(id);
    stage.appendVarchar(a.objectKey);
    stage.appendDouble(a.count);
    stage.appendDouble(a.firstSeenMs);
    stage.appendDouble(a.lastSeenMs);
    stage.appendVarchar(JSON.stringify([a.sourceIps, a.sessions, a.eventIds]));
    stage.endRow();
  }
  stage.closeSync();
  const dimsStage = await connection.createAppender('object_access_dims', 'main', 'temp');
  for (let i = 0; i < dims.length; i++) {
    const a = dims[i] as ObjectAccess;
    dimsStage.appendInteger(i);
    for (const text of [a.day, a.key, a.principal, a.bucket, a.operation, a.correlation, a.network ?? '']) dimsStage.appendVarchar(text);
    dimsStage.endRow();
  }
  dimsStage.closeSync();
};

type StoredRow = Record<string, Json>;
const text = (v: Json | undefined): string => (typeof v === 'string' ? v : '');
const texts = (v: Json | undefined): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
const count = (v: Json | undefined): number => Number(v ?? 0);

/** A ledger row as stored (BIGINTs arrive as strings, lists as arrays). */
const storedLedgerRow = (r: StoredRow): LedgerRow => ({
  kind: 'ledger', day: text(r.day), key: text(r.key), ...(typeof r.key_alias === 'string' ? { keyAlias: r.key_alias } : {}), principal: text(r.principal),
  principalType: text(r.principal_type), account: text(r.account), region: text(r.region), bucket: text(r.bucket), operation: text(r.operation),
  path: text(r.path) as LedgerRow['path'], count: count(r.calls), errors: count(r.errors), firstSeenMs: count(r.first_ms), lastSeenMs: count(r.last_ms),
  objects: texts(r.objects), objectsOverflow: r.objects_overflow === true, eventIds: texts(r.event_ids), findings: count(r.findings),
  destinationKey: text(r.destination_key), network: text(r.network),
});

const storedObjectAccess = (r: StoredRow): ObjectAccess => ({
  kind: 'object-access', day: text(r.day), key: text(r.key), principal: text(r.principal), bucket: text(r.bucket), objectKey: text(r.object_key),
  operation: text(r.operation), count: count(r.calls), firstSeenMs: count(r.first_ms), lastSeenMs: count(r.last_ms), sourceIps: texts(r.source_ips),
  sessions: texts(r.sessions), eventIds: texts(r.event_ids), correlation: text(r.correlation), network: text(r.network),
});

/** What a write does with each ledger table's rows. */
interface TableWrites<Row extends { readonly day: string }> {
  readonly table: LedgerTableName;
  /** The columns a write reads stored rows back with, as `stored` takes them. */
  readonly columns: string;
  readonly stored: (r: StoredRow) => Row;
  readonly merge: (prior: Row | undefined, delta: Row) => Row;
  /** Appends a write's rows to the table's stage tables (`stages`), which INSERT_STAGED reads and the write then empties. */
  readonly stage: (connection: DuckDBConnection, rows: readonly Row[]) => Promise<void>;
  readonly stages: readonly string[];
  /**
   * The columns of a row's identity, and the row's values of them in the same order: a write merges the rows of
   * the same values, and looks up the stored rows it merges with by these, staged in `<table>_lookup`. An object
   * access's object key comes last: nearly every access has one of its own, and a path map (`PathMap`) then holds
   * it as an entry of its operation's map rather than in a map of its own.
   */
  readonly identity: readonly string[];
  readonly identityOf: (r: Row) => string[];
}

const LEDGER_WRITES: TableWrites<LedgerRow> = {
  table: 'ledger', columns: LEDGER_COLUMNS, stored: storedLedgerRow, merge: mergeLedgerRow, stage: stageLedgerRows, stages: ['ledger_stage'],
  identity: ['day', 'key', 'principal', 'account', 'region', 'bucket', 'operation', 'path', 'destination_key', 'network'],
  identityOf: (r) => [r.day, r.key, r.principal, r.account, r.region, r.bucket, r.operation, r.path, r.destinationKey ?? '', r.network ?? ''],
};
const ACCESS_WRITES: TableWrites<ObjectAccess> = {
  table: 'object_access', columns: ACCESS_COLUMNS, stored: storedObjectAccess, merge: mergeObjectAccess, stage: stageAccesses, stages: ['object_access_stage', 'object_access_dims'],
  identity: ['day', 'key', 'principal', 'bucket', 'operation', 'network', 'object_key'],
  identityOf: (a) => [a.day, a.key, a.principal, a.bucket, a.operation, a.network ?? '', a.objectKey],
};

/** Where a write stages the identities it looks up (made once, like the stages). */
const lookupStage = (t: Pick<TableWrites<never>, 'table' | 'identity'>): string =>
  `CREATE TEMP TABLE ${t.table}_lookup (${t.identity.map((c) => `${c} ${c === 'day' ? 'DATE' : 'VARCHAR'}`).join(', ')})`;

/**
 * The stored rows of the staged identities (`t`: the table, `w`: its lookup stage). Writes store '' rather than
 * NULL, but the schema lets most of these columns be NULL: NULL matches NULL.
 */
const sameIdentity = (t: Pick<TableWrites<never>, 'identity'>): string => t.identity.map((c) => `t.${c} IS NOT DISTINCT FROM w.${c}`).join(' AND ');

/**
 * The state's rows (key, encoded value): dedupe entries DEDUPE_ENTRIES_PER_ROW to a row, as a JSON list of each
 * one's key and expiry in turn, and every other entry a row of its own.
 */
function* packDedupeEntries(state: Iterable<readonly [string, StoredEntry]>): Generator<readonly [string, string]> {
  let packed: (string | number)[] = [];
  let rows = 0;
  for (const [k, v] of state) {
    // An infinite expiry would not survive JSON: such an entry, if ever made, keeps a row of its own.
    if (v.kind === 'seen' && Number.isFinite(v.expiresAtMs)) {
      packed.push(k, v.expiresAtMs);
      if (packed.length < 2 * DEDUPE_ENTRIES_PER_ROW) continue;
      yield [`${DEDUPE_ROW_PREFIX}${rows++}`, JSON.stringify(packed)];
      packed = [];
    } else {
      if (k.startsWith(DEDUPE_ROW_PREFIX)) throw new Error(`state key ${k} is of the form the database keeps for packed dedupe entries`);
      yield [k, encodeState(v)];
    }
  }
  if (packed.length > 0) yield [`${DEDUPE_ROW_PREFIX}${rows}`, JSON.stringify(packed)];
}

/** Adds the dedupe entries of one packed row (see `packDedupeEntries`) to `into`; a row that is not such a list is refused. */
const unpackDedupeEntries = (file: string, k: string, v: string, into: Map<string, StoredEntry>): void => {
  const damaged = (why: string): InputError => new InputError(file, undefined, `the engine state's row ${JSON.stringify(k)} is damaged: ${why}`);
  let packed: unknown;
  try {
    packed = JSON.parse(v);
  } catch (cause) {
    throw damaged(`not JSON (${(cause as Error).message})`);
  }
  if (!Array.isArray(packed) || packed.length % 2 !== 0) throw damaged('not a list of dedupe keys and expiries');
  for (let i = 0; i < packed.length; i += 2) {
    const key: unknown = packed[i];
    const expiresAtMs: unknown = packed[i + 1];
    if (typeof key !== 'string' || typeof expiresAtMs !== 'number') throw damaged(`entry ${i / 2} is not a dedupe key and its expiry`);
    into.set(key, { kind: 'seen', expiresAtMs });
  }
};

/** The ledger tables' columns later schemas added, each '' in the rows of a file made before it (schemas 4 and 5). */
const LATER_COLUMNS: Readonly<Record<LedgerTableName, readonly string[]>> = { ledger: ['destination_key', 'network'], object_access: ['network'] };

/**
 * Lets the queries of this kdm read a file an earlier schema made, opened read-only (so not upgraded): each ledger
 * table is read through a temporary view of the same name that adds the columns it lacks (LATER_COLUMNS), '' in
 * every row, as an upgrade would. (The view names the file's own table by its catalog: `main.ledger` would name the
 * view itself.)
 */
const readAsCurrentSchema = async (connection: DuckDBConnection): Promise<void> => {
  const catalog = String((await connection.runAndReadAll('SELECT current_database()')).getRows()[0]?.[0] ?? '');
  for (const table of Object.keys(LATER_COLUMNS) as LedgerTableName[]) {
    const columns = await connection.runAndReadAll(`SELECT column_name FROM duckdb_columns() WHERE database_name = current_database() AND schema_name = 'main' AND table_name = '${table}'`);
    const present = new Set(columns.getRows().map(([name]) => name));
    const missing = LATER_COLUMNS[table].filter((c) => !present.has(c));
    if (missing.length === 0) continue;
    await connection.run(`CREATE TEMP VIEW ${table} AS SELECT *, ${missing.map((c) => `'' AS ${c}`).join(', ')} FROM "${catalog.replaceAll('"', '""')}".main.${table}`);
  }
};

/**
 * Upgrades ledger tables that still have the `id` column of schema 1 (or of files made before the schema was
 * numbered), each in a transaction of its own: the table is renamed, made again as this version writes it, and
 * filled with its rows but their ids. Returns the tables upgraded, with their rows.
 */
const dropIdColumns = async (connection: DuckDBConnection): Promise<{ readonly table: LedgerTableName; readonly rows: number }[]> => {
  const upgraded: { table: LedgerTableName; rows: number }[] = [];
  for (const table of Object.keys(LEDGER_TABLES) as LedgerTableName[]) {
    const columns = await connection.runAndReadAll(`SELECT column_name FROM duckdb_columns() WHERE database_name = current_database() AND schema_name = 'main' AND table_name = '${table}'`);
    if (!columns.getRows().some(([name]) => name === 'id')) continue;
    await connection.run('BEGIN TRANSACTION');
    try {
      await connection.run(`ALTER TABLE ${table} RENAME TO ${table}_schema_1`);
      await connection.run(LEDGER_TABLES[table]);
      const rows = (await connection.run(`INSERT INTO ${table} BY NAME SELECT * EXCLUDE (id) FROM ${table}_schema_1`)).rowsChanged;
      await connection.run(`DROP TABLE ${table}_schema_1`);
      await connection.run('COMMIT');
      upgraded.push({ table, rows });
    } catch (error) {
      await connection.run('ROLLBACK');
      throw error;
    }
  }
  return upgraded;
};

/**
 * What keeps a database path from being opened, told plainly before DuckDB tries: its own messages for these
 * ("Cannot open database ... in read-only mode", "Could not read from file ...: Is a directory") read like a
 * damaged file. Undefined when the path looks openable; DuckDB then says what else is wrong.
 */
const pathProblem = (file: string, readOnly: boolean): string | undefined => {
  if (file === ':memory:') return undefined;
  const state = pathState(file);
  if (state.kind === 'directory') return 'is a directory, not a database file';
  if (readOnly && (state.kind === 'absent' || state.kind === 'no-directory')) return 'no such database file: make one with `kdm replay <logs> --db <file>`';
  if (state.kind === 'no-directory') return `cannot create the database: the directory ${state.directory} does not exist`;
  return undefined;
};

/** What the operating system refused, as opposed to what DuckDB found wrong in the file's contents. */
const SYSTEM_REFUSAL = /No such file or directory|Permission denied|Read-only file system|Is a directory|Not a directory/i;

const describeOpenError = (file: string, error: unknown): MonitorError => {
  const message = error instanceof Error ? error.message : String(error);
  const firstLine = message.split('\n')[0] ?? message;
  if (/lock/i.test(message)) return new InputError(file, undefined, 'the database is in use by another process (one kdm run per database file at a time)', { cause: error });
  if (SYSTEM_REFUSAL.test(message)) return new InputError(file, undefined, `cannot open the database: ${firstLine}`, { cause: error });
  if (/not a valid DuckDB database|Corrupt|IO Error/i.test(message)) return new InputError(file, undefined, `not a kdm database or damaged: ${firstLine}`, { cause: error });
  return new InputError(file, undefined, `cannot open the database: ${firstLine}`, { cause: error });
};

/** Opens (creating when absent) a kdm database file. `readOnly` for queries and reports. */
export interface OpenLedgerDatabaseOptions {
  /** For queries and reports. */
  readonly readOnly?: boolean;
  /** DuckDB's memory budget in MiB (default DEFAULT_WRITE_MEMORY_MB, or QUERY_MEMORY_MB read-only). */
  readonly memoryLimitMb?: number;
  /** How the user gives the database a larger budget than `limitMb`, told when a step needs more (e.g. the command's option). */
  readonly memoryAdvice?: (limitMb: number) => string;
  /** Ledger rows between checkpoints (see `checkpointDue`). */
  readonly checkpointRows?: number;
  /** Told what opening for writing changed in a file an earlier version made (its schema upgraded). */
  readonly onUpgrade?: (note: string) => void;
}

export const openLedgerDatabase = async (file: string, options: OpenLedgerDatabaseOptions = {}): Promise<LedgerDatabase> => {
  const checkpointRows = options.checkpointRows ?? LEDGER_ROWS_PER_CHECKPOINT;
  const memoryLimitMb = options.memoryLimitMb ?? (options.readOnly === true ? QUERY_MEMORY_MB : DEFAULT_WRITE_MEMORY_MB);
  const problem = pathProblem(file, options.readOnly === true);
  if (problem !== undefined) throw new InputError(file, undefined, problem);
  let instance: DuckDBInstance;
  try {
    // A bounded buffer pool (DuckDB spills to disk beyond it), one thread: the replay beside it needs the rest.
    const settings = { memory_limit: `${memoryLimitMb}MiB`, preserve_insertion_order: 'false', threads: '1', ...(options.readOnly === true ? { access_mode: 'READ_ONLY' } : {}) };
    instance = await DuckDBInstance.create(file, settings);
  } catch (error) {
    throw describeOpenError(file, error);
  }
  const connection = await instance.connect();
  if (options.readOnly !== true) {
    await connection.run(META_TABLE);
    const version = (await connection.runAndReadAll(`SELECT value FROM kdm_meta WHERE name = 'schema'`)).getRowObjectsJson()[0]?.value;
    if (version !== undefined && !EARLIER_SCHEMAS.includes(String(version)) && version !== LEDGER_SCHEMA_VERSION) {
      throw new InputError(file, undefined, `database schema ${String(version)} is not the one this kdm writes (${LEDGER_SCHEMA_VERSION})`);
    }
    const upgraded = await dropIdColumns(connection);
    for (const sql of SCHEMA) await connection.run(sql);
    if (version !== LEDGER_SCHEMA_VERSION) await connection.run(`INSERT OR REPLACE INTO kdm_meta VALUES ('schema', '${LEDGER_SCHEMA_VERSION}')`);
    if (upgraded.length > 0) {
      const tables = upgraded.map((u) => `${u.table} (${u.rows} row${u.rows === 1 ? '' : 's'})`).join(' and ');
      options.onUpgrade?.(`upgraded to schema ${LEDGER_SCHEMA_VERSION}: ${tables} kept, without their id column (a row's identity is its columns)`);
    } else if (version === '2') {
      const perRow = DEDUPE_ENTRIES_PER_ROW.toLocaleString('en-US');
      options.onUpgrade?.(`upgraded to schema ${LEDGER_SCHEMA_VERSION}: the engine state's dedupe entries are stored ${perRow} to a row from the next checkpoint on, and ledger rows keep a ReEncrypt's destination key, and they and object records the network of their calls (an earlier kdm refuses the file)`);
    } else if (version === '3') {
      options.onUpgrade?.(`upgraded to schema ${LEDGER_SCHEMA_VERSION}: ledger rows keep a ReEncrypt's destination key, so that kdm history --key lists it under both keys, and they and object records the network of their calls (an earlier kdm refuses the file)`);
    } else if (version === '4') {
      options.onUpgrade?.(`upgraded to schema ${LEDGER_SCHEMA_VERSION}: ledger rows and object records keep the network of their calls from now on, for kdm history --network and --group-by network; those already held name none (an earlier kdm refuses the file)`);
    }
    // Outside any transaction, so that a checkpoint's commit or a rollback never takes them away.
    for (const sql of [STAGE.ledger, STAGE.object_access, STAGE.object_access_dims, lookupStage(LEDGER_WRITES), lookupStage(ACCESS_WRITES), FOUND_ROWIDS_STAGE, FINDINGS_STAGE]) await connection.run(sql);
  } else {
    const tables = (await connection.runAndReadAll(`SELECT table_name FROM information_schema.tables`)).getRowObjectsJson().map((r) => r.table_name);
    if (!tables.includes('ledger')) throw new InputError(file, undefined, 'not a kdm database (no ledger table): build one with `kdm replay <logs> --db <file>`');
    await readAsCurrentSchema(connection);
  }
  let inTransaction = false;
  /** `step`, with DuckDB's out-of-memory errors told as what the user can change (the budget). */
  const withinBudget = <Args extends unknown[], Result>(doing: string, step: (...args: Args) => Promise<Result>) =>
    async (...args: Args): Promise<Result> => {
      try {
        return await step(...args);
      } catch (error) {
        if (!OUT_OF_MEMORY.test(error instanceof Error ? error.message : String(error))) throw error;
        throw new DatabaseMemoryError(file, memoryLimitMb, doing, { cause: error, ...(options.memoryAdvice !== undefined ? { advice: options.memoryAdvice(memoryLimitMb) } : {}) });
      }
    };
  let filesAppender: DuckDBAppender | undefined;
  let ingested: Set<string> | undefined;
  let sinceCheckpoint = 0;
  // What a write looks up: ids of a day the table held when opened, and ids this run may have written before.
  const lookups = { ledger: { days: new Set<string>(), written: new WrittenIds() }, object_access: { days: new Set<string>(), written: new WrittenIds() } };
  if (options.readOnly !== true) {
    for (const table of ['ledger', 'object_access'] as const) {
      const days = (await connection.runAndReadAll(`SELECT DISTINCT day::VARCHAR AS day FROM ${table}`)).getRows();
      for (const [day] of days) lookups[table].days.add(String(day));
    }
  }

  /**
   * Merges rows with the stored rows of the same identity: reads those (one join), deletes them, inserts the merged
   * rows. Only rows that may be stored are looked up, and only among the rows of their days, so a write costs the
   * same whether the table holds a day or a year: writing 10,000 new object accesses into 1M stored ones took
   * 330-347 ms when every row was looked up in the whole table, 184-205 ms so, as into an empty table. Returns the
   * rows written.
   */
  const writeTable = async <Row extends { readonly day: string }>(t: TableWrites<Row>, delta: readonly Row[]): Promise<number> => {
    if (delta.length === 0) return 0;
    const { days, written } = lookups[t.table];
    // One row per identity: the same one twice in a delta is merged before it meets the stored row. Found by the
    // identity's values, which the delta's rows share with the engine's events (their hashes kept), where a string
    // made of them all (`ledgerRowId`) took about 15% of the writes' time (280 of 1,900 ms in a 1M-record replay).
    const rows: Row[] = [];
    const indexOf = new PathMap<number>();
    // The identities of the rows that may be stored: a day the table held when opened, or one this run may have written.
    const maybeStored: string[][] = [];
    let firstDay = '9999-12-31';
    let lastDay = '0000-01-01';
    for (const r of delta) {
      const identity = t.identityOf(r);
      const i = indexOf.get(identity);
      if (i !== undefined) {
        rows[i] = t.merge(rows[i], r);
        continue;
      }
      indexOf.set(identity, rows.length);
      rows.push(r);
      // Each identity is added once, with its first row: a write that fails ends the run, so none is added in vain.
      if (!written.add(identity) && !days.has(r.day)) continue;
      maybeStored.push(identity);
      if (r.day < firstDay) firstDay = r.day;
      if (r.day > lastDay) lastDay = r.day;
    }
    if (maybeStored.length > 0) {
      const lookup = await connection.createAppender(`${t.table}_lookup`, 'main', 'temp');
      for (const identity of maybeStored) appendRow(lookup, identity);
      lookup.closeSync();
      // A row's day is part of its identity, so its stored row is among those of the days looked up; DuckDB skips the others by their min/max.
      const within = DAY.test(firstDay) && DAY.test(lastDay) ? `day BETWEEN DATE '${firstDay}' AND DATE '${lastDay}'` : 'day IS NOT NULL';
      // The stored rows' row ids first, from their identity alone: a select of every column joined on it read the
      // lists of every row of the days looked up. Within the write's transaction, a row id names the same row.
      const found = (await connection.run(`INSERT INTO found_rowids SELECT t.rowid FROM ${t.table} t SEMI JOIN ${t.table}_lookup w ON ${sameIdentity(t)} WHERE t.${within}`)).rowsChanged;
      await connection.run(`DELETE FROM ${t.table}_lookup`);
      if (found > 0) {
        const reader = await connection.runAndReadAll(`SELECT ${t.columns} FROM ${t.table} WHERE ${within} AND rowid IN (SELECT found FROM found_rowids)`);
        for (const r of reader.getRowObjectsJson() as StoredRow[]) {
          const stored = t.stored(r);
          const i = indexOf.get(t.identityOf(stored));
          if (i !== undefined) rows[i] = t.merge(stored, rows[i] as Row);
        }
        await connection.run(`DELETE FROM ${t.table} WHERE ${within} AND rowid IN (SELECT found FROM found_rowids)`);
        await connection.run('DELETE FROM found_rowids');
      }
    }
    await t.stage(connection, rows);
    await connection.run(INSERT_STAGED[t.table]);
    for (const stage of t.stages) await connection.run(`DELETE FROM ${stage}`);
    return rows.length;
  };

  const writeLedger = async (delta: LedgerDelta): Promise<void> => {
    for (let i = 0; i < delta.rows.length; i += WRITE_ROWS) sinceCheckpoint += await writeTable(LEDGER_WRITES, delta.rows.slice(i, i + WRITE_ROWS));
    for (let i = 0; i < delta.accesses.length; i += WRITE_ROWS) sinceCheckpoint += await writeTable(ACCESS_WRITES, delta.accesses.slice(i, i + WRITE_ROWS));
  };

  /** Replaces the stored state with `state`, upserts `findings` and ends the files' appender, inside the open transaction. */
  const writeRun = async (state: Iterable<readonly [string, StoredEntry]>, findings: readonly FindingRecord[]): Promise<void> => {
    filesAppender?.closeSync();
    filesAppender = undefined;
    await connection.run('DROP TABLE engine_state');
    await connection.run(`CREATE TABLE engine_state ${ENGINE_STATE_COLUMNS}`);
    const st = await connection.createAppender('engine_state');
    for (const [k, v] of packDedupeEntries(state)) appendRow(st, [k, v]);
    st.flushSync();
    st.closeSync();
    if (findings.length > 0) {
      const staged = await connection.createAppender('findings_stage', 'main', 'temp');
      for (const f of findings) {
        appendRow(staged, [
          f.id, f.ruleId, f.severity, f.subject, f.reason, f.firstSeenMs, f.lastSeenMs, f.updatedAtMs, f.eventCount, f.eventIds, f.key?.arn ?? null, f.principal.id,
          f.accountId ?? null, f.region, f.s3?.bucket ?? null, f.s3?.objectKey ?? null, f.suppressedBy?.id ?? null, encodeState(f),
        ]);
      }
      staged.closeSync();
      await connection.run(UPSERT_STAGED_FINDINGS);
      await connection.run('DELETE FROM findings_stage');
    }
  };
  return {
    file,
    checkpointRows,
    connection,
    loadState: withinBudget('reading the stored state', async () => {
      const out = new Map<string, StoredEntry>();
      const reader = await connection.runAndReadAll('SELECT k, v FROM engine_state');
      for (const [k, v] of reader.getRows() as [string, string][]) {
        if (k.startsWith(DEDUPE_ROW_PREFIX)) unpackDedupeEntries(file, k, v, out);
        else out.set(k, decodeState(v) as StoredEntry);
      }
      return out;
    }),
    async begin() {
      await connection.run('BEGIN TRANSACTION');
      inTransaction = true;
    },
    checkpointDue(stateEntries) {
      return sinceCheckpoint >= Math.max(checkpointRows, stateEntries);
    },
    writeLedger: withinBudget('writing ledger rows', writeLedger),
    async hasFile(name, bytes) {
      if (ingested === undefined) {
        // Files noted since the last look are in the appender: flushed, they are in the table this reads.
        filesAppender?.flushSync();
        ingested = new Set();
        const reader = await connection.runAndReadAll('SELECT name, bytes FROM ingested_files');
        for (const [n, b] of reader.getRows()) ingested.add(`${String(n)}\u0000${String(b)}`);
      }
      return ingested.has(`${name}\u0000${bytes}`);
    },
    noteFile: withinBudget('noting a replayed file', async (name: string, bytes: number, records: number, atMs: number) => {
      // A replay asks `hasFile` while it plans, before it reads and notes: the names it loaded for that are let go
      // here (a few MB at 25,000 files) and read again if asked once more.
      ingested = undefined;
      filesAppender ??= await connection.createAppender('ingested_files');
      appendRow(filesAppender, [name, bytes, new Date(atMs), records]);
    }),
    checkpoint: withinBudget('committing a checkpoint', async (state: Iterable<readonly [string, StoredEntry]>, findings: readonly FindingRecord[]) => {
      await writeRun(state, findings);
      await connection.run('COMMIT');
      await connection.run('BEGIN TRANSACTION');
      sinceCheckpoint = 0;
    }),
    commit: withinBudget('committing the run', async (state: Iterable<readonly [string, StoredEntry]>, findings: readonly FindingRecord[]) => {
      await writeRun(state, findings);
      await connection.run('COMMIT');
      inTransaction = false;
    }),
    async rollback() {
      if (!inTransaction) return;
      inTransaction = false;
      try {
        await connection.run('ROLLBACK');
      } catch (error) {
        // A statement that failed inside the transaction (a COMMIT out of memory, say) has ended it already.
        if (!/no transaction is active/i.test(error instanceof Error ? error.message : String(error))) throw error;
      }
    },
    close() {
      connection.closeSync();
      instance.closeSync();
    },
  };
};
