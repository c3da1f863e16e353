import { counted, formatCount } from '#core/counted.ts';
import { isDirectoryBucketName } from '#core/events/s3-arn.ts';
import type { ActivitySummary, SummaryWindow } from '#core/summary.ts';
import { topEntries } from '#core/summary.ts';
import { countByRule, severityRank, type FindingRecord } from '#core/findings/finding.ts';
import type { Suppression } from '#core/engine-config.ts';
import { renderTable, safeText } from './terminal.ts';

const list = (m: ReadonlyMap<string, number>, n = 12): string =>
  topEntries(m, n).map(([k, v]) => `${safeText(k)} ${formatCount(v)}`).join(', ') + (m.size > n ? `, … (${m.size - n} more)` : '');

/**
 * How long reading `records` took, as the summary says it: milliseconds under a second (a replay of a few files,
 * whose rate would be mostly its start), seconds and the rate from there.
 */
const readTime = (records: number, durationMs: number): string =>
  Math.round(durationMs) < 1000 ? `${Math.round(durationMs)} ms` : `${(durationMs / 1000).toFixed(1)} s (${formatCount(Math.round(records / (durationMs / 1000)))} records/s)`;

/** The human summary printed by `kdm replay` (default `--summary table`): of a replay of `window`, if any, into the database file `db`, if any. */
export const formatSummaryTable = (s: ActivitySummary, findings: readonly FindingRecord[], durationMs: number, { window, db }: { readonly window?: SummaryWindow | undefined; readonly db?: string | undefined } = {}): string => {
  const lines: string[] = [];
  const r = s.records;
  lines.push(`kms-decrypt-monitor: read ${counted(s.files.read, 'file')}, ${counted(r.read, 'record')} in ${readTime(r.read, durationMs)}`);
  if (window !== undefined) lines.push(`Window    ${windowText(window)}`);
  lines.push(`Records   processed ${formatCount(r.processed)}, skipped ${formatCount(r.skipped)}${r.skipped > 0 ? ` (${list(r.skippedByReason)})` : ''}, failed ${formatCount(r.failed)}`);
  if (s.files.failed + s.files.skipped > 0) lines.push(`Files     failed ${formatCount(s.files.failed)}, skipped ${formatCount(s.files.skipped)}${s.files.skipped > 0 ? ` (${list(s.files.skippedByReason)})` : ''}`);
  const span = s.firstEventMs !== undefined && s.lastEventMs !== undefined ? `  (${new Date(s.firstEventMs).toISOString()} to ${new Date(s.lastEventMs).toISOString()})` : '';
  const late = s.events.late > 0 ? `, late ${formatCount(s.events.late)}` : '';
  const network = s.events.network > 0 ? `, VPC endpoint network activity ${formatCount(s.events.network)}` : '';
  lines.push(`Events    KMS ${formatCount(s.events.kms)}, S3 object ${formatCount(s.events.s3)}, other ${formatCount(s.events.other)}${network}${late}${span}`);
  if (s.kmsByOperation.size > 0) lines.push(`KMS calls ${list(s.kmsByOperation)}`);
  if (s.kmsErrors.size > 0) lines.push(`KMS errors ${list(s.kmsErrors)}`);
  if (s.s3ByOperation.size > 0) lines.push(`S3 object calls ${list(s.s3ByOperation)}`);

  if (s.keys.size > 0) {
    const rows = [...s.keys]
      .sort((a, b) => b[1].calls - a[1].calls || a[0].localeCompare(b[0]))
      .slice(0, 15)
      .map(([key, k]) => [key, k.alias ?? '', formatCount(k.calls), formatCount(k.s3Made), formatCount(k.direct), formatCount(k.errors), formatCount(k.principals.size), [...k.regions].sort().join(' ')]);
    lines.push('', `Keys (${formatCount(s.keys.size)}; top ${rows.length} by calls)`);
    lines.push(renderTable(['KEY', 'ALIAS', 'CALLS', 'S3-MADE', 'DIRECT', 'ERRORS', 'PRINCIPALS', 'REGIONS'], rows, 90));
  }
  if (s.principals.size > 0) {
    lines.push('', 'Top principals (KMS calls)');
    lines.push(renderTable(['PRINCIPAL', 'CALLS'], topEntries(s.principals, 10).map(([p, n]) => [p, formatCount(n)]), 100));
  }

  const c = s.correlations;
  if (c.object + c.bucket + c.none > 0) {
    lines.push('', `S3-made KMS calls matched to their S3 request: object ${formatCount(c.object)}, bucket (Bucket Keys) ${formatCount(c.bucket)}, unmatched ${formatCount(c.none)}`);
  }
  if (s.buckets.size > 0) {
    // kdm reads none of a directory bucket's data events (S3 Express's own), so it cannot tell whether they are logged.
    const noDataEventsText = (bucket: string): string => (isDirectoryBucketName(bucket) ? 'not read (directory bucket)' : 'no');
    const rows = [...s.buckets]
      .sort((a, b) => a[0].localeCompare(b[0]))
      .slice(0, 20)
      .map(([name, b]) => [name, b.dataEvents > 0 ? `yes (${formatCount(b.dataEvents)})` : noDataEventsText(name), b.bucketKeyCalls > 0 ? 'yes' : 'no', formatCount(b.bucketKeyCalls + b.objectKeyCalls), [...b.sse.keys()].sort().join(' ')]);
    lines.push('', `Buckets (${formatCount(s.buckets.size)})`);
    lines.push(renderTable(['BUCKET', 'DATA EVENTS', 'BUCKET KEYS', 'S3-MADE KMS CALLS', 'SSE SEEN'], rows, 70));
  }

  const active = findings.filter((f) => f.suppressedBy === undefined);
  const suppressed = findings.length - active.length;
  lines.push('', `Findings  ${formatCount(active.length)}${suppressed > 0 ? ` (+${formatCount(suppressed)} suppressed)` : ''}`);
  if (active.length > 0) {
    const byRule = new Map<string, number>();
    for (const f of active) byRule.set(`${f.ruleId} [${f.severity}]`, (byRule.get(`${f.ruleId} [${f.severity}]`) ?? 0) + 1);
    lines.push(renderTable(['RULE', 'FINDINGS'], topEntries(byRule, 20).map(([k, v]) => [k, formatCount(v)]), 80));
    const shown = mostSevere(active, MOST_SEVERE_SHOWN);
    const more = db !== undefined ? `kdm findings --db ${safeText(db)} lists them all, and shows one whole by its id; ` : '';
    lines.push('', `Most severe findings (${formatCount(shown.length)} of ${formatCount(active.length)}; ${more}each in full, as ASFF, with --findings <file>)`);
    for (const f of shown) lines.push(...findingLines(f));
  }
  return lines.join('\n');
};

/**
 * A finding as a list shows it: its severity, rule, when it was last seen and its events (`after` them, anything to
 * add), then its reason and what else its call and principal raised, wrapped under it.
 */
export const findingLines = (f: FindingRecord, after = ''): string[] => {
  const lines = [`${f.severity.padEnd(9)}${safeText(f.ruleId)}  last seen ${new Date(f.lastSeenMs).toISOString()}, ${counted(f.eventCount, 'event')}${after}`];
  const also = alsoRaisedText(f);
  for (const text of also !== undefined ? [f.reason, also] : [f.reason]) for (const line of wrap(safeText(text), REASON_WIDTH)) lines.push(`${INDENT}${line}`);
  return lines;
};

/** Where a listed finding's lines after the first begin: under its rule. */
export const INDENT = ' '.repeat(9);

/** The rules finding ids name, each once, with how many of the findings where more than one. */
const rulesOf = (ids: readonly string[]): string => [...countByRule(ids)].map(([rule, n]) => (n === 1 ? rule : `${rule} (${n})`)).join(', ');

/** What else the finding's call and its principal raised (`related`, `samePrincipal`), or undefined: nothing. */
const alsoRaisedText = (f: FindingRecord): string | undefined => {
  const parts: string[] = [];
  if (f.related !== undefined && f.related.length > 0) parts.push(`on the same call: ${rulesOf(f.related)}`);
  if (f.samePrincipal !== undefined && f.samePrincipal.length > 0) parts.push(`by the same principal within a day: ${rulesOf(f.samePrincipal)}`);
  return parts.length > 0 ? `Also raised ${parts.join('; ')}.` : undefined;
};

const MOST_SEVERE_SHOWN = 10;
export const REASON_WIDTH = 100;

/** Words into lines of at most `width` characters (a longer word, such as an ARN, gets a line of its own). */
export const wrap = (text: string, width: number): string[] => {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      out.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') out.push(line);
  return out;
};

/** The findings an analyst reads first: most severe, then most recent, then by id (so the list is the same each run). */
export const mostSevere = (findings: readonly FindingRecord[], n: number): FindingRecord[] =>
  [...findings].sort((a, b) => severityRank(b.severity) - severityRank(a.severity) || b.lastSeenMs - a.lastSeenMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).slice(0, n);

/** The warning for a configured suppression past its expiry, as `kdm replay` and `kdm config validate` print it. */
export const expiredSuppressionWarning = (s: Suppression): string =>
  `kdm: warning: suppression ${safeText(s.id)} (${s.ruleId}) expired on ${new Date(s.expiresMs).toISOString().slice(0, 10)} and no longer applies\n`;

/** `--from`/`--to`/`--learn-from`/`--delivery-lag` in words: `2026-10-08T00:00:00.000Z to 2026-10-14T23:59:59.999Z, learned from ..., files delivered up to 1d after it`. */
const windowText = (w: SummaryWindow): string => {
  const iso = (ms: number): string => new Date(ms).toISOString();
  const span = w.fromMs !== undefined && w.toMs !== undefined ? `${iso(w.fromMs)} to ${iso(w.toMs)}` : w.fromMs !== undefined ? `from ${iso(w.fromMs)}` : `to ${iso(w.toMs ?? 0)}`;
  const lag = w.toMs !== undefined && w.deliveryLagText !== undefined ? `, files delivered up to ${w.deliveryLagText} after it` : '';
  return `${span}${w.learnFromMs !== undefined ? `, learned from ${iso(w.learnFromMs)}` : ''}${lag}`;
};
