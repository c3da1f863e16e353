import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import { UsageError } from '#core/errors.ts';
import { BARE_KEY_ID } from '#core/events/normalize.ts';
import { ACCOUNT_SCOPED_PRINCIPAL_PREFIXES } from '#core/events/principal.ts';

/** What `kdm history` and `kdm report` filter on. Every value is bound as a parameter, never spliced into SQL. */
export interface HistoryFilters {
  /** Key ARN, key id, or alias (`alias/name` or `name`). */
  readonly key?: string;
  /** Principal ARN pattern with `*` wildcards. */
  readonly principal?: string;
  readonly account?: string;
  readonly bucket?: string;
  /** Object key prefix (implies object-level records). */
  readonly prefix?: string;
  readonly path?: 's3' | 'service' | 'direct';
  /**
   * The network calls came through, as the ledger keeps it (`ledgerNetworkOf`): a VPC endpoint's id, `public`, or
   * `NO_NETWORK` for calls whose records named neither (and rows stored before schema 5).
   */
  readonly network?: string;
  readonly operation?: string;
  /** Inclusive bounds, epoch ms. */
  readonly fromMs?: number;
  readonly toMs?: number;
}

export const GROUP_FIELDS = ['principal', 'key', 'day', 'bucket', 'object', 'account', 'region', 'operation', 'path', 'network'] as const;
export type GroupField = (typeof GROUP_FIELDS)[number];

/** What `--network` takes for the rows whose calls named no network (stored as ''). */
export const NO_NETWORK = 'none';

export interface HistoryQuery {
  readonly sql: string;
  readonly params: Record<string, DuckDBValue>;
}

/**
 * The caller's account of an object record (`t`), which has no account column: the account field of its principal's
 * ARN (`arn:aws:iam::<account>:...`), or of the ids made for callers without one (`iam-user:<account>:<name>`, see
 * ACCOUNT_SCOPED_PRINCIPAL_PREFIXES); NULL for a principal that names no account (an AWS service, an Identity
 * Center user). A search for the account's digits anywhere in the principal also found roles named after another
 * account (`role/deploy-from-444455556666`).
 */
const PRINCIPAL_ACCOUNT = `(CASE WHEN starts_with(t.principal, 'arn:') THEN split_part(t.principal, ':', 5) WHEN split_part(t.principal, ':', 1) IN (${ACCOUNT_SCOPED_PRINCIPAL_PREFIXES.map((p) => `'${p}'`).join(', ')}) THEN split_part(t.principal, ':', 2) END)`;

/**
 * A `*` pattern (`--principal`, `--prefix`) as the regular expression `regexp_full_match` takes: `*` any run of
 * characters, newlines too, everything else literal. DuckDB matches it with RE2, in time linear in the text;
 * `LIKE … ESCAPE`, which the patterns were before, backtracks: `*a*a*a*a*a*a*a*a*a*b` over one principal of 40 a's
 * took 5.7 s, each star more three to four times as long. `prefix` leaves the end open.
 */
const patternRegex = (glob: string, { prefix = false } = {}): string =>
  `(?s)${glob.split('*').map((piece) => piece.replace(/[\\^$.|?*+()[\]{}]/g, '\\$&')).join('.*')}${prefix ? '.*' : ''}`;

const day = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/** The alias a `--key` names, as `alias/<name>`; undefined for a key ARN or key id. */
export const aliasOf = (key: string): string | undefined => (key.startsWith('arn:') || BARE_KEY_ID.test(key) ? undefined : key.startsWith('alias/') ? key : `alias/${key}`);

/**
 * The keys an alias selects: those of the ledger's calls made by that alias, in order. More than one where keys of
 * several accounts or regions each go by that name.
 */
export const keysOfAlias = async (connection: DuckDBConnection, alias: string): Promise<string[]> =>
  (await connection.runAndReadAll('SELECT DISTINCT key FROM ledger WHERE key_alias = $alias ORDER BY key', { alias })).getRowObjectsJson().map((row) => String(row['key']));

/**
 * The clause selecting `--key` (an ARN, a key id or an alias) in a table whose `t.key` holds key ARNs. An alias names
 * its key through the ledger rows of calls that used the alias. In the ledger a row is also selected by its
 * `destination_key`, the key a ReEncrypt encrypted under (the row itself is under the key it decrypted with), and
 * by its `key_alias`.
 */
const keyClause = (key: string, table: QueriedTable, params: Record<string, DuckDBValue>): string => {
  const ledger = table === 'ledger';
  if (key.startsWith('arn:')) {
    params.key = key;
    return ledger ? '(t.key = $key OR t.destination_key = $key)' : 't.key = $key';
  }
  if (BARE_KEY_ID.test(key)) {
    params.key = `%/${key}`;
    return ledger ? '(t.key LIKE $key OR t.destination_key LIKE $key)' : 't.key LIKE $key';
  }
  params.key = aliasOf(key) as string;
  const aliasKeys = '(SELECT DISTINCT key FROM ledger WHERE key_alias = $key)';
  return ledger
    ? `(t.key = $key OR t.key_alias = $key OR t.key IN ${aliasKeys} OR t.destination_key = $key OR t.destination_key IN ${aliasKeys})`
    : `(t.key = $key OR t.key IN ${aliasKeys})`;
};

/**
 * What a query reads: the ledger, object records, findings, or the ledger's rows by the keys they used (`KEY_USES`).
 */
type QueriedTable = 'ledger' | 'object_access' | 'findings' | 'key_uses';

/**
 * The ledger's rows by each key they used: every row under the key it decrypted with, and a ReEncrypt's once more
 * under the key it encrypted under (its `key` that destination, its alias unknown). `kdm report`'s key sections read
 * it, so that a key shows who encrypted under it by ReEncrypt too; totals over all keys read the ledger itself, where
 * such a call is one row.
 */
export const KEY_USES = `(SELECT * FROM ledger UNION ALL BY NAME
  SELECT * REPLACE (destination_key AS key, CAST(NULL AS VARCHAR) AS key_alias) FROM ledger WHERE destination_key <> '' AND destination_key <> key)`;

/**
 * The clauses of the filters every table that keeps calls or findings has in common (`t` is the table alias): key,
 * principal, account, bucket and object key prefix. `table` says what it keeps of them: the ledger has the key's
 * alias, and object records no account column (the account is then the one their principal names: PRINCIPAL_ACCOUNT).
 */
const commonClauses = (f: HistoryFilters, table: QueriedTable): { clauses: string[]; params: Record<string, DuckDBValue> } => {
  const clauses: string[] = [];
  const params: Record<string, DuckDBValue> = {};
  if (f.key !== undefined) clauses.push(keyClause(f.key, table, params));
  if (f.principal !== undefined) {
    params.principal = patternRegex(f.principal);
    clauses.push('regexp_full_match(t.principal, $principal)');
  }
  if (f.account !== undefined) {
    params.account = f.account;
    clauses.push(table === 'object_access' ? `${PRINCIPAL_ACCOUNT} = $account` : 't.account = $account');
  }
  if (f.bucket !== undefined) {
    params.bucket = f.bucket;
    clauses.push('t.bucket = $bucket');
  }
  if (f.prefix !== undefined) {
    // A ledger row names no single object: the history asks the object records instead, the report refuses --prefix.
    if (table === 'ledger' || table === 'key_uses') throw new UsageError('--prefix selects object records, and ledger rows name no single object');
    params.prefix = patternRegex(f.prefix, { prefix: true });
    clauses.push('regexp_full_match(t.object_key, $prefix)');
  }
  return { clauses, params };
};

/**
 * WHERE clauses shared by the ledger and object_access tables (`t` is the table alias); `table` 'key_uses' for the
 * ledger's rows by the keys they used (`KEY_USES`), whose key alone selects them.
 */
export const historyWhere = (f: HistoryFilters, objectLevel: boolean, table: QueriedTable = objectLevel ? 'object_access' : 'ledger'): { clauses: string[]; params: Record<string, DuckDBValue> } => {
  const { clauses, params } = commonClauses(f, table);
  if (f.path !== undefined && !objectLevel) {
    params.path = f.path;
    clauses.push('t.path = $path');
  }
  if (f.network !== undefined) {
    params.network = f.network === NO_NETWORK ? '' : f.network;
    clauses.push('t.network = $network');
  }
  if (f.operation !== undefined) {
    // `decrypt` is `Decrypt`: CloudTrail's names are in one case, and a user's typing should not empty the result.
    params.operation = f.operation.toLowerCase();
    clauses.push('lower(t.operation) = $operation');
  }
  if (f.fromMs !== undefined) {
    params.fromDay = day(f.fromMs);
    params.fromTs = new Date(f.fromMs).toISOString().replace('T', ' ').replace('Z', '');
    clauses.push('t.day >= CAST($fromDay AS DATE)', 't.last_seen >= CAST($fromTs AS TIMESTAMP)');
  }
  if (f.toMs !== undefined) {
    params.toDay = day(f.toMs);
    params.toTs = new Date(f.toMs).toISOString().replace('T', ' ').replace('Z', '');
    clauses.push('t.day <= CAST($toDay AS DATE)', 't.first_seen <= CAST($toTs AS TIMESTAMP)');
  }
  return { clauses, params };
};

/**
 * WHERE clauses for the findings table (`t`), from the filters a finding carries: its key (found as the ledger
 * finds it, so an alias or key id selects the same key's findings), principal, account, bucket, object key prefix,
 * and the time it was seen (a finding seen at any time within the range).
 */
export const findingsWhere = (f: HistoryFilters): { clauses: string[]; params: Record<string, DuckDBValue> } => {
  const { clauses, params } = commonClauses(f, 'findings');
  if (f.fromMs !== undefined) {
    params.fromMs = f.fromMs;
    clauses.push('t.last_seen >= make_timestamp(CAST($fromMs AS BIGINT) * 1000)');
  }
  if (f.toMs !== undefined) {
    params.toMs = f.toMs;
    clauses.push('t.first_seen <= make_timestamp(CAST($toMs AS BIGINT) * 1000)');
  }
  return { clauses, params };
};

const LEDGER_COLUMN: Record<Exclude<GroupField, 'object'>, string> = {
  principal: 't.principal', key: 't.key', day: 't.day', bucket: 't.bucket', account: 't.account', region: 't.region', operation: 't.operation', path: 't.path',
  network: 't.network',
};

/**
 * The order of grouped rows: most calls first, a timeline (grouped by day among others) newest day first, as the
 * rows themselves are, and then by calls; `--limit` keeps the first.
 */
const groupedOrder = (groupBy: readonly GroupField[], cols: readonly string[]): string =>
  `ORDER BY ${(groupBy.includes('day') ? ['t.day DESC', 'calls DESC', ...cols.filter((c) => c !== 't.day')] : ['calls DESC', ...cols]).join(', ')}`;

/**
 * The SQL behind `kdm history`: ledger rows (or object accesses, when grouping by object or filtering by
 * prefix) filtered, then grouped. Without grouping, the rows themselves, newest day first.
 */
export const historyQuery = (filters: HistoryFilters, groupBy: readonly GroupField[], limit?: number): HistoryQuery => {
  const objectLevel = groupBy.includes('object') || filters.prefix !== undefined;
  if (objectLevel) {
    for (const g of groupBy) if (g === 'account' || g === 'region' || g === 'path') throw new UsageError(`--group-by ${g} does not apply to object records (grouping by object or filtering by --prefix)`);
  }
  const { clauses, params } = historyWhere(filters, objectLevel);
  const where = clauses.length > 0 ? `WHERE ${clauses.join(' AND ')}` : '';
  const tail = limit !== undefined ? ` LIMIT ${Math.max(1, Math.floor(limit))}` : '';
  if (objectLevel) {
    // An object is its bucket and key: `--group-by object,bucket` groups by the bucket once, not twice.
    const cols = [...new Set(groupBy.flatMap((g) => (g === 'object' ? ['t.bucket', 't.object_key'] : [LEDGER_COLUMN[g as Exclude<GroupField, 'object'>]])))];
    if (groupBy.length === 0) {
      return { sql: `SELECT t.day, t.key, t.principal, t.bucket, t.object_key, t.operation, t.network, t.calls, t.first_seen, t.last_seen, t.source_ips, t.sessions, t.correlation FROM object_access t ${where} ORDER BY t.day DESC, t.calls DESC, t.object_key, t.bucket, t.key, t.principal, t.operation, t.network${tail}`, params };
    }
    return {
      sql: `SELECT ${cols.join(', ')}, sum(t.calls) AS calls, count(DISTINCT t.principal) AS principals, min(t.first_seen) AS first_seen, max(t.last_seen) AS last_seen,
              list_distinct(flatten(list(t.source_ips)))[1:10] AS source_ips
            FROM object_access t ${where} GROUP BY ${cols.join(', ')} ${groupedOrder(groupBy, cols)}${tail}`,
      params,
    };
  }
  if (groupBy.length === 0) {
    return { sql: `SELECT t.day, t.key, t.key_alias, t.principal, t.account, t.region, t.bucket, t.operation, t.destination_key, t.path, t.network, t.calls, t.errors, t.first_seen, t.last_seen, len(t.objects) AS objects, t.findings FROM ledger t ${where} ORDER BY t.day DESC, t.calls DESC, t.principal, t.key, t.account, t.region, t.bucket, t.operation, t.path, t.destination_key, t.network${tail}`, params };
  }
  const cols = groupBy.map((g) => LEDGER_COLUMN[g as Exclude<GroupField, 'object'>]);
  return {
    sql: `SELECT ${cols.join(', ')}, sum(t.calls) AS calls, sum(t.errors) AS errors, count(DISTINCT t.principal) AS principals, count(DISTINCT t.key) AS keys,
            len(list_distinct(flatten(list(t.objects)))) AS objects, bool_or(t.objects_overflow) AS objects_at_least,
            min(t.first_seen) AS first_seen, max(t.last_seen) AS last_seen, sum(t.findings) AS findings
          FROM ledger t ${where} GROUP BY ${cols.join(', ')} ${groupedOrder(groupBy, cols)}${tail}`,
    params,
  };
};

export interface QueryRows {
  readonly columns: readonly string[];
  readonly rows: readonly Record<string, unknown>[];
}

/**
 * Integer types whose values DuckDB's JSON conversion gives as text, since they may exceed JavaScript's exact
 * integers. By their SQL names: this module is loaded with the CLI, which starts without DuckDB (types only here).
 */
const WIDE_INTEGERS: ReadonlySet<string> = new Set(['BIGINT', 'UBIGINT', 'HUGEINT', 'UHUGEINT']);

/**
 * DuckDB's text of a ledger time (`2026-10-01 12:00:05.12`, UTC by construction) as RFC 3339 with its zone and
 * milliseconds always written (`2026-10-01T12:00:05.120Z`), as `Date.toISOString` writes them: DuckDB leaves out
 * trailing zeros, and a whole second's fraction altogether, so that such times no longer sorted as text
 * (`…:05Z` after `…:05.5Z`) in a CSV export.
 */
export const utcTime = (value: string): string => {
  const parts = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(?:\.(\d+))?$/.exec(value);
  return parts === null ? value : `${parts[1]}T${parts[2]}.${(parts[3] ?? '').padEnd(3, '0')}Z`;
};

/**
 * Runs a history query. Counts (sums, distinct counts: 64-bit integers in DuckDB) come back as numbers, so a JSON
 * export holds `"calls": 17772`, not `"17772"`; a count past 2^53, which a number could not hold exactly, stays text.
 * Times come back as RFC 3339 in UTC (`2026-10-01T12:00:05.123Z`), saying their zone, as the replay's do.
 */
export const runQuery = async (connection: DuckDBConnection, query: HistoryQuery): Promise<QueryRows> => {
  const reader = await connection.runAndReadAll(query.sql, query.params);
  const columns = reader.columnNames();
  const counts = columns.filter((_, i) => WIDE_INTEGERS.has(reader.columnType(i).toString()));
  const times = columns.filter((_, i) => reader.columnType(i).toString() === 'TIMESTAMP');
  const rows = reader.getRowObjectsJson() as Record<string, unknown>[];
  for (const row of rows) {
    for (const column of counts) {
      const value = row[column];
      if (typeof value !== 'string') continue;
      const n = Number(value);
      if (Number.isSafeInteger(n)) row[column] = n;
    }
    for (const column of times) {
      const value = row[column];
      if (typeof value === 'string') row[column] = utcTime(value);
    }
  }
  return { columns, rows };
};

/** What `kdm findings` selects beyond the filters findings share with the history (`findingsWhere`). */
export interface FindingsSelection {
  /** The rules whose findings are selected (their ids, the patterns already matched); every rule's when undefined. */
  readonly ruleIds?: readonly string[];
  /** The severities selected (those at or above the one asked for); every one when undefined. */
  readonly severities?: readonly string[];
  /** Whether findings a suppression marks are selected too. */
  readonly suppressed: boolean;
  /** One finding by its id. */
  readonly id?: string;
  readonly limit?: number;
}

/** Most severe first, then most recently seen, then by id: the order the replay lists its most severe findings in. */
const FINDINGS_ORDER = `ORDER BY CASE t.severity WHEN 'CRITICAL' THEN 0 WHEN 'HIGH' THEN 1 WHEN 'MEDIUM' THEN 2 WHEN 'LOW' THEN 3 ELSE 4 END, t.last_seen DESC, t.id`;

/**
 * The SQL behind `kdm findings`: the stored findings `filters` and `selection` select, each with its whole record
 * (`record`), in FINDINGS_ORDER; and the count of the suppressed ones that match the filters (`suppressedLeftOut`:
 * those a selection without `suppressed` leaves out).
 */
export const findingsQuery = (filters: HistoryFilters, selection: FindingsSelection): { readonly rows: HistoryQuery; readonly suppressedLeftOut: HistoryQuery } => {
  const { clauses, params } = findingsWhere(filters);
  if (selection.id !== undefined) {
    params.id = selection.id;
    clauses.push('t.id = $id');
  }
  const listed = (name: string, values: readonly string[] | undefined, column: string): void => {
    if (values === undefined) return;
    values.forEach((v, i) => (params[`${name}${i}`] = v));
    clauses.push(values.length === 0 ? 'false' : `${column} IN (${values.map((_, i) => `$${name}${i}`).join(', ')})`);
  };
  listed('rule', selection.ruleIds, 't.rule_id');
  listed('severity', selection.severities, 't.severity');
  const where = (extra: readonly string[]): string => {
    const all = [...clauses, ...extra];
    return all.length > 0 ? `WHERE ${all.join(' AND ')}` : '';
  };
  const tail = selection.limit !== undefined ? ` LIMIT ${Math.max(1, Math.floor(selection.limit))}` : '';
  return {
    rows: { sql: `SELECT t.id, t.record FROM findings t ${where(selection.suppressed ? [] : ['t.suppressed_by IS NULL'])} ${FINDINGS_ORDER}${tail}`, params },
    suppressedLeftOut: { sql: `SELECT count(*)::BIGINT AS n FROM findings t ${where(['t.suppressed_by IS NOT NULL'])}`, params },
  };
};

/** The rule ids the stored findings name, in order: `--rule` patterns are matched against them and the monitor's own. */
export const storedFindingRules = async (connection: DuckDBConnection): Promise<string[]> =>
  (await connection.runAndReadAll('SELECT DISTINCT rule_id FROM findings ORDER BY rule_id')).getRowObjectsJson().map((row) => String(row['rule_id']));
