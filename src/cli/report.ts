import type { ParseArgsConfig } from 'node:util';
import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import { pruneMark } from '#adapters/local/ledger-prune.ts';
import { findingsWhere, historyWhere, KEY_USES, type HistoryFilters } from '#adapters/local/ledger-queries.ts';
import { decodeState } from '#adapters/state-codec.ts';
import { counted } from '#core/counted.ts';
import { UsageError } from '#core/errors.ts';
import { PUBLIC_ENDPOINT } from '#core/network.ts';
import type { BucketCoverage } from '#core/state.ts';
import { renderReportHtml, type ReportBucket, type ReportData, type ReportFinding, type ReportKey } from '../report/html.ts';
import { parseCommandArgs } from './arguments.ts';
import { aliasNote, dayGrainNote, HISTORY_OPTIONS, historyArgsFrom, prunedNote, pruneReached } from './history.ts';
import { checkOutputPath, writeOutputFile } from './output-file.ts';
import { safeText } from './terminal.ts';
import { loadLedgerDatabase } from '#adapters/local/duckdb-allocator.ts';

export const REPORT_HELP = `kdm report — one self-contained HTML page for auditors, from a ledger built by kdm replay --db

Usage: kdm report --db <file> --html <out.html> [--key ...] [--principal ...] [--account ...] [--bucket ...]
                  [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--title <text>]

The filters are kdm history's (--key takes an ARN, a key id or an alias) and select the calls and the findings
alike. --prefix, --path, --operation and --network are kdm history's alone: they would select some sections and not
others.

Per key: its calls by operation and by network (VPC endpoint, public, or none said), calls per day split by
principal, top principals, principals new in the period; a ReEncrypt shows under the key it decrypted with and
the one it encrypted under (the total of calls counts it once). Findings by rule and severity with their
evidence, and the principals behind findings of several rules. The objects opened most, those opened from
outside the VPC endpoints, and the objects other accounts wrote under keys the bucket owner does not hold (known
from data events alone). Coverage: buckets with and without S3 data events, Bucket Keys, SSE types. No network
access and no scripts: the page opens anywhere, and can be archived as evidence. Its heading is --title, "KMS key
use report" unless given.`;

/** The history's output options, which the report refuses rather than ignores. */
const HISTORY_OUTPUT_OPTIONS = ['group-by', 'format', 'out', 'limit'] as const;
/** The history's filters the report refuses: they apply to some of its tables and not others. */
const HISTORY_ONLY_FILTERS = ['prefix', 'path', 'operation', 'network'] as const;
const REPORT_OPTIONS = {
  ...HISTORY_OPTIONS,
  // No default, so that --format table is refused like any other.
  format: { type: 'string' },
  html: { type: 'string' },
  // The page covers every use of a key's material: decryptions, data keys, signatures and MACs.
  title: { type: 'string', default: 'KMS key use report' },
} as const satisfies ParseArgsConfig['options'];

const ms = (v: unknown): number => Date.parse(`${String(v).replace(' ', 'T')}Z`);
const n = (v: unknown): number => Number(v ?? 0);

const rowsOf = async (c: DuckDBConnection, sql: string, params: Record<string, DuckDBValue>): Promise<Record<string, unknown>[]> =>
  (await c.runAndReadAll(sql, params)).getRowObjectsJson() as Record<string, unknown>[];

/** An object record's network is a VPC endpoint's id (`isVpcEndpointId`'s prefix: the ids are AWS-made). */
const THROUGH_AN_ENDPOINT = "starts_with(t.network, 'vpce-')";

/** A WHERE clause (or none, '') with one more condition. */
const alsoWhere = (where: string, condition: string): string => `${where === '' ? 'WHERE' : `${where} AND`} ${condition}`;

/** The findings a stored finding's record names (`FindingRecord.related` and `samePrincipal`), if any. */
const relatedOf = (record: unknown): { readonly related?: readonly string[]; readonly samePrincipal?: readonly string[] } => {
  if (typeof record !== 'string') return {};
  const { related, samePrincipal } = decodeState(record) as { related?: unknown; samePrincipal?: unknown };
  return {
    ...(Array.isArray(related) && related.length > 0 ? { related: related.map(String) } : {}),
    ...(Array.isArray(samePrincipal) && samePrincipal.length > 0 ? { samePrincipal: samePrincipal.map(String) } : {}),
  };
};

/** Gathers what the page shows: every number comes from the ledger, findings and state tables. */
export const gatherReport = async (c: DuckDBConnection, filters: HistoryFilters, meta: { source: string; title: string; generatedAtMs: number }): Promise<ReportData> => {
  const { clauses, params } = historyWhere(filters, false);
  const where = clauses.length > 0 ? `WHERE ${clauses.join(' AND ')}` : '';
  const objectWhere = historyWhere(filters, true);
  const oWhere = objectWhere.clauses.length > 0 ? `WHERE ${objectWhere.clauses.join(' AND ')}` : '';

  // The page states a prune only where its period reaches back before it, as the note on stderr does.
  const mark = pruneReached(await pruneMark(c), filters);
  const [range] = await rowsOf(c, `SELECT min(first_seen) AS f, max(last_seen) AS l, sum(calls) AS calls, count(DISTINCT principal) AS principals FROM ledger t ${where}`, params);
  const [objectTotal] = await rowsOf(c, `SELECT count(DISTINCT (bucket, object_key)) AS objects FROM object_access t ${oWhere}`, objectWhere.params);
  const dataStart = range?.f !== null && range?.f !== undefined ? ms(range.f) : undefined;
  // "New in the period": first call with the key inside it. Without --from, the period starts a day after
  // the ledger's first day, so the principals of that first day are the baseline.
  const periodStart = filters.fromMs ?? (dataStart !== undefined ? Date.parse(new Date(dataStart).toISOString().slice(0, 10)) + 86_400_000 : undefined);

  // The key sections: each key's calls, a ReEncrypt's under both keys it used (KEY_USES), selected by that key.
  const uses = historyWhere(filters, false, 'key_uses');
  const usesWhere = uses.clauses.length > 0 ? `WHERE ${uses.clauses.join(' AND ')} AND` : 'WHERE';
  const keyRows = await rowsOf(c, `SELECT key, max(key_alias) AS alias, sum(calls) AS calls, count(DISTINCT principal) AS principals, sum(errors) AS errors FROM ${KEY_USES} t ${usesWhere} true GROUP BY key ORDER BY calls DESC, key LIMIT 25`, uses.params);
  // Keys used, a ReEncrypt's destination among them; calls over the ledger itself, each once.
  const [keysUsed] = await rowsOf(c, `SELECT count(DISTINCT key) AS keys FROM ${KEY_USES} t ${usesWhere} true`, uses.params);
  const keys: ReportKey[] = [];
  for (const k of keyRows) {
    const p = { ...uses.params, reportKey: String(k.key) };
    const perDay = await rowsOf(c, `SELECT CAST(day AS VARCHAR) AS day, principal, sum(calls) AS calls FROM ${KEY_USES} t ${usesWhere} t.key = $reportKey GROUP BY ALL ORDER BY day`, p);
    const operations = await rowsOf(c, `SELECT operation, sum(calls) AS calls FROM ${KEY_USES} t ${usesWhere} t.key = $reportKey GROUP BY operation ORDER BY calls DESC, operation`, p);
    const networks = await rowsOf(c, `SELECT network, sum(calls) AS calls FROM ${KEY_USES} t ${usesWhere} t.key = $reportKey GROUP BY network ORDER BY calls DESC, network`, p);
    const top = await rowsOf(c, `SELECT principal, sum(calls) AS calls, len(list_distinct(flatten(list(objects)))) AS objects, min(first_seen) AS f, max(last_seen) AS l FROM ${KEY_USES} t ${usesWhere} t.key = $reportKey GROUP BY principal ORDER BY calls DESC, principal LIMIT 10`, p);
    const fresh = periodStart === undefined ? [] : await rowsOf(
      c,
      `WITH firsts AS (SELECT principal, min(first_seen) AS f FROM ${KEY_USES} WHERE key = $reportKey GROUP BY principal)
       SELECT t.principal, firsts.f AS f, sum(t.calls) AS calls FROM ${KEY_USES} t JOIN firsts USING (principal) ${usesWhere} t.key = $reportKey AND firsts.f >= make_timestamp(CAST($periodStart AS BIGINT) * 1000)
       GROUP BY t.principal, firsts.f ORDER BY firsts.f LIMIT 50`,
      { ...p, periodStart },
    );
    keys.push({
      key: String(k.key),
      ...(k.alias !== null && k.alias !== undefined ? { alias: String(k.alias) } : {}),
      calls: n(k.calls),
      principals: n(k.principals),
      errors: n(k.errors),
      operations: operations.map((r) => ({ operation: String(r.operation), calls: n(r.calls) })),
      networks: networks.map((r) => ({ network: String(r.network ?? ''), calls: n(r.calls) })),
      perDay: perDay.map((r) => ({ day: String(r.day), principal: String(r.principal), calls: n(r.calls) })),
      topPrincipals: top.map((r) => ({ principal: String(r.principal), calls: n(r.calls), objects: n(r.objects), firstSeenMs: ms(r.f), lastSeenMs: ms(r.l) })),
      newPrincipals: fresh.map((r) => ({ principal: String(r.principal), firstSeenMs: ms(r.f), calls: n(r.calls) })),
    });
  }

  const findingWhere = findingsWhere(filters);
  const findingRows = await rowsOf(c, `SELECT * FROM findings t ${findingWhere.clauses.length > 0 ? `WHERE ${findingWhere.clauses.join(' AND ')}` : ''} ORDER BY first_seen LIMIT 2000`, findingWhere.params);
  const findings: ReportFinding[] = findingRows.map((r) => ({
    id: String(r.id),
    ruleId: String(r.rule_id),
    severity: String(r.severity),
    reason: String(r.reason ?? ''),
    firstSeenMs: ms(r.first_seen),
    lastSeenMs: ms(r.last_seen),
    eventCount: n(r.event_count),
    eventIds: Array.isArray(r.event_ids) ? r.event_ids.map(String) : [],
    principal: String(r.principal ?? ''),
    ...(r.key !== null && r.key !== undefined ? { key: String(r.key) } : {}),
    ...(r.bucket !== null && r.bucket !== undefined ? { bucket: String(r.bucket) } : {}),
    ...(r.object_key !== null && r.object_key !== undefined ? { objectKey: String(r.object_key) } : {}),
    ...(r.suppressed_by !== null && r.suppressed_by !== undefined ? { suppressedBy: String(r.suppressed_by) } : {}),
    ...relatedOf(r.record),
  }));

  const buckets: ReportBucket[] = [];
  for (const r of await rowsOf(c, `SELECT k, v FROM engine_state WHERE k LIKE 'bucket#%' ORDER BY k`, {})) {
    const b = decodeState(String(r.v)) as BucketCoverage;
    const name = String(r.k).slice('bucket#'.length);
    if (filters.bucket !== undefined && name !== filters.bucket) continue;
    buckets.push({ bucket: name, dataEvents: b.dataEvents, readEvents: b.readEvents, bucketKeyCalls: b.bucketKeyCalls, objectKeyCalls: b.objectKeyCalls, sse: { ...b.sse }, kmsKeys: { ...b.kmsKeys } });
  }

  const objects = (await rowsOf(c, `SELECT bucket, object_key, sum(calls) AS calls, count(DISTINCT principal) AS principals, list_distinct(flatten(list(source_ips)))[1:5] AS ips FROM object_access t ${oWhere} GROUP BY bucket, object_key ORDER BY calls DESC LIMIT 25`, objectWhere.params)).map((r) => ({
    bucket: String(r.bucket),
    objectKey: String(r.object_key),
    calls: n(r.calls),
    principals: n(r.principals),
    sourceIps: Array.isArray(r.ips) ? r.ips.map(String) : [],
  }));

  // Reads through S3's public endpoint, those of principals that otherwise read through VPC endpoints first (their
  // credentials used from elsewhere, or a workload off its route), then the newest; and whether any read came
  // through an endpoint (without one, all reads are public).
  const publicWhere = alsoWhere(oWhere, `t.network = '${PUBLIC_ENDPOINT}'`);
  const publicObjects = (await rowsOf(
    c,
    `WITH routes AS (SELECT principal, count(*) FILTER (WHERE ${THROUGH_AN_ENDPOINT}) AS via_endpoints FROM object_access t ${oWhere} GROUP BY principal)
     SELECT t.bucket, t.object_key, t.principal, sum(t.calls) AS calls, list_distinct(flatten(list(t.source_ips)))[1:5] AS ips, max(t.last_seen) AS l, any_value(routes.via_endpoints) AS via
     FROM object_access t JOIN routes ON routes.principal = t.principal ${publicWhere}
     GROUP BY t.bucket, t.object_key, t.principal ORDER BY via > 0 DESC, l DESC, t.bucket, t.object_key, t.principal LIMIT 50`,
    objectWhere.params,
  )).map((r) => ({
    bucket: String(r.bucket),
    objectKey: String(r.object_key),
    principal: String(r.principal),
    calls: n(r.calls),
    sourceIps: Array.isArray(r.ips) ? r.ips.map(String) : [],
    lastSeenMs: ms(r.l),
    principalsEndpointObjects: n(r.via),
  }));
  const [throughEndpoints] = await rowsOf(c, `SELECT count(*) AS n FROM object_access t ${alsoWhere(oWhere, THROUGH_AN_ENDPOINT)}`, objectWhere.params);

  // Writes of other accounts under keys the bucket owner does not hold: their KMS calls are in other accounts'
  // trails, so the per-key sections, which count calls, do not show them (ObjectAccess.correlation).
  const foreignKeyWhere = alsoWhere(oWhere, "t.correlation = 'data-event'");
  const foreignKeyWrites = (await rowsOf(c, `SELECT bucket, object_key, key, principal, sum(calls) AS writes, max(last_seen) AS l FROM object_access t ${foreignKeyWhere} GROUP BY ALL ORDER BY l DESC, bucket, object_key LIMIT 50`, objectWhere.params)).map((r) => ({
    bucket: String(r.bucket),
    objectKey: String(r.object_key),
    key: String(r.key),
    principal: String(r.principal),
    writes: n(r.writes),
    lastSeenMs: ms(r.l),
  }));

  const filterText = Object.entries(filters).map(([k, v]) => `${k}=${k.endsWith('Ms') ? new Date(Number(v)).toISOString() : String(v)}`);
  return {
    title: meta.title,
    source: meta.source,
    generatedAtMs: meta.generatedAtMs,
    ...(filters.fromMs !== undefined ? { periodStartMs: filters.fromMs } : dataStart !== undefined ? { periodStartMs: dataStart } : {}),
    ...(filters.toMs !== undefined ? { periodEndMs: filters.toMs } : range?.l !== null && range?.l !== undefined ? { periodEndMs: ms(range.l) } : {}),
    filters: filterText,
    ...(mark !== undefined ? { historyRemoved: mark } : {}),
    totals: { calls: n(range?.calls), keys: n(keysUsed?.keys), principals: n(range?.principals), objects: n(objectTotal?.objects) },
    keys,
    findings,
    buckets,
    objects,
    publicObjects,
    objectsThroughEndpoints: n(throughEndpoints?.n),
    foreignKeyWrites,
  };
};

export const reportCommand = async (argv: readonly string[], io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream; nowMs: () => number }): Promise<number> => {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.stdout.write(`${REPORT_HELP}\n`);
    return 0;
  }
  // The report takes the history's filters, plus --html (the page) and --title.
  const { values } = parseCommandArgs('report', argv, { options: REPORT_OPTIONS });
  // History's output options would be taken and ignored: a user asking for CSV should hear that the report is HTML.
  const historyOnly = HISTORY_OUTPUT_OPTIONS.filter((o) => values[o] !== undefined);
  if (historyOnly.length > 0) throw new UsageError(`report does not take ${historyOnly.map((o) => `--${o}`).join(', ')} (kdm history does); the report is one HTML page (--html)`);
  // The page counts calls by key, principal and day from the ledger; these would select its objects and findings
  // otherwise than the rest, or not at all (a finding has no path or operation, a ledger row no object key).
  const historyFilters = HISTORY_ONLY_FILTERS.filter((o) => values[o] !== undefined);
  if (historyFilters.length > 0) {
    const one = historyFilters.length === 1;
    throw new UsageError(`report does not take ${historyFilters.map((o) => `--${o}`).join(', ')}: ${one ? 'it' : 'they'} would filter some of the page's sections and not the others; kdm history takes ${one ? 'it' : 'them'} (kdm history --help)`);
  }
  const html = values.html;
  const title = values.title;
  if (html === undefined) throw new UsageError('report needs --html <out.html>');
  const parsed = historyArgsFrom({ ...values, format: 'table' }, 'report');
  if (parsed.values.source !== 'local') throw new UsageError('report reads a local database (--db); for the DynamoDB ledger, export it first with kdm history --source dynamodb --format parquet');
  checkOutputPath(html, 'the report', parsed.values.db);
  const { openLedgerDatabase } = await loadLedgerDatabase();
  const db = await openLedgerDatabase(parsed.values.db as string, { readOnly: true });
  try {
    const data = await gatherReport(db.connection, parsed.filters, { source: parsed.values.db as string, title, generatedAtMs: io.nowMs() });
    for (const note of [dayGrainNote(parsed.filters), await aliasNote(db.connection, parsed.filters), prunedNote(data.historyRemoved)]) {
      if (note !== undefined) io.stderr.write(note);
    }
    writeOutputFile(html, renderReportHtml(data), 'the report');
    io.stderr.write(`kdm: wrote ${safeText(html)}: ${counted(data.keys.length, 'key')}, ${counted(data.findings.length, 'finding')}, ${counted(data.buckets.length, 'bucket')}\n`);
    return 0;
  } finally {
    db.close();
  }
};
