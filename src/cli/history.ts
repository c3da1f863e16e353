import type { ParseArgsConfig } from 'node:util';
import { QUERY_MEMORY_MB } from '#adapters/local/database-budget.ts';
import type { LedgerDatabase } from '#adapters/local/ledger-database.ts';
import { pruneMark, type PruneMark } from '#adapters/local/ledger-prune.ts';
import { aliasOf, GROUP_FIELDS, historyQuery, keysOfAlias, NO_NETWORK, runQuery, type GroupField, type HistoryFilters, type QueryRows } from '#adapters/local/ledger-queries.ts';
import type { DuckDBConnection } from '@duckdb/node-api';
import { counted, formatCount } from '#core/counted.ts';
import { DAY_MS } from '#core/engine-config.ts';
import { UsageError } from '#core/errors.ts';
import { stringifyJsonSafely } from '#core/events/fields.ts';
import { isVpcEndpointId, parseIpRange, PUBLIC_ENDPOINT } from '#core/network.ts';
import { listOptionValues, parseCommandArgs, positiveWholeNumber } from './arguments.ts';
import { cannotWriteOutput, checkOutputPath, writeOutputFile } from './output-file.ts';
import { safeText } from './terminal.ts';
import { parseTimeWindow } from './time-bounds.ts';
import { loadLedgerDatabase } from '#adapters/local/duckdb-allocator.ts';

export const HISTORY_HELP = `kdm history — who decrypted with which key, when, which objects (from a ledger built by kdm replay --db)

Usage: kdm history --db <file> [filters] [--group-by f1,f2] [--format table|csv|json|parquet] [--out <file>]
       kdm history --source dynamodb --table <name> [--region r] [filters] ...

Filters:
  --key <arn|key id|alias>   --principal <pattern, * wildcards>   --account <id>   --bucket <name>
  --prefix <object key prefix, * wildcards>   --path s3|service|direct   --operation <Decrypt|...>
  --network <vpce-id|public|none>
  --from <YYYY-MM-DD|time>   --to <YYYY-MM-DD|time>   (inclusive; a date alone means the whole day; the
                             ledger counts by day, so a time inside a day selects rows of the whole day)
  Object records (--group-by object, --prefix) name the S3 request's operation where correlation found it
  (GetObject, PutObject, ...), and the KMS call's otherwise; --operation selects them by that. They keep the
  caller's principal and not its account: --account selects them by the account their principal's ARN names.
  A writer of another account's write under a key the bucket owner does not hold is an object record of its
  own data event (correlation data-event): its KMS call is in other accounts' trails, so no ledger row counts it.
  A ReEncrypt is one ledger row, under the key it decrypts with, naming the key it encrypts under (destination_key):
  --key selects it by either, and no total counts it twice.
  A row's network is the one its calls came through: a VPC endpoint's id, public (the service's public endpoint),
  or none where the records say neither (an AWS service's own calls, rows kept before schema 5); for a call S3
  made, the S3 request's. --network public --group-by object lists the objects opened from outside the endpoints.
Grouping: ${GROUP_FIELDS.join(', ')} (comma-separated or repeated; object lists objects opened)
Output: table (default, on stdout), csv or json (stdout or --out), parquet (needs --out); --limit <n>
With --source dynamodb, the range defaults to the last 30 days (one query per day).`;

export const HISTORY_OPTIONS = {
  db: { type: 'string' },
  source: { type: 'string', default: 'local' },
  table: { type: 'string' },
  region: { type: 'string' },
  key: { type: 'string' },
  principal: { type: 'string' },
  account: { type: 'string' },
  bucket: { type: 'string' },
  prefix: { type: 'string' },
  path: { type: 'string' },
  operation: { type: 'string' },
  network: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  'group-by': { type: 'string', multiple: true },
  format: { type: 'string', default: 'table' },
  out: { type: 'string' },
  limit: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

/**
 * Said when a bound falls inside a day. The ledger holds a row per day (key, principal, operation...) with the
 * day's first and last call, so such a bound selects the rows whose first-to-last span meets the range, each with
 * its whole day's counts: a row of calls at 09:15 and 13:05 is selected by 10:00-11:00.
 */
export const dayGrainNote = (filters: HistoryFilters): string | undefined => {
  const inside = (filters.fromMs !== undefined && filters.fromMs % DAY_MS !== 0) || (filters.toMs !== undefined && (filters.toMs + 1) % DAY_MS !== 0);
  return inside ? 'kdm: note: the ledger counts calls by day: a --from or --to inside a day selects the rows whose first to last call of the day meet the range, with the whole day\'s counts\n' : undefined;
};

/**
 * `mark` when the query reaches back before the day `kdm prune` removed the history before (no --from, or one
 * before that day): what it finds there is not all there was (only what replays added since, if any).
 */
export const pruneReached = (mark: PruneMark | undefined, filters: HistoryFilters): PruneMark | undefined =>
  mark === undefined || (filters.fromMs !== undefined && filters.fromMs >= Date.parse(`${mark.removedBefore}T00:00:00Z`)) ? undefined : mark;

/** What is said of a prune the query reaches back before (`pruneReached`'s mark), if any. */
export const prunedNote = (mark: PruneMark | undefined): string | undefined => {
  if (mark === undefined) return undefined;
  const since = mark.rowsReplayedSince > 0 ? `; it holds ${counted(mark.rowsReplayedSince, 'ledger row')} of those days, replayed since` : '';
  return `kdm: note: the history before ${mark.removedBefore} was removed from this database (kdm prune)${since}\n`;
};

/**
 * Said when `--key` is an alias that names several keys (one per account or region going by that name): the history
 * is of all of them, and an ARN selects one.
 */
export const aliasNote = async (connection: DuckDBConnection, filters: HistoryFilters): Promise<string | undefined> => {
  const alias = filters.key === undefined ? undefined : aliasOf(filters.key);
  if (alias === undefined) return undefined;
  const keys = await keysOfAlias(connection, alias);
  return keys.length > 1 ? `kdm: note: ${safeText(alias)} names ${keys.length} keys in this ledger, and all are selected: ${keys.map(safeText).join(', ')} (give one's ARN as --key for it alone)\n` : undefined;
};

/** The filters a stored finding carries as well as a ledger row: the options that give them, as parsed. */
export interface CommonFilterValues {
  readonly key?: string | undefined;
  readonly principal?: string | undefined;
  readonly account?: string | undefined;
  readonly bucket?: string | undefined;
  readonly prefix?: string | undefined;
  readonly from?: string | undefined;
  readonly to?: string | undefined;
}

/** The key, principal, account, bucket, object prefix and time filters, checked: kdm history's, report's and findings'. */
export const commonFiltersFrom = (values: CommonFilterValues): { -readonly [K in keyof HistoryFilters]: HistoryFilters[K] } => {
  const filters: { -readonly [K in keyof HistoryFilters]: HistoryFilters[K] } = {};
  for (const name of ['key', 'principal', 'bucket', 'prefix'] as const) if (values[name] !== undefined) filters[name] = values[name];
  if (values.account !== undefined) {
    if (!/^\d{12}$/.test(values.account)) throw new UsageError(`--account must be a 12-digit AWS account id (got "${values.account}")`);
    filters.account = values.account;
  }
  const window = parseTimeWindow(values.from, values.to);
  if (window?.fromMs !== undefined) filters.fromMs = window.fromMs;
  if (window?.toMs !== undefined) filters.toMs = window.toMs;
  return filters;
};

/** The history's options as parsed (kdm report's, which add their own, are of this type too). */
type HistoryValues = ReturnType<typeof parseCommandArgs<{ readonly options: typeof HISTORY_OPTIONS }>>['values'];

export const parseHistoryArgs = (argv: readonly string[]) => historyArgsFrom(parseCommandArgs('history', argv, { options: HISTORY_OPTIONS }).values, 'history');

/** The history's arguments, checked; kdm report takes the same filters, and names itself (`command`) in what it tells. */
export const historyArgsFrom = (values: HistoryValues, command: 'history' | 'report') => {
  const filters = commonFiltersFrom(values);
  if (values.operation !== undefined) filters.operation = values.operation;
  if (values.path !== undefined) {
    if (values.path !== 's3' && values.path !== 'service' && values.path !== 'direct') throw new UsageError(`--path must be s3, service or direct (got "${values.path}")`);
    filters.path = values.path;
  }
  if (values.network !== undefined) {
    const network = values.network;
    if (network !== PUBLIC_ENDPOINT && network !== NO_NETWORK && !isVpcEndpointId(network)) {
      const address = parseIpRange(network) !== undefined ? ': the ledger counts calls by network, not by address' : '';
      throw new UsageError(`--network takes a VPC endpoint id (vpce-...), ${PUBLIC_ENDPOINT} or ${NO_NETWORK} (got "${network}")${address}`);
    }
    filters.network = network;
  }
  const groupBy = listOptionValues(values['group-by']);
  for (const g of groupBy) if (!(GROUP_FIELDS as readonly string[]).includes(g)) throw new UsageError(`--group-by takes ${GROUP_FIELDS.join(', ')} (got "${g}")`);
  const format = values.format;
  if (format !== 'table' && format !== 'csv' && format !== 'json' && format !== 'parquet') throw new UsageError(`--format must be table, csv, json or parquet (got "${format}")`);
  if (format === 'parquet' && values.out === undefined) throw new UsageError('--format parquet needs --out <file>');
  const limit = positiveWholeNumber('limit', values.limit);
  if (values.source !== 'local' && values.source !== 'dynamodb') throw new UsageError(`--source must be local or dynamodb (got "${values.source}")`);
  if (values.source === 'local' && values.db === undefined && values.help !== true) throw new UsageError(`${command} needs --db <file> (a database built by \`kdm replay <logs> --db <file>\`)${command === 'history' ? ', or --source dynamodb --table <name>' : ''}`);
  if (values.source === 'dynamodb' && values.table === undefined) throw new UsageError('--source dynamodb needs --table <state table name> (the StateTableName output of the stack)');
  return { values, filters: filters as HistoryFilters, groupBy: groupBy as GroupField[], format, limit };
};

/** CSV with formula injection neutralised: attacker-influenced values (object keys, session names) are data, not formulas. */
export const toCsv = (result: QueryRows): string => {
  const cell = (v: unknown): string => {
    let text = v === null || v === undefined ? '' : Array.isArray(v) ? v.join(' ') : String(v);
    if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
    return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
  };
  return [result.columns.join(','), ...result.rows.map((r) => result.columns.map((c) => cell(r[c])).join(','))].join('\n') + '\n';
};

export const toTable = (result: QueryRows): string => {
  if (result.rows.length === 0) return '(no matching decrypt history)\n';
  // An object count that is a lower bound (the ledger keeps up to 200 distinct objects a row) reads "at least N"
  // here; csv and json keep the flag as its own column, objects_at_least, for programs.
  const boundedObjects = result.columns.includes('objects') && result.columns.includes('objects_at_least');
  const columns = boundedObjects ? result.columns.filter((c) => c !== 'objects_at_least') : result.columns;
  // Counts grouped by thousands for reading; csv and json keep them bare.
  const text = (v: unknown): string => safeText(v === null || v === undefined ? '' : Array.isArray(v) ? v.join(' ') : typeof v === 'number' ? formatCount(v) : String(v));
  // A network the records did not say is '' in csv and json; here it reads as --network names it.
  const cell = (r: Readonly<Record<string, unknown>>, c: string): unknown =>
    boundedObjects && c === 'objects' && r['objects_at_least'] === true ? `at least ${text(r['objects'])}` : c === 'network' && r[c] === '' ? NO_NETWORK : r[c];
  const widths = columns.map((c) => Math.min(80, Math.max(c.length, ...result.rows.map((r) => text(cell(r, c)).length))));
  const line = (cells: readonly string[]) => cells.map((c, i) => (c.length > (widths[i] ?? 0) ? `${c.slice(0, (widths[i] ?? 1) - 1)}…` : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  return [line(columns.map((c) => c.toUpperCase())), ...result.rows.map((r) => line(columns.map((c) => text(cell(r, c)))))].join('\n') + '\n';
};

/** The UTC days between two instants, for reading the DynamoDB ledger a day at a time. */
export const daysBetween = (fromMs: number, toMs: number): string[] => {
  const out: string[] = [];
  for (let t = Math.floor(fromMs / DAY_MS) * DAY_MS; t <= toMs && out.length <= 3_660; t += DAY_MS) out.push(new Date(t).toISOString().slice(0, 10));
  return out;
};

/** Opens the ledger to query: the local file read-only, or the DynamoDB ledger loaded into an in-memory database. */
const openSource = async (parsed: ReturnType<typeof parseHistoryArgs>, nowMs: number, stderr: NodeJS.WritableStream): Promise<LedgerDatabase> => {
  const { values, filters } = parsed;
  // DuckDB loads here, not with the CLI: the commands that open no database start 190 ms sooner without it.
  const { openLedgerDatabase } = await loadLedgerDatabase();
  if (values.source === 'local') return openLedgerDatabase(values.db as string, { readOnly: true });
  const [{ DynamoDBClient }, { createDynamoDbStateStore }] = await Promise.all([import('@aws-sdk/client-dynamodb'), import('#adapters/aws/dynamodb-state-store.ts')]);
  const store = createDynamoDbStateStore({ client: new DynamoDBClient(values.region !== undefined ? { region: values.region } : {}), tableName: values.table as string });
  const days = daysBetween(filters.fromMs ?? nowMs - 30 * DAY_MS, filters.toMs ?? nowMs);
  stderr.write(`kdm: reading ${counted(days.length, 'day')} of ledger from DynamoDB table ${safeText(values.table ?? '')}\n`);
  // The days asked for are written at once and queried in memory, with the budget of a query.
  const db = await openLedgerDatabase(':memory:', { memoryLimitMb: QUERY_MEMORY_MB, memoryAdvice: () => 'ask for fewer days (--from, --to)' });
  await db.writeLedger(await store.ledgerOfDays(days));
  return db;
};

export const historyCommand = async (argv: readonly string[], io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream; nowMs: () => number }): Promise<number> => {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.stdout.write(`${HISTORY_HELP}\n`);
    return 0;
  }
  const parsed = parseHistoryArgs(argv);
  const out = parsed.values.out;
  if (out !== undefined) checkOutputPath(out, 'the history', parsed.values.db);
  const query = historyQuery(parsed.filters, parsed.groupBy, parsed.limit);
  const db = await openSource(parsed, io.nowMs(), io.stderr);
  for (const note of [dayGrainNote(parsed.filters), await aliasNote(db.connection, parsed.filters), prunedNote(pruneReached(parsed.values.source === 'local' ? await pruneMark(db.connection) : undefined, parsed.filters))]) {
    if (note !== undefined) io.stderr.write(note);
  }
  try {
    if (parsed.format === 'parquet' && out !== undefined) {
      await db.connection.run(`CREATE OR REPLACE TEMP TABLE history_export AS ${query.sql}`, query.params);
      try {
        await db.connection.run(`COPY history_export TO '${out.replaceAll("'", "''")}' (FORMAT parquet)`);
      } catch (error) {
        // What the file system refused (DuckDB says "IO Error"), told as the user's, like the other formats.
        const message = error instanceof Error ? error.message : String(error);
        if (/IO Error/i.test(message)) throw cannotWriteOutput('the history', out, message.split('\n')[0] ?? message, error);
        throw error;
      }
      const n = (await db.connection.runAndReadAll('SELECT count(*) AS n FROM history_export')).getRowObjectsJson()[0]?.n;
      io.stderr.write(`kdm: wrote ${counted(Number(n ?? 0), 'row')} to ${safeText(out)} (Parquet)\n`);
      return 0;
    }
    const result = await runQuery(db.connection, query);
    const text = parsed.format === 'csv' ? toCsv(result) : parsed.format === 'json' ? `${stringifyJsonSafely(result.rows, 2)}\n` : toTable(result);
    if (out !== undefined) {
      writeOutputFile(out, text, 'the history');
      io.stderr.write(`kdm: wrote ${counted(result.rows.length, 'row')} to ${safeText(out)}\n`);
    } else io.stdout.write(text);
    return 0;
  } finally {
    db.close();
  }
};
