import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { counted, formatCount } from '#core/counted.ts';
import { InputError, UsageError } from '#core/errors.ts';
import { stringifyJsonSafely } from '#core/events/fields.ts';
import { ALL_RULES } from '#core/rules/registry.ts';
import { pathState } from '#adapters/local/file-paths.ts';
import { systemErrorText } from '#adapters/system-error.ts';
import { evaluateFindings, type Evaluation, type RuleScore } from '../sim/evaluate.ts';
import { LABELS_FILE, parseAnomalyLabels } from '../sim/labels.ts';
import type { AnomalyLabel } from '../sim/simulate.ts';
import { parseCommandArgs } from './arguments.ts';
import { engineConfigFromArgs } from './engine-config-args.ts';
import { EXIT, runReplay, threadsOption } from './replay.ts';
import { renderTable, safeText } from './terminal.ts';
import { DEFAULT_DELIVERY_LAG, isInWindow, parseTimeWindow } from './time-bounds.ts';

export const BACKTEST_HELP = `kdm backtest — score the rules against labelled logs: which anomalies they catch, which findings are false

Usage: kdm backtest <path>... [--labels <file>] [--config <file>] [--learning-period <dur>] [--format table|json]

Replays the paths as kdm replay does (every rule, correlation, the configuration) and compares the findings with
the labels: one JSON line each, the rule that must detect it and the eventIDs of its records
({"rule":"kms-root-usage","eventIds":["..."]}), as kdm simulate --anomalies writes them.

  --labels <file>          The labels (default: anomalies.labels in the one directory given)
  --config <file>          Configuration, to test a tuning before it ships (default: kdm.config.yaml when present)
  --learning-period <dur>  Baseline learning period per key (default: 7d)
  --format table|json      Output on stdout (default: table)
  --threads <n>            As for kdm replay
  --from <YYYY-MM-DD|time>   --to <YYYY-MM-DD|time>
                           Replay only this window, as kdm replay does, and score only the labels inside it
                           (by their time; a label without one is scored); start it a learning period early
  --learn-from <YYYY-MM-DD|time>
                           With --from: learn from the days from here to --from too, as kdm replay does, and
                           score only the window's findings
  --delivery-lag <dur|any> With --to: skip the files a trail delivered more than this after it, as kdm replay
                           does (default: ${DEFAULT_DELIVERY_LAG}; any: read them all)

A label is detected when a finding of its rule names one of its events; a finding is a false positive when it
names no labelled event (suppressed findings are left out). Up to 20 misses and 20 false positives are listed.

Exit codes: 0 every label detected and no false positive; 1 could not run; 2 some input could not be read;
3 a label missed or a false positive.

  kdm simulate --out sim/ --events 100000 --anomalies && kdm backtest sim/`;

/** The exit code of a backtest that missed a label or raised a false positive (as kdm replay's --fail-on). */
export const EXIT_FELL_SHORT = 3;

/** Misses and false positives listed in the table (all of them in JSON). */
const LISTED = 20;

/** The labels file of `paths`: `--labels`, else anomalies.labels in the one directory given. */
const labelsFileOf = (paths: readonly string[], labels: string | undefined): string => {
  if (labels !== undefined) return labels;
  const [only] = paths;
  if (paths.length === 1 && only !== undefined && pathState(only).kind === 'directory') return join(only, LABELS_FILE);
  throw new UsageError('backtest needs --labels <file> unless it is given one directory holding anomalies.labels');
};

const readLabels = (file: string): AnomalyLabel[] => {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new InputError(file, undefined, `cannot read the labels: ${systemErrorText(cause)}`, { cause });
  }
  const labels = parseAnomalyLabels(file, text, ALL_RULES.map((r) => r.id));
  if (labels.length === 0) throw new InputError(file, undefined, 'no labels: a backtest needs at least one (kdm simulate --anomalies writes them)');
  return labels;
};

/** What a backtest tells, per rule (in rule id order) and in all: the evaluation, with the records read and the labels file. */
export interface BacktestReport {
  readonly records: Readonly<Record<string, unknown>>;
  readonly labelsFile: string;
  readonly recall: number;
  readonly precision: number;
  readonly labels: number;
  readonly detected: number;
  readonly findings: number;
  readonly byRule: Readonly<Record<string, RuleScore>>;
  readonly missed: readonly { readonly id: string; readonly rule: string; readonly description: string; readonly eventIds: readonly string[] }[];
  readonly falsePositives: readonly { readonly ruleId: string; readonly severity: string; readonly reason: string; readonly eventIds: readonly string[] }[];
}

export const backtestReport = (evaluation: Evaluation, labels: readonly AnomalyLabel[], records: Readonly<Record<string, unknown>>, labelsFile: string): BacktestReport => {
  const sorted = Object.fromEntries(Object.entries(evaluation.byRule).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return {
    records,
    labelsFile,
    recall: evaluation.recall,
    precision: evaluation.precision,
    labels: labels.length,
    detected: labels.length - evaluation.missed.length,
    findings: evaluation.findings,
    byRule: sorted,
    missed: evaluation.missed.map((l) => ({ id: l.id, rule: l.rule, description: l.description, eventIds: l.eventIds })),
    falsePositives: evaluation.falsePositives.map((f) => ({ ruleId: f.ruleId, severity: f.severity, reason: f.reason, eventIds: f.eventIds })),
  };
};

const ratio = (x: number): string => x.toFixed(3);

/** A finding's or label's eventIDs in a line of the table: the first three, and how many in all. */
const someIds = (ids: readonly string[]): string =>
  `eventID${ids.length === 1 ? '' : 's'} ${safeText(ids.slice(0, 3).join(', '))}${ids.length > 3 ? `, … (${formatCount(ids.length)} in all)` : ''}`;

export const renderBacktest = (r: BacktestReport): string => {
  const rows = Object.entries(r.byRule).map(([rule, s]) => [rule, formatCount(s.labels), formatCount(s.detected), formatCount(s.findings), formatCount(s.falsePositives)]);
  const falsePositives = r.falsePositives.length;
  rows.push(['all', formatCount(r.labels), formatCount(r.detected), formatCount(r.findings), formatCount(falsePositives)]);
  const records = r.records as { read?: number; processed?: number; skipped?: number; failed?: number };
  const out = [
    `Backtest against ${safeText(r.labelsFile)}: ${counted(records.read ?? 0, 'record')} (${formatCount(records.processed ?? 0)} processed, ${formatCount(records.skipped ?? 0)} skipped, ${formatCount(records.failed ?? 0)} failed)`,
    '',
    renderTable(['RULE', 'LABELS', 'DETECTED', 'FINDINGS', 'FALSE POSITIVES'], rows),
    '',
    `Recall     ${ratio(r.recall)}  ${formatCount(r.detected)} of ${counted(r.labels, 'label')} detected by the rule meant for them`,
    `Precision  ${ratio(r.precision)}  ${formatCount(r.findings - falsePositives)} of ${counted(r.findings, 'finding')} on labelled events`,
  ];
  if (r.missed.length > 0) {
    out.push('', `Missed (${r.missed.length > LISTED ? `the first ${LISTED} of ` : ''}${formatCount(r.missed.length)})`);
    for (const m of r.missed.slice(0, LISTED)) out.push(`  ${safeText(m.id)}  ${safeText(m.rule)}: ${safeText(m.description)} (${someIds(m.eventIds)})`);
  }
  if (falsePositives > 0) {
    out.push('', `False positives (${falsePositives > LISTED ? `the first ${LISTED} of ` : ''}${formatCount(falsePositives)})`);
    for (const f of r.falsePositives.slice(0, LISTED)) out.push(`  ${safeText(f.ruleId)} [${f.severity}]: ${safeText(f.reason)} (${someIds(f.eventIds)})`);
  }
  return `${out.join('\n')}\n`;
};

/** Discards what it is given: the replay's own summary, which the backtest's output replaces. */
const discard = (): Writable => new Writable({ write: (_chunk, _encoding, done) => done() });

export const backtestCommand = async (argv: readonly string[]): Promise<number> => {
  const { values, positionals } = parseCommandArgs('backtest', argv, {
    options: {
      labels: { type: 'string' },
      config: { type: 'string' },
      'learning-period': { type: 'string' },
      format: { type: 'string', default: 'table' },
      threads: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      'learn-from': { type: 'string' },
      'delivery-lag': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
  });
  if (values.help === true) {
    process.stdout.write(`${BACKTEST_HELP}\n`);
    return EXIT.ok;
  }
  if (positionals.length === 0) throw new UsageError('backtest needs at least one path (a directory of logs, or files)');
  if (values.format !== 'table' && values.format !== 'json') throw new UsageError(`--format must be table or json (got "${values.format}")`);
  const threads = threadsOption(values.threads);
  const window = parseTimeWindow(values.from, values.to, values['learn-from'], values['delivery-lag']);
  const labelsFile = labelsFileOf(positionals, values.labels);
  const all = readLabels(labelsFile);
  // A window scores the labels inside it: one outside it has no events the replay weighs.
  const labels = all.filter((l) => Number.isNaN(l.timeMs) || isInWindow(window, l.timeMs));
  if (labels.length < all.length) process.stderr.write(`kdm: ${counted(all.length - labels.length, 'label')} outside --from/--to left out of the score\n`);
  if (labels.length === 0) throw new UsageError(`no label of ${labelsFile} is inside --from/--to: the window has nothing to score`);
  const { config } = await engineConfigFromArgs(values.config, values['learning-period']);
  const result = await runReplay({ paths: positionals, summary: 'json', rules: ALL_RULES, config, stdout: discard(), ...(threads !== undefined ? { threads } : {}), ...(window !== undefined ? { window } : {}) });
  const evaluation = evaluateFindings(result.findings, labels);
  const report = backtestReport(evaluation, labels, (result.summaryJson['records'] ?? {}) as Record<string, unknown>, labelsFile);
  process.stdout.write(values.format === 'json' ? `${stringifyJsonSafely(report, 2)}\n` : renderBacktest(report));
  if (result.exitCode === EXIT.unreadInput) return EXIT.unreadInput;
  return report.missed.length === 0 && report.falsePositives.length === 0 ? EXIT.ok : EXIT_FELL_SHORT;
};
