import type { ParseArgsConfig } from 'node:util';
import type { DuckDBConnection } from '@duckdb/node-api';
import { loadLedgerDatabase } from '#adapters/local/duckdb-allocator.ts';
import { pruneMark } from '#adapters/local/ledger-prune.ts';
import { findingsQuery, storedFindingRules, type FindingsSelection, type HistoryFilters, type QueryRows } from '#adapters/local/ledger-queries.ts';
import { decodeState } from '#adapters/state-codec.ts';
import { counted, formatCount } from '#core/counted.ts';
import type { Suppression } from '#core/engine-config.ts';
import { UsageError } from '#core/errors.ts';
import { stringifyJsonSafely } from '#core/events/fields.ts';
import type { FindingRecord } from '#core/findings/finding.ts';
import { expiredSuppressions, withSuppression } from '#core/findings/suppress.ts';
import { compileGlob } from '#core/glob.ts';
import { isSeverity, SEVERITIES } from '#core/rules/define-rule.ts';
import { ALL_RULES, ruleById } from '#core/rules/registry.ts';
import { listOptionValues, parseCommandArgs, positiveWholeNumber } from './arguments.ts';
import { engineConfigFromArgs } from './engine-config-args.ts';
import { FINDING_COLUMNS, FINDING_GROUP_FIELDS, findingDetailText, findingListText, findingRow, groupFindings, type FindingGroupField } from './finding-views.ts';
import { expiredSuppressionWarning } from './format-summary.ts';
import { aliasNote, commonFiltersFrom, prunedNote, pruneReached, toCsv, toTable } from './history.ts';
import { checkOutputPath, writeOutputFile } from './output-file.ts';
import { renderFinding } from './render-finding.ts';
import { safeText } from './terminal.ts';

export const FINDINGS_FORMATS = ['text', 'csv', 'json', 'asff', 'ocsf'] as const;
type FindingsOutput = (typeof FINDINGS_FORMATS)[number];

export const FINDINGS_HELP = `kdm findings — the findings a database holds, to triage, hand over or send again (from kdm replay --db)

Usage: kdm findings --db <file> [filters] [--format text|csv|json|asff|ocsf] [--out <file>] [--limit <n>]
       kdm findings --db <file> --id <finding id>     one finding whole: who, which key and object, from where,
                                                      why, its events, what else was raised, what to do

Filters:
  --rule <id, * wildcards>   (repeated or comma-separated; kdm rules list names them)
  --severity <LOW|MEDIUM|HIGH|CRITICAL>   that severity and above
  --key <arn|key id|alias>   --principal <pattern, * wildcards>   --account <id>   --bucket <name>
  --prefix <object key prefix, * wildcards>
  --from <YYYY-MM-DD|time>   --to <YYYY-MM-DD|time>   (inclusive; a date alone means the whole day): the
                             findings seen at any time within the range
  --suppressed               the findings a suppression marks too (left out otherwise, and counted)
  --config <file>            decide the suppressions again with this configuration's, as of now, and count
                             the findings that changes (the marks stored are those of the replay that made
                             them): to try a suppression on the findings already found. The findings of
                             kms-principal-several-anomalies are not judged again (a replay does that)
Order: most severe first, then most recently seen, then by id; --limit <n> keeps the first n.
Counting: --group-by rule,severity,principal,key,account,region,bucket,day (comma-separated or repeated; day is
  the UTC day a finding was first seen) counts the findings, events, highest severity and first and last seen of
  each group, most findings first (by day, newest day first): which principals and rules a week's findings come
  from (text, csv or json). A kms-principal-several-anomalies finding counts no events of its own.
Output: text (default, on stdout): each finding as kdm replay lists its most severe ones, with its id;
  csv or json: a row a finding (id, rule, severity, times, events, principal, key, object, account, region,
  network, reason, suppression, the findings it names), on stdout or --out;
  asff or ocsf: a finding a line, as kdm replay --findings writes them (a finding whose activity named no
  account is under 000000000000 in ASFF). A finding of a rule this version does not have is left out of
  asff and ocsf, and said.`;

export const FINDINGS_OPTIONS = {
  db: { type: 'string' },
  id: { type: 'string' },
  rule: { type: 'string', multiple: true },
  severity: { type: 'string' },
  key: { type: 'string' },
  principal: { type: 'string' },
  account: { type: 'string' },
  bucket: { type: 'string' },
  prefix: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  suppressed: { type: 'boolean', default: false },
  config: { type: 'string' },
  'group-by': { type: 'string', multiple: true },
  format: { type: 'string', default: 'text' },
  out: { type: 'string' },
  limit: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

export const parseFindingsArgs = (argv: readonly string[]) => {
  const { values } = parseCommandArgs('findings', argv, { options: FINDINGS_OPTIONS });
  if (values.db === undefined) throw new UsageError('findings needs --db <file> (a database built by `kdm replay <logs> --db <file>`)');
  const filters: HistoryFilters = commonFiltersFrom(values);
  const format = values.format;
  if (!(FINDINGS_FORMATS as readonly string[]).includes(format)) throw new UsageError(`--format must be ${FINDINGS_FORMATS.join(', ')} (got "${format}")`);
  let severities: string[] | undefined;
  if (values.severity !== undefined) {
    const at = values.severity.toUpperCase();
    if (!isSeverity(at)) throw new UsageError(`--severity takes ${SEVERITIES.join(', ')} (got "${values.severity}")`);
    severities = SEVERITIES.slice(SEVERITIES.indexOf(at));
  }
  const limit = positiveWholeNumber('limit', values.limit);
  const rulePatterns = listOptionValues(values.rule);
  const groupBy = listOptionValues(values['group-by']);
  for (const g of groupBy) if (!(FINDING_GROUP_FIELDS as readonly string[]).includes(g)) throw new UsageError(`--group-by takes ${FINDING_GROUP_FIELDS.join(', ')} (got "${g}")`);
  if (groupBy.length > 0 && (format === 'asff' || format === 'ocsf')) throw new UsageError(`--group-by counts findings, and --format ${format} writes findings: use text, csv or json`);
  // One finding whole is looked up by its id alone: a filter beside it would only hide it.
  if (values.id !== undefined) {
    const beside = ['rule', 'severity', 'key', 'principal', 'account', 'bucket', 'prefix', 'from', 'to', 'limit', 'group-by'].filter((name) => values[name as keyof typeof values] !== undefined);
    if (beside.length > 0) throw new UsageError(`--id names one finding, and takes no filter beside it (got --${beside.join(', --')})`);
  }
  return {
    db: values.db,
    id: values.id,
    filters,
    rulePatterns,
    severities,
    suppressed: values.suppressed,
    config: values.config,
    groupBy: groupBy as FindingGroupField[],
    format: format as FindingsOutput,
    out: values.out,
    limit,
  };
};

/**
 * The rule ids `patterns` select among the monitor's rules and those the database's findings name (a rule of an
 * earlier version), each pattern matching at least one: a pattern that matches none is a typo, told rather than
 * answered with no findings.
 */
export const rulesMatching = (patterns: readonly string[], stored: readonly string[]): string[] => {
  const known = [...new Set([...ALL_RULES.map((r) => r.id), ...stored])].sort();
  const selected = new Set<string>();
  for (const pattern of patterns) {
    const glob = compileGlob(pattern);
    const matched = known.filter((id) => glob.test(id));
    if (matched.length === 0) throw new UsageError(`--rule ${pattern} names no rule (kdm rules list names them)`);
    for (const id of matched) selected.add(id);
  }
  return [...selected].sort();
};

/** A stored record that does not read back as a finding: the row's id, and why. */
interface UnreadableFinding {
  readonly id: string;
  readonly reason: string;
}

/** The selected findings, read back from their stored records; those that do not read are named, not dropped. */
const readFindings = async (connection: DuckDBConnection, query: ReturnType<typeof findingsQuery>['rows']): Promise<{ findings: FindingRecord[]; unreadable: UnreadableFinding[] }> => {
  const rows = (await connection.runAndReadAll(query.sql, query.params)).getRowObjectsJson() as { id: string; record: string | null }[];
  const findings: FindingRecord[] = [];
  const unreadable: UnreadableFinding[] = [];
  for (const row of rows) {
    try {
      const record = row.record === null ? undefined : (decodeState(row.record) as Partial<FindingRecord> | undefined);
      if (record?.kind !== 'finding' || typeof record.ruleId !== 'string' || typeof record.reason !== 'string' || record.principal === undefined || record.network === undefined) {
        unreadable.push({ id: row.id, reason: row.record === null ? 'no record stored' : 'its record is not a finding' });
      } else findings.push(record as FindingRecord);
    } catch (error) {
      unreadable.push({ id: row.id, reason: `its record is not JSON (${(error as Error).message})` });
    }
  }
  return { findings, unreadable };
};

/**
 * The findings as `suppressions` decide them at `nowMs` (`withSuppression`, as a replay marks them), in the same
 * order, and how many of them that newly suppresses or no longer does.
 */
export const decideSuppressions = (findings: readonly FindingRecord[], suppressions: readonly Suppression[], nowMs: number): { findings: FindingRecord[]; newlySuppressed: number; noLongerSuppressed: number } => {
  let newlySuppressed = 0;
  let noLongerSuppressed = 0;
  const decided = findings.map((f) => {
    const now = withSuppression(f, suppressions, nowMs);
    if (now.suppressedBy !== undefined && f.suppressedBy === undefined) newlySuppressed++;
    if (now.suppressedBy === undefined && f.suppressedBy !== undefined) noLongerSuppressed++;
    return now;
  });
  return { findings: decided, newlySuppressed, noLongerSuppressed };
};

type FindingsArgs = ReturnType<typeof parseFindingsArgs>;

/**
 * What the arguments select in SQL. With `rejudged` (--config), the suppressed ones too and no --limit: which are
 * suppressed is decided after reading. With --group-by, no --limit either: it counts groups.
 */
const selectionOf = async (connection: DuckDBConnection, args: FindingsArgs, rejudged: boolean): Promise<FindingsSelection> => ({
  ...(args.id !== undefined ? { id: args.id } : {}),
  ...(args.rulePatterns.length > 0 ? { ruleIds: rulesMatching(args.rulePatterns, await storedFindingRules(connection)) } : {}),
  ...(args.severities !== undefined ? { severities: args.severities } : {}),
  // A finding asked for by its id is shown whatever marks it.
  suppressed: args.suppressed || args.id !== undefined || rejudged,
  ...(args.limit !== undefined && !rejudged && args.groupBy.length === 0 ? { limit: args.limit } : {}),
});

/** The selected findings to show, those that could not be read, the suppressed ones left out, and --config's changes. */
const readSelected = async (connection: DuckDBConnection, args: FindingsArgs, selection: FindingsSelection, suppressions: readonly Suppression[] | undefined, nowMs: number) => {
  const query = findingsQuery(args.filters, selection);
  const { findings, unreadable } = await readFindings(connection, query.rows);
  if (suppressions === undefined) {
    const suppressedLeftOut = selection.suppressed ? 0 : Number((await connection.runAndReadAll(query.suppressedLeftOut.sql, query.suppressedLeftOut.params)).getRowObjectsJson()[0]?.['n'] ?? 0);
    return { findings, unreadable, suppressedLeftOut, decided: undefined };
  }
  const decided = decideSuppressions(findings, suppressions, nowMs);
  const shown = args.suppressed || args.id !== undefined ? decided.findings : decided.findings.filter((f) => f.suppressedBy === undefined);
  const limited = args.limit !== undefined && args.groupBy.length === 0 ? shown.slice(0, args.limit) : shown;
  return { findings: limited, unreadable, suppressedLeftOut: decided.findings.length - shown.length, decided };
};

/** The findings in the format asked for; the groups counted (--group-by), and the rules ASFF and OCSF lacked. */
const renderFindings = (findings: readonly FindingRecord[], args: FindingsArgs, version: string): { text: string; grouped?: number; withoutRule: string[] } => {
  const withoutRule: string[] = [];
  if (args.format === 'asff' || args.format === 'ocsf') {
    let text = '';
    for (const f of findings) {
      const rule = ruleById(f.ruleId);
      if (rule === undefined) withoutRule.push(f.ruleId);
      else text += `${stringifyJsonSafely(renderFinding(f, rule, args.format, version))}\n`;
    }
    return { text, withoutRule };
  }
  const table = (rows: QueryRows): string =>
    args.format === 'csv' ? toCsv(rows) : args.format === 'json' ? `${stringifyJsonSafely(rows.rows, 2)}\n` : rows.rows.length === 0 ? '(no matching findings)\n' : toTable(rows);
  if (args.groupBy.length > 0) {
    const groups = groupFindings(findings, args.groupBy);
    return { text: table(args.limit !== undefined ? { columns: groups.columns, rows: groups.rows.slice(0, args.limit) } : groups), grouped: groups.rows.length, withoutRule };
  }
  if (args.format === 'text') return { text: findings.length === 0 ? '(no matching findings)\n' : `${findings.map(findingListText).join('\n')}\n`, withoutRule };
  return { text: table({ columns: FINDING_COLUMNS, rows: findings.map(findingRow) }), withoutRule };
};

export const findingsCommand = async (argv: readonly string[], io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream; version: string; nowMs: () => number }): Promise<number> => {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.stdout.write(`${FINDINGS_HELP}\n`);
    return 0;
  }
  const args = parseFindingsArgs(argv);
  if (args.out !== undefined) checkOutputPath(args.out, 'the findings', args.db);
  // --config decides the suppressions again, as of now: the stored marks are those of the replay that made them.
  const suppressions = args.config === undefined ? undefined : (await engineConfigFromArgs(args.config, undefined)).config.suppressions;
  const nowMs = io.nowMs();
  for (const s of expiredSuppressions(suppressions ?? [], nowMs)) io.stderr.write(expiredSuppressionWarning(s));
  // DuckDB loads here, not with the CLI: the commands that open no database start sooner without it.
  const { openLedgerDatabase } = await loadLedgerDatabase();
  const db = await openLedgerDatabase(args.db, { readOnly: true });
  try {
    const selection = await selectionOf(db.connection, args, suppressions !== undefined);
    for (const note of [await aliasNote(db.connection, args.filters), prunedNote(pruneReached(await pruneMark(db.connection), args.filters))]) {
      if (note !== undefined) io.stderr.write(note);
    }
    const { findings, unreadable, suppressedLeftOut, decided } = await readSelected(db.connection, args, selection, suppressions, nowMs);
    for (const u of unreadable) io.stderr.write(`kdm: finding ${safeText(u.id)} in ${safeText(args.db)} cannot be read: ${safeText(u.reason)}; left out\n`);
    if (args.id !== undefined) {
      const found = findings[0];
      if (found === undefined) {
        if (unreadable.length > 0) return 2;
        throw new UsageError(`${args.db} holds no finding ${args.id} (kdm findings --db ${args.db} lists them, each with its id)`);
      }
      io.stdout.write(findingDetailText(found, ruleById(found.ruleId)));
      return 0;
    }

    const { text, grouped, withoutRule } = renderFindings(findings, args, io.version);
    if (args.out !== undefined) writeOutputFile(args.out, text, 'the findings');
    else io.stdout.write(text);
    const told = [
      `${counted(findings.length - withoutRule.length, 'finding')}${grouped !== undefined ? ` in ${counted(grouped, 'group')}` : ''}${args.out !== undefined ? ` written to ${safeText(args.out)}` : ''}`,
      ...(suppressedLeftOut > 0 ? [`${counted(suppressedLeftOut, 'suppressed finding')} left out (--suppressed shows them)`] : []),
      ...(decided !== undefined ? [`by ${safeText(args.config ?? '')}'s suppressions, ${counted(decided.newlySuppressed, 'finding')} newly suppressed and ${formatCount(decided.noLongerSuppressed)} no longer`] : []),
      ...(withoutRule.length > 0 ? [`${counted(withoutRule.length, 'finding')} of rules this version does not have (${[...new Set(withoutRule)].map(safeText).join(', ')}) left out of ${args.format.toUpperCase()}`] : []),
      ...(unreadable.length > 0 ? [`${counted(unreadable.length, 'finding')} that could not be read left out`] : []),
    ];
    io.stderr.write(`kdm: ${told.join('; ')}\n`);
    // As a replay that could not read some of its input: the rest was written, and what was not is named above.
    return unreadable.length > 0 ? 2 : 0;
  } finally {
    db.close();
  }
};
