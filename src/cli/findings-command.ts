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
import { severityRank, type FindingRecord } from '#core/findings/finding.ts';
import { expiredSuppressions, withSuppression } from '#core/findings/suppress.ts';
import { compileGlob } from '#core/glob.ts';
import { isFindingsRule, isSeverity, SEVERITIES, type Rule, type Severity } from '#core/rules/define-rule.ts';
import { ALL_RULES, ruleById } from '#core/rules/registry.ts';
import { listOptionValues, parseCommandArgs, positiveWholeNumber } from './arguments.ts';
import { engineConfigFromArgs } from './engine-config-args.ts';
import { alsoRaisedText, expiredSuppressionWarning, REASON_WIDTH, wrap } from './format-summary.ts';
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

const iso = (ms: number): string => new Date(ms).toISOString();

/** Where a finding's call came from, in words: its address, client and VPC endpoint, those it has. */
const networkText = (f: FindingRecord): string | undefined => {
  const { sourceIp, userAgent, vpcEndpointId } = f.network;
  const parts = [sourceIp !== undefined ? `from ${sourceIp}` : undefined, vpcEndpointId !== undefined ? `through ${vpcEndpointId}` : undefined, userAgent !== undefined ? `with ${userAgent}` : undefined];
  const said = parts.filter((p) => p !== undefined);
  return said.length > 0 ? said.join(', ') : undefined;
};

const objectText = (f: FindingRecord): string | undefined =>
  f.s3 === undefined ? undefined : f.s3.objectKey !== undefined ? `s3://${f.s3.bucket}/${f.s3.objectKey}` : `bucket ${f.s3.bucket}`;

/** A finding as a list shows it: as kdm replay's most severe findings, and its id, to ask for it whole. */
export const findingListText = (f: FindingRecord): string => {
  const lines = [`${f.severity.padEnd(9)}${safeText(f.ruleId)}  last seen ${iso(f.lastSeenMs)}, ${counted(f.eventCount, 'event')}${f.suppressedBy !== undefined ? `, suppressed (${safeText(f.suppressedBy.id)})` : ''}`];
  for (const line of wrap(safeText(f.reason), REASON_WIDTH)) lines.push(`${' '.repeat(9)}${line}`);
  const also = alsoRaisedText(f);
  if (also !== undefined) for (const line of wrap(safeText(also), REASON_WIDTH)) lines.push(`${' '.repeat(9)}${line}`);
  lines.push(`${' '.repeat(9)}id ${safeText(f.id)}`);
  return lines.join('\n');
};

/** One finding whole (`--id`): every field an analyst acts on, labelled, and the rule's advice when this version has it. */
export const findingDetailText = (f: FindingRecord, rule: Rule | undefined): string => {
  const rows: [string, string | undefined][] = [
    ['Finding', f.id],
    ['Rule', rule !== undefined ? `${f.ruleId}: ${rule.title} (${rule.status})` : `${f.ruleId} (not a rule of this version)`],
    ['Severity', f.severity],
    ['Principal', `${f.principal.id} (${f.principal.type})${f.principal.sessionName !== undefined ? `, session ${f.principal.sessionName}` : ''}${f.principal.accessKeyId !== undefined ? `, access key ${f.principal.accessKeyId}` : ''}`],
    ['Key', f.key !== undefined ? `${f.key.arn}${f.key.alias !== undefined ? ` (${f.key.alias})` : ''}` : undefined],
    ['Object', objectText(f)],
    ['S3 request', f.s3Request !== undefined ? `${f.s3Request.operation} at ${iso(f.s3Request.eventTimeMs)} (event ${f.s3Request.eventId}), matched by ${f.correlation ?? 'object'}` : undefined],
    ['Where', `account ${f.accountId ?? 'not named'}, ${f.region}${f.api !== '' ? `, ${f.serviceName} ${f.api}` : ''}`],
    ['Network', networkText(f)],
    ['Error', f.errorCode],
    ['Seen', `${iso(f.firstSeenMs)} to ${iso(f.lastSeenMs)}, ${counted(f.eventCount, 'event')}; updated ${iso(f.updatedAtMs)}`],
    ['Events', f.eventIds.length > 0 ? `${f.eventIds.join(', ')}${f.eventIds.length < f.eventCount ? ` (the first ${f.eventIds.length} of ${f.eventCount})` : ''}` : undefined],
    ['Why', f.reason],
    ['Same call', f.related !== undefined && f.related.length > 0 ? f.related.join(', ') : undefined],
    ['Same principal', f.samePrincipal !== undefined && f.samePrincipal.length > 0 ? f.samePrincipal.join(', ') : undefined],
    ['Suppressed', f.suppressedBy !== undefined ? `by ${f.suppressedBy.id}: ${f.suppressedBy.reason}` : undefined],
    ['What to do', rule?.runbook],
    ['Benign when', rule !== undefined && rule.falsePositives.length > 0 ? rule.falsePositives.join('; ') : undefined],
    ['References', rule !== undefined && rule.references.length > 0 ? rule.references.join(' ') : undefined],
  ];
  const width = Math.max(...rows.map(([label]) => label.length)) + 2;
  const lines: string[] = [];
  for (const [label, value] of rows) {
    if (value === undefined) continue;
    const wrapped = wrap(safeText(value), REASON_WIDTH);
    wrapped.forEach((line, i) => lines.push(`${(i === 0 ? label : '').padEnd(width)}${line}`));
  }
  return `${lines.join('\n')}\n`;
};

/** The columns of csv and json: a finding's fields, flat, named as kdm history names its columns. */
const FINDING_COLUMNS = [
  'id', 'rule', 'severity', 'first_seen', 'last_seen', 'updated_at', 'events', 'principal', 'principal_type', 'session', 'key', 'key_alias', 'bucket',
  'object_key', 'account', 'region', 'api', 'source_ip', 'user_agent', 'vpc_endpoint', 'error', 'reason', 'suppressed_by', 'suppression_reason', 'event_ids',
  'same_call', 'same_principal',
] as const;

export const findingRow = (f: FindingRecord): Record<(typeof FINDING_COLUMNS)[number], unknown> => ({
  id: f.id,
  rule: f.ruleId,
  severity: f.severity,
  first_seen: iso(f.firstSeenMs),
  last_seen: iso(f.lastSeenMs),
  updated_at: iso(f.updatedAtMs),
  events: f.eventCount,
  principal: f.principal.id,
  principal_type: f.principal.type,
  session: f.principal.sessionName ?? null,
  key: f.key?.arn ?? null,
  key_alias: f.key?.alias ?? null,
  bucket: f.s3?.bucket ?? null,
  object_key: f.s3?.objectKey ?? null,
  account: f.accountId ?? null,
  region: f.region,
  api: f.api === '' ? null : f.api,
  source_ip: f.network.sourceIp ?? null,
  user_agent: f.network.userAgent ?? null,
  vpc_endpoint: f.network.vpcEndpointId ?? null,
  error: f.errorCode ?? null,
  reason: f.reason,
  suppressed_by: f.suppressedBy?.id ?? null,
  suppression_reason: f.suppressedBy?.reason ?? null,
  event_ids: f.eventIds,
  same_call: f.related ?? [],
  same_principal: f.samePrincipal ?? [],
});

/** What `--group-by` counts findings by: `day` is the UTC day a finding was first seen. */
export const FINDING_GROUP_FIELDS = ['rule', 'severity', 'principal', 'key', 'account', 'region', 'bucket', 'day'] as const;
type FindingGroupField = (typeof FINDING_GROUP_FIELDS)[number];

const groupValue = (f: FindingRecord, field: FindingGroupField): string | null => {
  switch (field) {
    case 'rule':
      return f.ruleId;
    case 'severity':
      return f.severity;
    case 'principal':
      return f.principal.id;
    case 'key':
      return f.key?.arn ?? null;
    case 'account':
      return f.accountId ?? null;
    case 'region':
      return f.region;
    case 'bucket':
      return f.s3?.bucket ?? null;
    case 'day':
      return iso(f.firstSeenMs).slice(0, 10);
  }
};

/**
 * The events a finding counts as its own: none for a rule over findings' (its count is the events of the findings it
 * names, which count them under their own rules).
 */
const ownEvents = (f: FindingRecord): number => {
  const rule = ruleById(f.ruleId);
  return rule !== undefined && isFindingsRule(rule) ? 0 : f.eventCount;
};

/**
 * The findings counted by `groupBy`: each group's findings and events (`ownEvents`), its most severe finding's
 * severity (unless grouped by severity), and when its findings were first and last seen; most findings first, then
 * most severe, then by the groups' values. Grouped by day among others, newest day first, as kdm history's timeline.
 */
export const groupFindings = (findings: readonly FindingRecord[], groupBy: readonly FindingGroupField[]): QueryRows => {
  const groups = new Map<string, { values: (string | null)[]; findings: number; events: number; severity: Severity; firstMs: number; lastMs: number }>();
  for (const f of findings) {
    const values = groupBy.map((g) => groupValue(f, g));
    const key = JSON.stringify(values);
    const group = groups.get(key);
    if (group === undefined) groups.set(key, { values, findings: 1, events: ownEvents(f), severity: f.severity, firstMs: f.firstSeenMs, lastMs: f.lastSeenMs });
    else {
      group.findings++;
      group.events += ownEvents(f);
      if (severityRank(f.severity) > severityRank(group.severity)) group.severity = f.severity;
      group.firstMs = Math.min(group.firstMs, f.firstSeenMs);
      group.lastMs = Math.max(group.lastMs, f.lastSeenMs);
    }
  }
  const bySeverity = !groupBy.includes('severity');
  const columns = [...groupBy, 'findings', 'events', ...(bySeverity ? ['highest_severity'] : []), 'first_seen', 'last_seen'];
  const order = (a: { values: (string | null)[] }, b: { values: (string | null)[] }): number => {
    for (let i = 0; i < a.values.length; i++) {
      const x = a.values[i] ?? '';
      const y = b.values[i] ?? '';
      if (x !== y) return x < y ? -1 : 1;
    }
    return 0;
  };
  const dayAt = groupBy.indexOf('day');
  const newestDay = (a: { values: (string | null)[] }, b: { values: (string | null)[] }): number => (dayAt < 0 ? 0 : String(b.values[dayAt]).localeCompare(String(a.values[dayAt])));
  const rows = [...groups.values()]
    .sort((a, b) => newestDay(a, b) || b.findings - a.findings || severityRank(b.severity) - severityRank(a.severity) || order(a, b))
    .map((g) => {
      const row: Record<string, unknown> = {};
      groupBy.forEach((field, i) => (row[field] = g.values[i]));
      row['findings'] = g.findings;
      row['events'] = g.events;
      if (bySeverity) row['highest_severity'] = g.severity;
      row['first_seen'] = iso(g.firstMs);
      row['last_seen'] = iso(g.lastMs);
      return row;
    });
  return { columns, rows };
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
    const selection: FindingsSelection = {
      ...(args.id !== undefined ? { id: args.id } : {}),
      ...(args.rulePatterns.length > 0 ? { ruleIds: rulesMatching(args.rulePatterns, await storedFindingRules(db.connection)) } : {}),
      ...(args.severities !== undefined ? { severities: args.severities } : {}),
      // A finding asked for by its id is shown whatever marks it; with --config, which are suppressed is decided below.
      suppressed: args.suppressed || args.id !== undefined || suppressions !== undefined,
      // --limit counts the findings shown, or with --group-by the groups: then it applies once they are counted.
      ...(args.limit !== undefined && suppressions === undefined && args.groupBy.length === 0 ? { limit: args.limit } : {}),
    };
    const query = findingsQuery(args.filters, selection);
    for (const note of [await aliasNote(db.connection, args.filters), prunedNote(pruneReached(await pruneMark(db.connection), args.filters))]) {
      if (note !== undefined) io.stderr.write(note);
    }
    const read = await readFindings(db.connection, query.rows);
    const { unreadable } = read;
    for (const u of unreadable) io.stderr.write(`kdm: finding ${safeText(u.id)} in ${safeText(args.db)} cannot be read: ${safeText(u.reason)}; left out\n`);
    const decided = suppressions === undefined ? undefined : decideSuppressions(read.findings, suppressions, nowMs);
    if (args.id !== undefined) {
      const found = (decided?.findings ?? read.findings)[0];
      if (found === undefined) {
        if (unreadable.length > 0) return 2;
        throw new UsageError(`${args.db} holds no finding ${args.id} (kdm findings --db ${args.db} lists them, each with its id)`);
      }
      io.stdout.write(findingDetailText(found, ruleById(found.ruleId)));
      return 0;
    }
    let findings = read.findings;
    let suppressedLeftOut: number;
    if (decided !== undefined) {
      const shown = args.suppressed ? decided.findings : decided.findings.filter((f) => f.suppressedBy === undefined);
      suppressedLeftOut = decided.findings.length - shown.length;
      findings = args.limit !== undefined && args.groupBy.length === 0 ? shown.slice(0, args.limit) : shown;
    } else suppressedLeftOut = Number((await db.connection.runAndReadAll(query.suppressedLeftOut.sql, query.suppressedLeftOut.params)).getRowObjectsJson()[0]?.['n'] ?? 0);

    let text: string;
    let grouped: number | undefined;
    const withoutRule: string[] = [];
    if (args.format === 'asff' || args.format === 'ocsf') {
      const lines: string[] = [];
      for (const f of findings) {
        const rule = ruleById(f.ruleId);
        if (rule === undefined) withoutRule.push(f.ruleId);
        else lines.push(stringifyJsonSafely(renderFinding(f, rule, args.format, io.version)));
      }
      text = lines.map((l) => `${l}\n`).join('');
    } else if (args.groupBy.length > 0) {
      const groups = groupFindings(findings, args.groupBy);
      grouped = groups.rows.length;
      const shown: QueryRows = args.limit !== undefined ? { columns: groups.columns, rows: groups.rows.slice(0, args.limit) } : groups;
      text = args.format === 'csv' ? toCsv(shown) : args.format === 'json' ? `${stringifyJsonSafely(shown.rows, 2)}\n` : shown.rows.length === 0 ? '(no matching findings)\n' : toTable(shown);
    } else if (args.format === 'csv' || args.format === 'json') {
      const rows: QueryRows = { columns: FINDING_COLUMNS, rows: findings.map(findingRow) };
      text = args.format === 'csv' ? toCsv(rows) : `${stringifyJsonSafely(rows.rows, 2)}\n`;
    } else text = findings.length === 0 ? '(no matching findings)\n' : `${findings.map(findingListText).join('\n')}\n`;

    const written = findings.length - withoutRule.length;
    if (args.out !== undefined) writeOutputFile(args.out, text, 'the findings');
    else io.stdout.write(text);
    const told = [
      `${counted(written, 'finding')}${grouped !== undefined ? ` in ${counted(grouped, 'group')}` : ''}${args.out !== undefined ? ` written to ${safeText(args.out)}` : ''}`,
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
