#!/usr/bin/env node
import type { ParseArgsConfig } from 'node:util';
import { isMonitorError, UsageError } from '#core/errors.ts';
import { isSeverity, SEVERITIES, type Severity } from '#core/rules/define-rule.ts';
import { ALL_RULES } from '#core/rules/registry.ts';
import { DEFAULT_THREADS, DEFAULT_THREADS_READING_JAVASCRIPT, EXIT, MAX_THREADS, runReplay, threadsOption, type ReplayWindow } from './replay.ts';
import { DEFAULT_DELIVERY_LAG, parseTimeWindow } from './time-bounds.ts';
import { tuneMallocLikeTheLauncher } from '#adapters/local/native-records.ts';
import { contextValueHasher } from '../adapters/context-hash.ts';
import { DEFAULT_WRITE_MEMORY_MB, MIN_WRITE_MEMORY_MB } from '../adapters/local/database-budget.ts';
import { MAX_FILE_BYTES_LIMIT } from '../adapters/local/cloudtrail-files.ts';
import { historyCommand } from './history.ts';
import { reportCommand } from './report.ts';
import { simulateCommand } from './simulate-command.ts';
import { parseCommandArgs } from './arguments.ts';
import { engineConfigFromArgs } from './engine-config-args.ts';
import { awsSetupProblem } from './aws-setup.ts';

const VERSION = '0.1.0';

const HELP = `kdm — kms-decrypt-monitor ${VERSION}
Watches who decrypts what with AWS KMS, from archived CloudTrail logs.

Usage:
  kdm replay <path>... [options]   Replay CloudTrail files, directories (recursive) or - (stdin)
  kdm rules list [--format json]   The detection rules: id, title, severity, status
  kdm rules test                   Run every rule's test cases (exit 1 on any failure)
  kdm rules docs [--check]         Write docs/rules.md from the rules' metadata (--check: fail if stale)
  kdm rules patterns               The EventBridge event patterns the rules need (JSON)
  kdm rules member-template        CloudFormation forwarding those events from a member account (JSON)
  kdm history --db <file> [filters] [--group-by ...] [--format table|csv|json|parquet]
                                   Decrypt history from the ledger (kdm history --help)
  kdm findings --db <file> [filters] [--format text|csv|json|asff|ocsf] [--id <finding id>]
                                   The findings a database holds, listed, exported or one whole (kdm findings --help)
  kdm report --db <file> --html <out.html> [filters]
                                   One self-contained HTML page for auditors (kdm report --help)
  kdm prune --db <file> --before <YYYY-MM-DD> [--dry-run]
                                   Remove the history of the days before a day (kdm prune --help)
  kdm config validate <file>       Validate a configuration file
  kdm simulate --out DIR [--events N] [--anomalies] [--seed S] [--days D]
                                   Write deterministic, realistic CloudTrail (+ anomalies.labels)
  kdm backtest <path>... [--labels <file>] [--config <file>]
                                   Score the rules against labelled logs: recall, precision, misses,
                                   false positives (kdm backtest --help)
  kdm <command> --help             That command's options
  kdm --version | --help

Replay options:
  --config <file>            Configuration (default: kdm.config.yaml when present)
  --summary table|json       Summary format on stdout (default: table)
  --findings <file|->        Write findings as ASFF JSON, one per line
  --threads <n>              1: all on one thread; n (up to ${MAX_THREADS}): read and parse on n-1 threads while
                             the engine runs (default: ${DEFAULT_THREADS} with 2+ cores, ${DEFAULT_THREADS_READING_JAVASCRIPT} where the readers read in
                             JavaScript, 1 for input under 2 MiB)
  --db <file>                Keep the decrypt ledger, findings and baselines in this database file
                             (DuckDB; created when absent, continued by later replays into it)
  --db-memory-mb <n>         DuckDB's memory budget for --db, spilling to <file>.tmp beyond it
                             (default: ${DEFAULT_WRITE_MEMORY_MB}; at least ${MIN_WRITE_MEMORY_MB}). Started as kdm (npx kdm) rather than
                             node dist/kdm.js, a replay also gets fewer glibc malloc arenas (MALLOC_ARENA_MAX=2,
                             MALLOC_MMAP_THRESHOLD_=1048576 unless set) and node --max-semi-space-size=16
                             (unless NODE_OPTIONS sets it), for a lower peak (README: Decrypt history)
  --learning-period <dur>    Baseline learning period per key, e.g. 6h, 7d (default: 7d)
  --from <YYYY-MM-DD|time>   --to <YYYY-MM-DD|time>   Only the events of this window of event time
                             (inclusive; a date alone is the whole day): the others are counted as skipped
                             (S3 data events near an edge still match the S3-made calls inside it), and log
                             files a trail delivered before --from are not read, nor those delivered more
                             than --delivery-lag after --to. Baselines learn from the window only: start it
                             a learning period early, or give --learn-from. Not with --db
  --learn-from <YYYY-MM-DD|time>
                             With --from: read and learn from the days from here to --from as well, and
                             leave out the findings last seen before --from (the learning's, not the window's)
  --delivery-lag <dur|any>   With --to: how long after it a trail may still deliver the window's records; its
                             files delivered later are skipped unread (default: ${DEFAULT_DELIVERY_LAG}; any: read them all,
                             as after an outage of the trail's delivery)
  --fail-on <severity>       Exit 3 when a finding at or above LOW|MEDIUM|HIGH|CRITICAL is raised
  --max-file-mb <n>          Cap on one file's decompressed size, and on the text of Event history lookups
                             read together (default: 256, at most 511)
  --account <id>             Account for findings whose activity names none (default: 000000000000)
  --findings-format asff|ocsf  Format of --findings and of EventBridge events (default: asff)
  --publish securityhub|eventbridge
                             Send findings with the standard AWS credential chain and region
  --dry-run                  With --publish: validate against the Security Hub model and count, send nothing
  --import-role <arn>        Security Hub: import each finding through this role in its own account,
                             e.g. arn:aws:iam::{account}:role/kms-decrypt-monitor-import
  --event-bus <name>         EventBridge: bus name or ARN (default: default)

Input shapes: S3 delivery files {"Records":[...]} (.json, .json.gz), EventBridge envelopes (one per file
or per line), NDJSON of bare records (.jsonl/.ndjson, gzipped or not), Event history as aws cloudtrail
lookup-events prints it ({"Events":[...]}; a NextToken at its end is warned of; several lookups, as
files or in one text, are read together in the order of their times), and several of these one after
another in one text (cat *.json.gz | kdm replay -). Digest files and Insights events are recognised and
skipped with a reason.

Exit codes: 0 all input read; 1 could not run (bad arguments or config); 2 finished but some input
could not be read (each listed on stderr); 3 --fail-on threshold reached.`;

const REPLAY_OPTIONS = {
  config: { type: 'string' },
  summary: { type: 'string', default: 'table' },
  findings: { type: 'string' },
  db: { type: 'string' },
  'db-memory-mb': { type: 'string' },
  threads: { type: 'string' },
  'learning-period': { type: 'string' },
  'fail-on': { type: 'string' },
  'max-file-mb': { type: 'string' },
  account: { type: 'string' },
  'findings-format': { type: 'string', default: 'asff' },
  publish: { type: 'string' },
  'dry-run': { type: 'boolean', default: false },
  'import-role': { type: 'string' },
  'event-bus': { type: 'string', default: 'default' },
  from: { type: 'string' },
  to: { type: 'string' },
  'learn-from': { type: 'string' },
  'delivery-lag': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

/** `--from` and `--to` of a replay: a window of event time, for an investigation or a backtest of some days. */
const replayWindowOf = (values: { readonly from?: string | undefined; readonly to?: string | undefined; readonly 'learn-from'?: string | undefined; readonly 'delivery-lag'?: string | undefined; readonly db?: string | undefined }): ReplayWindow | undefined => {
  if ((values.from !== undefined || values.to !== undefined || values['learn-from'] !== undefined || values['delivery-lag'] !== undefined) && values.db !== undefined) {
    throw new UsageError('--from and --to replay a window of time, and --db keeps a continuous history: replay all the logs into the database, and ask kdm history for the window (kdm history --db <file> --from ... --to ...)');
  }
  return parseTimeWindow(values.from, values.to, values['learn-from'], values['delivery-lag']);
};

const parseSeverity = (v: string): Severity => {
  const upper = v.toUpperCase();
  if (!isSeverity(upper)) throw new UsageError(`--fail-on must be one of ${SEVERITIES.join(', ')} (got "${v}")`);
  return upper;
};

const replayCommand = async (argv: readonly string[]): Promise<number> => {
  const { values, positionals } = parseCommandArgs('replay', argv, { options: REPLAY_OPTIONS, allowPositionals: true });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return EXIT.ok;
  }
  // Before DuckDB and the readers start their threads: run as `node dist/kdm.js`, the replay keeps the launcher's bound.
  tuneMallocLikeTheLauncher();
  if (positionals.length === 0) throw new UsageError('replay needs at least one path (a file, a directory, or - for stdin)');
  if (values.summary !== 'table' && values.summary !== 'json') throw new UsageError(`--summary must be table or json (got "${values.summary}")`);
  const { config, file: configFile } = await engineConfigFromArgs(values.config, values['learning-period']);
  let maxFileBytes: number | undefined;
  if (values['max-file-mb'] !== undefined) {
    const mb = Number(values['max-file-mb']);
    if (!Number.isFinite(mb) || mb <= 0 || mb * 1048576 > MAX_FILE_BYTES_LIMIT) {
      throw new UsageError(`--max-file-mb must be a positive number up to ${Math.floor(MAX_FILE_BYTES_LIMIT / 1048576)}, the largest file Node.js can parse (got "${values['max-file-mb']}")`);
    }
    maxFileBytes = Math.round(mb * 1024 * 1024);
  }
  let dbMemoryMb: number | undefined;
  if (values['db-memory-mb'] !== undefined) {
    if (values.db === undefined) throw new UsageError('--db-memory-mb goes with --db');
    dbMemoryMb = Number(values['db-memory-mb']);
    if (!Number.isInteger(dbMemoryMb) || dbMemoryMb < MIN_WRITE_MEMORY_MB) throw new UsageError(`--db-memory-mb must be a whole number of MiB, at least ${MIN_WRITE_MEMORY_MB} (got "${values['db-memory-mb']}")`);
  }
  if (values.account !== undefined && !/^\d{12}$/.test(values.account)) throw new UsageError(`--account must be a 12-digit AWS account id (got "${values.account}")`);
  const format = values['findings-format'];
  if (format !== 'asff' && format !== 'ocsf') throw new UsageError(`--findings-format must be asff or ocsf (got "${format}")`);
  const target = values.publish;
  if (target !== undefined && target !== 'securityhub' && target !== 'eventbridge') throw new UsageError(`--publish must be securityhub or eventbridge (got "${target}")`);
  if (values['dry-run'] && target === undefined) throw new UsageError('--dry-run goes with --publish');
  if (target === 'securityhub' && format === 'ocsf') throw new UsageError('Security Hub (BatchImportFindings) takes ASFF; use --findings-format ocsf with --findings or --publish eventbridge');
  if (values['import-role'] !== undefined && !values['import-role'].includes('{account}')) throw new UsageError(`--import-role must contain {account} (got "${values['import-role']}")`);
  const threads = threadsOption(values.threads);
  const window = replayWindowOf(values);
  const result = await runReplay({
    paths: positionals,
    summary: values.summary,
    rules: ALL_RULES,
    config,
    ...(configFile?.privacy?.hashEncryptionContext === true ? { hashContextValues: contextValueHasher(process.env['KDM_CONTEXT_HASH_KEY']) } : {}),
    ...(values.findings !== undefined ? { findings: values.findings } : {}),
    ...(values.db !== undefined ? { db: values.db } : {}),
    ...(dbMemoryMb !== undefined ? { dbMemoryMb } : {}),
    ...(threads !== undefined ? { threads } : {}),
    ...(values['fail-on'] !== undefined ? { failOn: parseSeverity(values['fail-on']) } : {}),
    ...(maxFileBytes !== undefined ? { maxFileBytes } : {}),
    ...(values.account !== undefined ? { fallbackAccountId: values.account } : {}),
    findingsFormat: format,
    version: VERSION,
    ...(window !== undefined ? { window } : {}),
    ...(target !== undefined
      ? {
          publish: {
            target,
            dryRun: values['dry-run'],
            format,
            eventBus: values['event-bus'],
            version: VERSION,
            ...(values['import-role'] !== undefined ? { importRoleArnTemplate: values['import-role'] } : {}),
            ...(values.account !== undefined ? { fallbackAccountId: values.account } : {}),
          },
        }
      : {}),
  });
  return result.exitCode;
};

export const main = async (argv: readonly string[]): Promise<number> => {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'replay':
        return await replayCommand(rest);
      case 'rules':
        // Loaded for `kdm rules` alone: the catalogue builds every rule's test cases as it loads.
        return (await import('./rules-command.ts')).rulesCommand(rest);
      case 'config':
        return (await import('./config-command.ts')).configCommand(rest);
      case 'simulate':
        return simulateCommand(rest);
      case 'backtest':
        return await (await import('./backtest-command.ts')).backtestCommand(rest);
      case 'history':
        return await historyCommand(rest, { stdout: process.stdout, stderr: process.stderr, nowMs: Date.now });
      case 'findings':
        return await (await import('./findings-command.ts')).findingsCommand(rest, { stdout: process.stdout, stderr: process.stderr, version: VERSION, nowMs: Date.now });
      case 'report':
        return await reportCommand(rest, { stdout: process.stdout, stderr: process.stderr, nowMs: Date.now });
      case 'prune':
        return await (await import('./prune-command.ts')).pruneCommand(rest, { stdout: process.stdout, stderr: process.stderr });
      case '--version':
      case '-v':
        process.stdout.write(`${VERSION}\n`);
        return EXIT.ok;
      case undefined:
      case '--help':
      case '-h':
      case 'help':
        process.stdout.write(`${HELP}\n`);
        return EXIT.ok;
      default:
        throw new UsageError(`unknown command "${command}" (try: kdm --help)`);
    }
  } catch (error) {
    // One line, no stack trace: the user needs the reason, not our internals.
    const message = isMonitorError(error) || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
      ? (error as Error).message
      : (awsSetupProblem(error) ?? `unexpected error: ${(error as Error).message ?? String(error)}`);
    process.stderr.write(`kdm: ${message}\n`);
    if (process.env['KDM_DEBUG'] === '1') process.stderr.write(`${(error as Error).stack ?? ''}\n`);
    return EXIT.error;
  }
};

const isEntryPoint = import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('/kdm') || process.argv[1]?.endsWith('kdm.js');
if (isEntryPoint) {
  // The AWS SDK warns on Node 20 that its releases after early January 2027 need Node 22. This package pins its
  // SDK versions, so the warning is ours to act on (see the README's dependencies), not a user's: one may set it.
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`kdm: unexpected error: ${String(error)}\n`);
      process.exitCode = EXIT.error;
    },
  );
}
