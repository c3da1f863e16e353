import type { QueryRows } from '#adapters/local/ledger-queries.ts';
import { counted } from '#core/counted.ts';
import { severityRank, type FindingRecord } from '#core/findings/finding.ts';
import type { Rule, Severity } from '#core/rules/define-rule.ts';
import { findingLines, INDENT, REASON_WIDTH, wrap } from './format-summary.ts';
import { safeText } from './terminal.ts';

// How kdm findings shows stored findings: a list, one whole, a row of csv or json, or counts by group.

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
export const findingListText = (f: FindingRecord): string =>
  [...findingLines(f, f.suppressedBy !== undefined ? `, suppressed (${safeText(f.suppressedBy.id)})` : ''), `${INDENT}id ${safeText(f.id)}`].join('\n');

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
export const FINDING_COLUMNS = [
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
export type FindingGroupField = (typeof FINDING_GROUP_FIELDS)[number];

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
 * The events a finding counts as its own: none for one that keeps no event ids (a rule over findings', whose count is
 * the events of the findings it names, counted under their own rules), as the backtest's scoring and ASFF tell it.
 */
const ownEvents = (f: FindingRecord): number => (f.eventIds.length > 0 ? f.eventCount : 0);

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
