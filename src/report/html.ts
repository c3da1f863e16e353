/**
 * `kdm report --html`: one self-contained page for auditors. Pure (data in, HTML string out): no network,
 * no scripts, charts as inline SVG, and every string from events escaped. A Content-Security-Policy that
 * forbids scripts and remote loads backs the escaping up.
 */

import { counted, formatCount } from '#core/counted.ts';
import { replaceUnsafeCharacters } from '#core/events/fields.ts';
import { isDirectoryBucketName } from '#core/events/s3-arn.ts';
import { ruleIdOfFindingId } from '#core/findings/finding.ts';

export interface ReportPrincipal {
  readonly principal: string;
  readonly calls: number;
  readonly objects: number;
  readonly firstSeenMs: number;
  readonly lastSeenMs: number;
}

export interface ReportKey {
  readonly key: string;
  readonly alias?: string;
  readonly calls: number;
  readonly principals: number;
  readonly errors: number;
  /** The key's calls by operation, the most first: a signing key's Sign apart from a data key's Decrypt. */
  readonly operations: readonly { readonly operation: string; readonly calls: number }[];
  /**
   * The key's calls by the network they came through (a VPC endpoint's id, `public`, or '' where the records said
   * neither), the most first: whether its data left only through the endpoints it should.
   */
  readonly networks: readonly { readonly network: string; readonly calls: number }[];
  /** Calls per UTC day and principal. */
  readonly perDay: readonly { readonly day: string; readonly principal: string; readonly calls: number }[];
  readonly topPrincipals: readonly ReportPrincipal[];
  /** Principals whose first call with the key falls inside the period. */
  readonly newPrincipals: readonly { readonly principal: string; readonly firstSeenMs: number; readonly calls: number }[];
}

export interface ReportFinding {
  readonly id: string;
  readonly ruleId: string;
  readonly severity: string;
  readonly reason: string;
  readonly firstSeenMs: number;
  readonly lastSeenMs: number;
  readonly eventCount: number;
  readonly eventIds: readonly string[];
  readonly key?: string;
  readonly principal: string;
  readonly bucket?: string;
  readonly objectKey?: string;
  readonly suppressedBy?: string;
  /** The findings other rules raised on its events (`FindingRecord.related`). */
  readonly related?: readonly string[];
  /** The other findings of its principal within a day of it (`FindingRecord.samePrincipal`). */
  readonly samePrincipal?: readonly string[];
}

export interface ReportBucket {
  readonly bucket: string;
  readonly dataEvents: number;
  readonly readEvents: number;
  readonly bucketKeyCalls: number;
  readonly objectKeyCalls: number;
  readonly sse: Readonly<Record<string, number>>;
  readonly kmsKeys: Readonly<Record<string, number>>;
}

export interface ReportObject {
  readonly bucket: string;
  readonly objectKey: string;
  readonly calls: number;
  readonly principals: number;
  readonly sourceIps: readonly string[];
}

/** An object a principal opened through S3's public endpoint (its object record's network `public`). */
export interface ReportPublicObject {
  readonly bucket: string;
  readonly objectKey: string;
  readonly principal: string;
  readonly calls: number;
  readonly sourceIps: readonly string[];
  readonly lastSeenMs: number;
  /** The principal's object records that came through a VPC endpoint in the period: more than none makes this one stand out. */
  readonly principalsEndpointObjects: number;
}

/** An object a principal of another account wrote under a key the bucket owner does not hold (`correlation` `data-event`). */
export interface ReportForeignKeyWrite {
  readonly bucket: string;
  readonly objectKey: string;
  readonly key: string;
  readonly principal: string;
  readonly writes: number;
  readonly lastSeenMs: number;
}

export interface ReportData {
  readonly title: string;
  readonly source: string;
  readonly generatedAtMs: number;
  readonly periodStartMs?: number;
  readonly periodEndMs?: number;
  readonly filters: readonly string[];
  /** The day before which `kdm prune` removed the history, if it did, and the ledger rows of those days replayed since. */
  readonly historyRemoved?: { readonly removedBefore: string; readonly rowsReplayedSince: number };
  readonly totals: { readonly calls: number; readonly keys: number; readonly principals: number; readonly objects: number };
  readonly keys: readonly ReportKey[];
  readonly findings: readonly ReportFinding[];
  readonly buckets: readonly ReportBucket[];
  readonly objects: readonly ReportObject[];
  /** Objects opened through S3's public endpoint: those of principals with reads through endpoints first, then the newest (at most 50). */
  readonly publicObjects: readonly ReportPublicObject[];
  /** Object records whose requests came through a VPC endpoint: with none, every read is public, and the list says so. */
  readonly objectsThroughEndpoints: number;
  /** The latest of them, newest first (at most 50). */
  readonly foreignKeyWrites: readonly ReportForeignKeyWrite[];
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text and attribute values from events are always escaped; control and bidi characters are shown as U+FFFD. */
export const escapeHtml = (value: unknown): string =>
  replaceUnsafeCharacters(String(value ?? ''), '\ufffd').replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);

/**
 * The principals whose active findings are of more than one rule, each with those findings in the order of their
 * first event: most rules first, then the latest seen.
 */
export const principalsOfSeveralRules = (
  findings: readonly ReportFinding[],
): { readonly principal: string; readonly findings: readonly ReportFinding[]; readonly firstSeenMs: number; readonly lastSeenMs: number }[] => {
  const byPrincipal = new Map<string, ReportFinding[]>();
  for (const f of findings) {
    if (f.suppressedBy !== undefined || f.principal === '') continue;
    const own = byPrincipal.get(f.principal);
    if (own === undefined) byPrincipal.set(f.principal, [f]);
    else own.push(f);
  }
  return [...byPrincipal]
    .map(([principal, fs]) => ({
      principal,
      rules: new Set(fs.map((f) => f.ruleId)).size,
      findings: [...fs].sort((a, b) => a.firstSeenMs - b.firstSeenMs || (a.id < b.id ? -1 : 1)),
      firstSeenMs: Math.min(...fs.map((f) => f.firstSeenMs)),
      lastSeenMs: Math.max(...fs.map((f) => f.lastSeenMs)),
    }))
    .filter((p) => p.rules > 1)
    .sort((a, b) => b.rules - a.rules || b.lastSeenMs - a.lastSeenMs || (a.principal < b.principal ? -1 : 1))
    .map(({ rules: _, ...p }) => p);
};

const iso = (ms: number | undefined): string => (ms === undefined ? '' : new Date(ms).toISOString().replace('.000Z', 'Z'));
/** Anchor ids from finding ids: only safe characters survive. */
const anchor = (prefix: string, id: string): string => `${prefix}-${id.replace(/[^A-Za-z0-9_-]/g, '_')}`;

const removedNote = (removed: ReportData['historyRemoved']): string => {
  if (removed === undefined) return '';
  const since = removed.rowsReplayedSince > 0 ? `, but for ${counted(removed.rowsReplayedSince, 'ledger row')} replayed since` : '';
  return ` · History before ${escapeHtml(removed.removedBefore)} removed (kdm prune)${since}`;
};

const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#7f7f7f'];

/** Stacked bars of calls per day, one colour per principal (the top six, then "others"). */
export const timelineSvg = (perDay: ReportKey['perDay'], label: string): string => {
  if (perDay.length === 0) return '<p class="muted">No calls in the period.</p>';
  const totalsByPrincipal = new Map<string, number>();
  for (const p of perDay) totalsByPrincipal.set(p.principal, (totalsByPrincipal.get(p.principal) ?? 0) + p.calls);
  const top = [...totalsByPrincipal].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([p]) => p);
  const series = (p: string): string => (top.includes(p) ? p : 'others');
  const names = [...top, ...(totalsByPrincipal.size > top.length ? ['others'] : [])];
  const days = [...new Set(perDay.map((p) => p.day))].sort();
  const stacks = new Map<string, Map<string, number>>();
  for (const p of perDay) {
    const byName = stacks.get(p.day) ?? new Map<string, number>();
    byName.set(series(p.principal), (byName.get(series(p.principal)) ?? 0) + p.calls);
    stacks.set(p.day, byName);
  }
  const max = Math.max(1, ...[...stacks.values()].map((m) => [...m.values()].reduce((a, b) => a + b, 0)));
  const barW = Math.max(6, Math.min(32, Math.floor(720 / days.length) - 2));
  // A day's label ("10-01") is about 30 px wide at the axis' 10 px: with narrower bars, every n-th day is labelled.
  const labelEvery = Math.ceil(34 / (barW + 2));
  const chartH = 160;
  const left = 48;
  const width = left + days.length * (barW + 2) + 10;
  const height = chartH + 40;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart timeline" role="img" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" aria-label="${escapeHtml(label)}">`,
    `<line x1="${left}" y1="${chartH}" x2="${width - 5}" y2="${chartH}" stroke="#999"/>`,
    `<text x="${left - 6}" y="12" text-anchor="end" class="axis">${formatCount(max)}</text>`,
    `<text x="${left - 6}" y="${chartH}" text-anchor="end" class="axis">0</text>`,
  ];
  days.forEach((d, i) => {
    const x = left + i * (barW + 2);
    let y = chartH;
    const byName = stacks.get(d) ?? new Map<string, number>();
    names.forEach((n, j) => {
      const calls = byName.get(n) ?? 0;
      if (calls === 0) return;
      const h = Math.max(1, Math.round((calls / max) * (chartH - 16)));
      y -= h;
      parts.push(`<rect x="${x}" y="${y}" width="${barW}" height="${h}" fill="${PALETTE[j % PALETTE.length]}"><title>${escapeHtml(d)} · ${escapeHtml(n)}: ${counted(calls, 'call')}</title></rect>`);
    });
    if (i % labelEvery === 0) parts.push(`<text x="${x + barW / 2}" y="${chartH + 14}" text-anchor="middle" class="axis">${escapeHtml(d.slice(5))}</text>`);
  });
  parts.push('</svg>');
  const legend = names.map((n, j) => `<li><span class="swatch" style="background:${PALETTE[j % PALETTE.length]}"></span>${escapeHtml(n)}</li>`).join('');
  return `${parts.join('')}<ul class="legend">${legend}</ul>`;
};

/** Horizontal bars: findings per rule, coloured by severity. */
const findingsSvg = (findings: readonly ReportFinding[]): string => {
  const byRule = new Map<string, { count: number; severity: string }>();
  for (const f of findings) {
    const e = byRule.get(f.ruleId) ?? { count: 0, severity: f.severity };
    e.count++;
    byRule.set(f.ruleId, e);
  }
  const rows = [...byRule].sort((a, b) => b[1].count - a[1].count);
  if (rows.length === 0) return '';
  const max = Math.max(...rows.map(([, r]) => r.count));
  const colour: Record<string, string> = { CRITICAL: '#7b1fa2', HIGH: '#d62728', MEDIUM: '#ff7f0e', LOW: '#1f77b4', INFORMATIONAL: '#7f7f7f' };
  const h = rows.length * 22 + 10;
  const bars = rows.map(([rule, r], i) => {
    const w = Math.max(2, Math.round((r.count / max) * 300));
    return `<text x="250" y="${i * 22 + 20}" text-anchor="end" class="axis">${escapeHtml(rule)}</text><rect x="256" y="${i * 22 + 8}" width="${w}" height="16" fill="${colour[r.severity] ?? '#555'}"><title>${escapeHtml(rule)} (${escapeHtml(r.severity)}): ${r.count}</title></rect><text x="${262 + w}" y="${i * 22 + 20}" class="axis">${r.count}</text>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" class="chart findings-chart" role="img" width="620" height="${h}" viewBox="0 0 620 ${h}" aria-label="Findings by rule">${bars.join('')}</svg>`;
};

/** "once at T", or "N calls from T1 to T2". */
const seenText = (f: ReportFinding): string =>
  f.eventCount === 1 || f.firstSeenMs === f.lastSeenMs
    ? `${f.eventCount === 1 ? 'once' : counted(f.eventCount, 'call')} at ${escapeHtml(iso(f.firstSeenMs))}`
    : `${counted(f.eventCount, 'call')} from ${escapeHtml(iso(f.firstSeenMs))} to ${escapeHtml(iso(f.lastSeenMs))}`;

const table = (headers: readonly string[], rows: readonly (readonly string[])[], cls = ''): string =>
  rows.length === 0
    ? '<p class="muted">None.</p>'
    : `<table class="${cls}"><thead><tr>${headers.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('')}</tbody></table>`;

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1100px;color:#222;padding:0 16px}
h1{font-size:22px;margin-bottom:4px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ddd;padding-bottom:4px}h3{font-size:15px;margin:20px 0 6px}
table{border-collapse:collapse;margin:6px 0 12px;width:100%}th,td{border:1px solid #ddd;padding:4px 6px;text-align:left;vertical-align:top;font-size:13px;overflow-wrap:anywhere}td:has(>.num){text-align:right}
th{background:#f4f4f4}.evidence-fields td:first-child{white-space:nowrap;width:1%}.muted{color:#777}.num{white-space:nowrap}.sev-CRITICAL,.sev-HIGH{color:#b00020;font-weight:600}.sev-MEDIUM{color:#b35c00}
.legend{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:10px;font-size:12px}.swatch{display:inline-block;width:10px;height:10px;margin-right:4px}
.axis{font-size:10px;fill:#555}.totals{display:flex;gap:24px}.totals div{background:#f7f7f7;padding:8px 12px;border-radius:4px}.totals b{display:block;font-size:18px}
code{font-size:12px}section.key{margin-bottom:24px}`;

/** The whole page. */
export const renderReportHtml = (data: ReportData): string => {
  const period = data.periodStartMs !== undefined || data.periodEndMs !== undefined ? `${iso(data.periodStartMs)} – ${iso(data.periodEndMs)}` : 'all recorded history';
  const keySections = data.keys.map((k, i) => {
    const label = k.alias !== undefined ? `${k.alias} (${k.key})` : k.key;
    const top = table(
      ['Principal', 'Calls', 'Objects', 'First seen', 'Last seen'],
      k.topPrincipals.map((p) => [`<code>${escapeHtml(p.principal)}</code>`, `<span class="num">${formatCount(p.calls)}</span>`, `<span class="num">${formatCount(p.objects)}</span>`, escapeHtml(iso(p.firstSeenMs)), escapeHtml(iso(p.lastSeenMs))]),
      'top-principals',
    );
    const fresh = table(
      ['Principal new in the period', 'First call', 'Calls'],
      k.newPrincipals.map((p) => [`<code>${escapeHtml(p.principal)}</code>`, escapeHtml(iso(p.firstSeenMs)), `<span class="num">${formatCount(p.calls)}</span>`]),
      'new-principals',
    );
    const byOperation = k.operations.map((o) => `${escapeHtml(o.operation)} ${formatCount(o.calls)}`).join(', ');
    const byNetwork = k.networks.map((w) => `${w.network === '' ? 'none said' : `<code>${escapeHtml(w.network)}</code>`} ${formatCount(w.calls)}`).join(', ');
    return `<section class="key" id="key-${i}"><h3>${escapeHtml(label)}</h3><p>${counted(k.calls, 'call')} by ${counted(k.principals, 'principal')}${k.errors > 0 ? `, ${formatCount(k.errors)} failed` : ''}.${byOperation !== '' ? ` By operation: ${byOperation}.` : ''}${byNetwork !== '' ? ` By network: ${byNetwork}.` : ''}</p>
${timelineSvg(k.perDay, `Calls per day with ${label}, by principal`)}
<h4>Top principals</h4>${top}<h4>New principals</h4>${fresh}</section>`;
  });
  const severityOrder = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'INFORMATIONAL'];
  const findings = [...data.findings].sort((a, b) => severityOrder.indexOf(a.severity) - severityOrder.indexOf(b.severity) || a.firstSeenMs - b.firstSeenMs);
  const bySeverity = severityOrder.map((s) => [s, findings.filter((f) => f.severity === s).length] as const).filter(([, n]) => n > 0);
  const findingRows = findings.map((f) => [
    `<a href="#${anchor('finding', f.id)}">${escapeHtml(f.ruleId)}</a>`,
    `<span class="sev-${escapeHtml(f.severity)}">${escapeHtml(f.severity)}</span>${f.suppressedBy !== undefined ? ` <span class="muted">(suppressed: ${escapeHtml(f.suppressedBy)})</span>` : ''}`,
    `<code>${escapeHtml(f.principal)}</code>`,
    escapeHtml(iso(f.firstSeenMs)),
    `<span class="num">${formatCount(f.eventCount)}</span>`,
  ]);
  const shown = new Set(findings.map((f) => f.id));
  const findingLinks = (ids: readonly string[]): string =>
    ids.map((id) => (shown.has(id) ? `<a href="#${anchor('finding', id)}">${escapeHtml(ruleIdOfFindingId(id))}</a>` : `<code>${escapeHtml(id)}</code>`)).join(' ');
  const severalRules = principalsOfSeveralRules(findings).map((p) => [
    `<code>${escapeHtml(p.principal)}</code>`,
    findingLinks(p.findings.map((f) => f.id)),
    escapeHtml(iso(p.firstSeenMs)),
    escapeHtml(iso(p.lastSeenMs)),
  ]);
  const evidence = findings.map(
    (f) => `<div class="evidence" id="${anchor('finding', f.id)}"><h3>${escapeHtml(f.ruleId)} <span class="sev-${escapeHtml(f.severity)}">${escapeHtml(f.severity)}</span></h3>
<p>${escapeHtml(f.reason)}</p>
${table(['Field', 'Value'], [
  ['Finding id', `<code>${escapeHtml(f.id)}</code>`],
  ['Principal', `<code>${escapeHtml(f.principal)}</code>`],
  ...(f.key !== undefined ? [['Key', `<code>${escapeHtml(f.key)}</code>`]] : []),
  // A finding about a bucket's settings names the bucket alone.
  ...(f.bucket !== undefined ? [f.objectKey !== undefined ? ['Object', `<code>${escapeHtml(`s3://${f.bucket}/${f.objectKey}`)}</code>`] : ['Bucket', `<code>${escapeHtml(f.bucket)}</code>`]] : []),
  ['Seen', seenText(f)],
  // A rule over findings' finding has none: the findings it names, below, have them.
  ...(f.eventIds.length > 0 ? [['CloudTrail eventIDs', f.eventIds.map((id) => `<code>${escapeHtml(id)}</code>`).join(' ')]] : []),
  // Linked where the page shows the related finding, named by its rule otherwise (a filter may leave it out).
  ...(f.related !== undefined && f.related.length > 0 ? [['Raised with it', findingLinks(f.related)]] : []),
  ...(f.samePrincipal !== undefined && f.samePrincipal.length > 0 ? [['Its principal, within a day', findingLinks(f.samePrincipal)]] : []),
], 'evidence-fields')}</div>`,
  );
  const bucketRows = data.buckets.map((b) => [
    `<code>${escapeHtml(b.bucket)}</code>`,
    b.dataEvents > 0 ? `yes (${formatCount(b.dataEvents)}; ${formatCount(b.readEvents)} reads)` : isDirectoryBucketName(b.bucket) ? 'not read (a directory bucket: kdm does not read S3 Express data events)' : '<strong>no data events</strong>',
    b.bucketKeyCalls > 0 ? `yes (${formatCount(b.bucketKeyCalls)} bucket-level KMS calls)` : 'no',
    escapeHtml(Object.entries(b.sse).map(([k, v]) => `${k}: ${formatCount(v)}`).join(', ')),
    Object.keys(b.kmsKeys).map((k) => `<code>${escapeHtml(k)}</code>`).join(' '),
  ]);
  const foreignKeyRows = data.foreignKeyWrites.map((w) => [
    `<code>${escapeHtml(`s3://${w.bucket}/${w.objectKey}`)}</code>`,
    `<code>${escapeHtml(w.key)}</code>`,
    `<code>${escapeHtml(w.principal)}</code>`,
    `<span class="num">${formatCount(w.writes)}</span>`,
    escapeHtml(iso(w.lastSeenMs)),
  ]);
  const publicRows = data.publicObjects.map((o) => [
    `<code>${escapeHtml(`s3://${o.bucket}/${o.objectKey}`)}</code>`,
    `<code>${escapeHtml(o.principal)}</code>`,
    `<span class="num">${formatCount(o.calls)}</span>`,
    escapeHtml(o.sourceIps.join(', ')),
    escapeHtml(iso(o.lastSeenMs)),
    o.principalsEndpointObjects > 0 ? `<strong>${formatCount(o.principalsEndpointObjects)}</strong>` : '<span class="muted">none</span>',
  ]);
  const publicSection =
    data.objectsThroughEndpoints === 0
      ? '<p class="muted">No object in the period was opened through a VPC endpoint: every read came through S3\'s public endpoint, so this list would hold them all.</p>'
      : publicRows.length > 0
        ? table(['Object', 'Principal', 'Calls', 'Source IPs', 'Last opened', 'Its reads through endpoints'], publicRows, 'public-objects')
        : '<p class="muted">None.</p>';
  const objectRows = data.objects.map((o) => [`<code>${escapeHtml(`s3://${o.bucket}/${o.objectKey}`)}</code>`, `<span class="num">${formatCount(o.calls)}</span>`, `<span class="num">${formatCount(o.principals)}</span>`, escapeHtml(o.sourceIps.join(', '))]);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(data.title)}</title><style>${STYLE}</style></head>
<body>
<header><h1>${escapeHtml(data.title)}</h1>
<p class="muted">Period: ${escapeHtml(period)} · Source: <code>${escapeHtml(data.source)}</code> · Generated ${escapeHtml(iso(data.generatedAtMs))} by kms-decrypt-monitor${data.filters.length > 0 ? ` · Filters: ${data.filters.map((f) => `<code>${escapeHtml(f)}</code>`).join(' ')}` : ''}${removedNote(data.historyRemoved)}</p>
<div class="totals"><div><b>${formatCount(data.totals.calls)}</b>KMS calls</div><div><b>${formatCount(data.totals.keys)}</b>keys</div><div><b>${formatCount(data.totals.principals)}</b>principals</div><div><b>${formatCount(data.totals.objects)}</b>objects opened</div><div><b>${formatCount(findings.length)}</b>findings</div></div>
</header>
<section id="keys"><h2>Keys: who used them, and when</h2>${keySections.length > 0 ? keySections.join('\n') : '<p class="muted">No KMS calls match.</p>'}</section>
<section id="findings"><h2>Findings by rule and severity</h2>
<p>${bySeverity.length > 0 ? bySeverity.map(([s, n]) => `<span class="sev-${s}">${n} ${s}</span>`).join(' · ') : 'No findings in the period.'}</p>
${findingsSvg(findings)}
${table(['Rule', 'Severity', 'Principal', 'First seen', 'Calls'], findingRows, 'findings')}
<h3>Principals behind findings of several rules</h3>
${severalRules.length > 0 ? `<p>Each raised findings of more than one rule in the period (suppressed ones left out), most rules first: one identity behaving unusually in several ways is where to start.</p>\n${table(['Principal', 'Findings', 'First seen', 'Last seen'], severalRules, 'several-rules')}` : '<p class="muted">None: no principal raised findings of more than one rule.</p>'}
<h3>Evidence</h3>${evidence.join('\n') || '<p class="muted">None.</p>'}</section>
<section id="objects"><h2>Objects opened most</h2>${table(['Object', 'Calls', 'Principals', 'Source IPs'], objectRows, 'objects')}</section>
<section id="public-objects"><h2>Objects opened from outside the VPC endpoints</h2>
<p>Their S3 requests came through S3's public endpoint. Those of principals whose other reads came through VPC endpoints come first: one of these is a workload's credentials used from elsewhere, or the workload off its route. Compare the principal's reads with kdm history --principal … --group-by object,network.</p>
${publicSection}</section>
<section id="foreign-key-writes"><h2>Objects written by other accounts under keys the bucket owner does not hold</h2>
<p>Whoever holds such a key decides whether the object can be read. S3 made their KMS calls in the writer's and the key owner's accounts, so only the writes' data events show them, and the key sections above do not.</p>
${foreignKeyRows.length > 0 ? table(['Object', 'Key', 'Writer', 'Writes', 'Last written'], foreignKeyRows, 'foreign-key-writes') : '<p class="muted">None.</p>'}</section>
<section id="coverage"><h2>Coverage</h2>
<p>Buckets the monitored KMS calls touched: whether the trail logs their S3 data events (without them, a decrypt cannot be tied to the request and the IP behind it), whether S3 Bucket Keys are in use, and the encryption S3 reported on writes.</p>
${table(['Bucket', 'S3 data events', 'Bucket Keys', 'SSE types seen', 'KMS keys'], bucketRows, 'coverage')}</section>
</body></html>
`;
};
