import { availableParallelism } from 'node:os';
import { basename } from 'node:path';
import { createRecordProcessor, type OutsideWindow, type RecordProcessor } from '#app/process-records.ts';
import type { LedgerDatabase } from '#adapters/local/ledger-database.ts';
import { expandInputs, DEFAULT_MAX_FILE_BYTES, type InputFile } from '#adapters/local/cloudtrail-files.ts';
import { eventHistoryFiles, readEventHistoryTogether } from '#adapters/local/event-history-files.ts';
import { readInputs, startReaderThreads, type ReaderThreads } from '#adapters/local/threaded-reader.ts';
import { nativeReaderStatus, type NativeReaderStatus } from '#adapters/local/native-records.ts';
import { createJsonlFindingSink, type JsonlFindingSink } from '#adapters/local/jsonl-finding-sink.ts';
import { createMemoryStateStore, type MemoryStateStore } from '#adapters/memory/memory-state-store.ts';
import { counted } from '#core/counted.ts';
import { createEngine } from '#core/engine.ts';
import type { EngineConfig } from '#core/engine-config.ts';
import { UsageError } from '#core/errors.ts';
import { LedgerAccumulator, ledgerFromDay, type LedgerDelta } from '#core/ledger/ledger.ts';
import { prunedBefore } from '#adapters/local/ledger-prune.ts';
import { severityRank, type FindingRecord } from '#core/findings/finding.ts';
import { expiredSuppressions } from '#core/findings/suppress.ts';
import type { ReadIssue } from '#core/ports.ts';
import type { Rule, Severity } from '#core/rules/define-rule.ts';
import { summaryToJson } from '#core/summary.ts';
import { expiredSuppressionWarning, formatSummaryTable } from './format-summary.ts';
import type { PublishOptions } from './publish.ts';
import { renderFinding, type FindingsFormat } from './render-finding.ts';
import { limitHeapGrowth } from './heap-growth.ts';
import { createProgress, type Progress } from './progress.ts';
import { stringifyJsonSafely } from '#core/events/fields.ts';
import { safeText } from './terminal.ts';
import { cannotWriteOutput, checkOutputPath } from './output-file.ts';
import { sameFileAs } from '#adapters/local/file-paths.ts';
import { replayedFileName, type ReplayedFileName } from '#adapters/local/replayed-files.ts';
import { deliveredByMs } from '#adapters/local/delivery-time.ts';
import { loadLedgerDatabase } from '#adapters/local/duckdb-allocator.ts';
import { DATABASE_TIME_MARK, timedDatabase } from './database-time.ts';
import { readFromMs, type TimeWindow } from './time-bounds.ts';
import { s3SyncCommand } from './s3-sync-hint.ts';
import { LABELS_FILE } from '../sim/labels.ts';

export const EXIT = { ok: 0, error: 1, unreadInput: 2, findingsAtOrAbove: 3 } as const;

export interface ReplayOptions {
  readonly paths: readonly string[];
  readonly summary: 'table' | 'json';
  readonly findings?: string;
  /** Threads to use: 1 does everything on this one; n reads and normalizes on n - 1 more while the engine runs. */
  readonly threads?: number;
  /** The local database: ledger, findings and state, continued from earlier runs into the same file. */
  readonly db?: string;
  /** DuckDB's memory budget for the database, in MiB (default DEFAULT_WRITE_MEMORY_MB). */
  readonly dbMemoryMb?: number;
  readonly failOn?: Severity;
  readonly maxFileBytes?: number;
  readonly fallbackAccountId?: string;
  readonly findingsFormat?: FindingsFormat;
  readonly publish?: PublishOptions;
  readonly version?: string;
  readonly rules: readonly Rule[];
  readonly config: EngineConfig;
  /** Replace encryption context values in findings with keyed hashes (config `privacy.hashEncryptionContext`). */
  readonly hashContextValues?: (value: string) => string;
  readonly readStdin?: () => Promise<Buffer>;
  readonly stdout?: NodeJS.WritableStream;
  readonly stderr?: NodeJS.WriteStream;
  readonly nowMs?: () => number;
  /** Plan and load state per batch as a remote store would, recording unplanned reads (tests). */
  readonly checkStatePlanning?: boolean;
  /** Ledger rows between the database's checkpoints (default 50,000, or the state's size when larger; tests make it small). */
  readonly checkpointRows?: number;
  /** Whether the native reader is at hand (default: looked up; tests give one). */
  readonly nativeReader?: NativeReaderStatus;
  /**
   * A window of event time (`--from`, `--to`, inclusive; `text` as the user gave them): events outside it are
   * skipped and counted, and log files a trail delivered before it begins, or more than its delivery lag after it
   * ends, are not read. Not with `db`.
   */
  readonly window?: ReplayWindow;
}

export type ReplayWindow = TimeWindow;

export interface ReplayResult {
  readonly exitCode: number;
  /** State keys the engine read without planning them (with `checkStatePlanning`): empty unless there is a planning bug. */
  readonly unplannedStateReads: readonly string[];
  readonly summaryJson: Record<string, unknown>;
  readonly findings: readonly FindingRecord[];
}

/**
 * Ledger rows and object accesses the replay aggregates in memory before handing them to the database: rows
 * repeated across batches (a role decrypting with the same key all day) then reach it once, not once a batch.
 * At this many, a write hands over what a day that is over holds (`drainForWrite`); the database takes them
 * WRITE_ROWS at a time (ledger-database.ts).
 */
const ACCUMULATED_LEDGER_ROWS = 10_000;

/**
 * How many object accesses of one day may wait for the day to end, as multiples of ACCUMULATED_LEDGER_ROWS: a
 * day that brings more is handed over in parts, merged with each other in the database.
 */
const HELD_DAY_FACTOR = 2;

/**
 * Threads a replay uses by default where there are two cores or more and its readers read through the native
 * reader: the engine's and one that reads. The native reader decompresses, parses and normalizes in about a third
 * of the engine's time, so one keeps up with the engine, and a second only takes CPU from it. Over the bench's 1M
 * records on 2026-12-06, in alternating rounds (with the launcher's young generation): with the ledger, one reader
 * against two, Node.js 20 7.18-7.57 s at 244-250 MB against 7.50-7.84 s at 249-267 MB, Node.js 24 6.71-6.96 s at
 * 271-298 MB against 7.07-7.23 s at 301-316 MB (four rounds each, one reader faster in every one); without it, the
 * same time on 20 (4.48-4.73 against 4.53-4.67 s) and 0.96x on 24, 10-35 MB less; in files of 1,000 records the
 * same time for 10-20 MB less; 5M records over 70 days 32.8 against 34.3 s at 268 against 291 MB on 20, 32.4 against
 * 31.0 s at 308 against 334 MB on 24 (one round each).
 */
export const DEFAULT_THREADS = 2;
/**
 * Threads a replay uses by default where its readers read in JavaScript (no native reader): the engine's and two
 * that read, which each take longer than the engine for a record. The same 1M records with the ledger, on Node.js 20:
 * one reader 11.8 s, two 10.5 s. Earlier, when every reader read in JavaScript, a second one made a replay 15-25%
 * faster without the ledger and 4-15% with it.
 */
export const DEFAULT_THREADS_READING_JAVASCRIPT = 3;
/** Most threads `--threads` takes: more readers than this only hold more files in memory. */
export const MAX_THREADS = 4;

/** `--threads <n>` checked: undefined when not given (the replay then chooses). */
export const threadsOption = (value: string | undefined): number | undefined => {
  if (value === undefined) return undefined;
  const threads = Number(value);
  if (!Number.isInteger(threads) || threads < 1 || threads > MAX_THREADS) throw new UsageError(`--threads must be a whole number from 1 to ${MAX_THREADS} (got "${value}")`);
  return threads;
};

/**
 * Input on disk below which a replay reads on its own thread unless `--threads` says otherwise: reader threads take
 * 60–80 ms to start and cost a message a batch, which a small input does not win back. Measured on two cores in
 * alternating runs (2026-12-05), one thread against three: `events/` (9 files) 116–132 against 182–187 ms, 263–273
 * against 303–313 ms with a new database; 2,000 simulated records (460 KB) 252–265 against 316–328 ms; 20,000 (1.9
 * MB) 463–504 against 533–544 ms, with a database 797–881 against 827–859; 50,000 (4.1 MB) 584–624 against
 * 618–638 ms, with a database 942–1,014 against 938–984; 200,000 (17 MB) 1,679–1,872 against 1,365–1,461 ms.
 */
export const READER_THREADS_FROM_BYTES = 2 * 1024 * 1024;

/**
 * The reader threads a replay of `inputs` uses: `threads` (`--threads`) less the engine's own when given; otherwise
 * none on one core or for less than READER_THREADS_FROM_BYTES on disk, and from there DEFAULT_THREADS less one when
 * the readers read natively, DEFAULT_THREADS_READING_JAVASCRIPT less one when they read in JavaScript.
 */
export const readerThreadsFor = (inputs: readonly InputFile[], threads: number | undefined, cores: number, readsNatively: boolean): number => {
  if (threads !== undefined) return threads - 1;
  if (cores < 2) return 0;
  let bytes = 0;
  for (const input of inputs) bytes += input.bytes;
  if (bytes < READER_THREADS_FROM_BYTES) return 0;
  return (readsNatively ? DEFAULT_THREADS : DEFAULT_THREADS_READING_JAVASCRIPT) - 1;
};

/**
 * Said when events came further behind others of their account and Region than delivery makes them: input out of
 * time order, which matching, windows and baselines take otherwise than a trail's files in order.
 */
export const lateEventsNote = (late: number, latenessMs: number): string =>
  `kdm: note: ${counted(late, 'event')} came more than ${Math.round(latenessMs / 60_000)} minutes (the correlation lateness) behind events of the same account and Region read before ${late === 1 ? 'it' : 'them'}: the input is out of time order (days given out of order, for example), and S3 matching, windows and baselines take such events as late\n`;

/** Said when Event history lookups given as files are too large together to be held, and are read one after another. */
export const lookupsReadApartNote = (files: number, textBytes: number, maxBytes: number): string =>
  `kdm: note: ${files} Event history lookups hold ${Math.ceil(textBytes / 1048576)} MiB of text together, more than --max-file-mb (${Math.round(maxBytes / 1048576)} MiB) lets a replay hold to read them in the order of their times: each is read in its own order, one after another, so their events come late behind each other's; for more, replay a trail's files\n`;

/** Items of `first`, then of `then`, each when given. */
async function* readInOrder<T>(first: AsyncGenerator<T> | undefined, then: AsyncGenerator<T> | undefined): AsyncGenerator<T> {
  if (first !== undefined) yield* first;
  if (then !== undefined) yield* then;
}

/** Said when a replay into a pruned database let go of the ledger rows of days before the day the prune kept from. */
export const prunedDaysNote = (file: string, keptFrom: string, letGo: { readonly rows: number; readonly accesses: number }): string =>
  `kdm: note: ${safeText(file)} keeps no history before ${keptFrom} (kdm prune removed it): ${counted(letGo.rows, 'ledger row')} and ${counted(letGo.accesses, 'object record')} of those days, from calls read now, were not kept (findings on them were)\n`;

/** The reason of a file skipped because the database holds it already (told in one line for all). */
const ALREADY_REPLAYED = 'already-replayed';
/** The reason of a file a trail delivered before the replay's `--from` (told in one line for all). */
const DELIVERED_BEFORE_WINDOW = 'delivered-before-from';
/** The reason of a file a trail delivered more than `--delivery-lag` after the replay's `--to` (told in one line for all). */
const DELIVERED_AFTER_WINDOW = 'delivered-after-to';
/** File skips told in one line for them all rather than a line each: a replay may skip thousands of them. */
const TOLD_IN_ONE_LINE: ReadonlySet<string | undefined> = new Set([ALREADY_REPLAYED, DELIVERED_BEFORE_WINDOW, DELIVERED_AFTER_WINDOW]);

/** Said of the findings a replay's --learn-from left out: last seen before --from, they are the learning's. */
const learnedFindingsNote = (count: number, fromText: string): string =>
  `kdm: ${counted(count, 'finding')} last seen before --from ${safeText(fromText)}, in the days read to learn from (--learn-from), left out\n`;

/** Said when a window of time holds none of the events read: most likely a bound mistyped, or the wrong logs. */
const emptyWindowNote = (window: ReplayWindow, outside: OutsideWindow): string => {
  const bounds = [
    window.learnFromText !== undefined ? `--learn-from ${safeText(window.learnFromText)}` : '',
    window.fromText !== undefined ? `--from ${safeText(window.fromText)}` : '',
    window.toText !== undefined ? `--to ${safeText(window.toText)}` : '',
  ]
    .filter((b) => b !== '')
    .join(' ');
  const span = outside.firstMs === outside.lastMs ? `is at ${new Date(outside.firstMs).toISOString()}` : `run from ${new Date(outside.firstMs).toISOString()} to ${new Date(outside.lastMs).toISOString()}`;
  return `kdm: note: no event read lies inside ${bounds}: the ${counted(outside.count, 'event')} read ${span}\n`;
};

/** The span of a delivery time a trail's file name gives (its minute). */
const DELIVERY_MINUTE_MS = 60_000;

/**
 * The inputs a trail delivered outside the window, by their names. `before` it begins: such a file holds only
 * records written before its delivery, so none of the window's. `after` it ends by more than the window's delivery
 * lag: the window's records were all delivered by then, unless a delivery was held up longer (the lag is the user's
 * to widen). Files of other names (exports, stdin) are read and filtered. The window is `edgeMs` wider at both ends
 * here: the S3 requests just outside it may be those of S3-made calls inside it.
 */
const deliveredOutsideWindow = (inputs: readonly InputFile[], window: ReplayWindow | undefined, edgeMs: number): { before: Set<InputFile>; after: Set<InputFile> } => {
  const before = new Set<InputFile>();
  const after = new Set<InputFile>();
  const fromMs = window !== undefined ? readFromMs(window) : undefined;
  const lastDeliveryMs = window?.toMs !== undefined && window.deliveryLagMs !== undefined ? window.toMs + edgeMs + window.deliveryLagMs : undefined;
  if (fromMs === undefined && lastDeliveryMs === undefined) return { before, after };
  for (const input of inputs) {
    const deliveredBy = deliveredByMs(input.path);
    if (deliveredBy === undefined) continue;
    if (fromMs !== undefined && deliveredBy <= fromMs - edgeMs) before.add(input);
    // Delivered within the minute its name gives: at the minute's start at the earliest.
    else if (lastDeliveryMs !== undefined && deliveredBy - DELIVERY_MINUTE_MS > lastDeliveryMs) after.add(input);
  }
  return { before, after };
};

/** The reader threads' script, beside the CLI's in dist/ (absent when running from sources: see readInputs). */
const READER_WORKER_SCRIPT = new URL('./kdm-reader-worker.js', import.meta.url);

/** Signals that end a replay into a database with a word on what it keeps. */
const INTERRUPTS = ['SIGINT', 'SIGTERM'] as const;

/** Most read problems printed one per line; the rest are counted in one closing line. */
const MAX_ISSUE_LINES = 200;

interface ReplayPlan {
  /** What to read: files new to the database, and what has no name to be known by there (standard input, a pipe). */
  readonly toRead: InputFile[];
  /** Each new file's name in the database (see replayed-files.ts), noted once the file has been read whole. */
  readonly namesInDb: Map<string, string>;
  /** Files the database holds already, or that this run reads under another path too. */
  readonly replayed: { readonly input: InputFile; readonly by: ReplayedFileName['by'] }[];
}

/**
 * Sorts the inputs into those to read and those `db` holds already (everything is read without a database). An
 * export is hashed to be known by its contents, which for a large one takes a while: the progress line shows it.
 */
const planAgainst = async (inputs: readonly InputFile[], db: LedgerDatabase | undefined, progress: Progress): Promise<ReplayPlan> => {
  const plan: ReplayPlan = { toRead: [], namesInDb: new Map(), replayed: [] };
  const inThisRun = new Set<string>();
  for (const input of inputs) {
    // A file that cannot be looked at is read all the same, for the reader to say what is wrong, and never noted.
    const known = db === undefined || input.path === '-' ? undefined : await replayedFileName(input.path, (bytes) => progress.identifying(input.path, bytes, input.bytes)).catch(() => undefined);
    if (db === undefined || known === undefined) {
      plan.toRead.push(input);
      continue;
    }
    const key = `${known.name}\u0000${input.bytes}`;
    if (inThisRun.has(key) || (await db.hasFile(known.name, input.bytes))) plan.replayed.push({ input, by: known.by });
    else {
      inThisRun.add(key);
      plan.namesInDb.set(input.path, known.name);
      plan.toRead.push(input);
    }
  }
  return plan;
};

/**
 * What a replay starts while DuckDB loads and its database opens (70–80 ms, more for a new file, which creates its
 * tables): listing the input, and then the reader threads, which load (60–80 ms) while the list is planned against
 * the database. Done one after another, the steps took 331–413 ms before the first record, of which listing took
 * 97–118 ms and the readers 67–99 (5,024 files); overlapped, 266–332 ms (docs/performance.md). The problems the listing meets are held for
 * the replay's processor, which does not exist yet; the list is the replay's once taken (`take`), so that it can let
 * go of it (see readInputs).
 */
class InputStart {
  #listed: Promise<InputFile[]> | undefined;
  readonly #threads: Promise<ReaderThreads | undefined>;
  readonly #issues: ReadIssue[] = [];

  constructor(paths: readonly string[], readersFor: (inputs: readonly InputFile[]) => number, workerScript: URL, s3SyncCommand: (url: string) => string) {
    const listed = expandInputs(paths, (issue) => this.#issues.push(issue), { s3SyncCommand });
    this.#listed = listed;
    // Threads that fail to start are started again by readInputs, which then tells why they failed.
    this.#threads = listed.then((inputs) => startReaderThreads(inputs, { workerScript, readers: readersFor(inputs) })).catch(() => undefined);
  }

  /** The listed input, once, and each problem met listing it told to `onIssue`, in order. */
  async take(onIssue: (issue: ReadIssue) => void): Promise<InputFile[]> {
    const listed = this.#listed;
    if (listed === undefined) throw new Error('the listed input was taken already');
    this.#listed = undefined;
    const inputs = await listed;
    for (const issue of this.#issues.splice(0)) onIssue(issue);
    return inputs;
  }

  /** The reader threads started for the list, for readInputs to read with (undefined where none would be used). */
  readers(): Promise<ReaderThreads | undefined> {
    return this.#threads;
  }

  /** Ends the reader threads unless readInputs has them, once they have started: does not wait for a long listing. */
  stop(): void {
    void this.#threads.then((threads) => threads?.terminate());
  }
}

/** `kdm replay`: reads archived CloudTrail, runs the same engine as the Lambda, reports activity and findings. */
export const runReplay = async (options: ReplayOptions): Promise<ReplayResult> => {
  const stdout = options.stdout ?? process.stdout;
  const stderr = options.stderr ?? process.stderr;
  const nowMs = options.nowMs ?? Date.now;
  const started = performance.now();

  let printedIssues = 0;
  let unprintedIssues = 0;
  let unreadInput = false;
  const onIssue = (issue: ReadIssue): void => {
    if (issue.kind === 'record-failed' || issue.kind === 'file-failed') unreadInput = true;
    // Duplicates and other per-record skips are counted in the summary; failures and file-level skips are named,
    // but for files already in the database or delivered outside a window, which are told in one line.
    if (issue.kind === 'record-skipped' || TOLD_IN_ONE_LINE.has(issue.reason)) return;
    if (printedIssues >= MAX_ISSUE_LINES) {
      unprintedIssues++;
      return;
    }
    printedIssues++;
    const where = issue.origin.index === undefined ? issue.origin.file : `${issue.origin.file} record ${issue.origin.index}`;
    const label = issue.kind === 'file-skipped' ? 'skipped' : issue.kind === 'file-note' ? 'warning' : 'error';
    // kdm simulate's labels beside its logs are kdm's own, not a log misnamed: said as what they are.
    const message = issue.kind === 'file-skipped' && basename(issue.origin.file) === LABELS_FILE ? `labels kdm simulate wrote, which kdm backtest scores against, not CloudTrail` : issue.message;
    stderr.write(`kdm: ${label}: ${safeText(where)}: ${safeText(message)}\n`);
  };

  // The findings file, when they go to one rather than to stdout: told now if it cannot be written, or is the database.
  const findingsFile = options.findings !== undefined && options.findings !== '-' ? options.findings : undefined;
  if (findingsFile !== undefined) checkOutputPath(findingsFile, 'findings', options.db);
  const engine = createEngine({ rules: options.rules, config: options.config });
  // Reading, decompressing, parsing and normalizing run on reader threads when there are cores for them and enough
  // input to pay for their start (READER_THREADS_FROM_BYTES): asked of the whole list, then of what is left to read.
  const cores = availableParallelism();
  // Whether the readers read natively: it decides how many there are, and without it the replay says so.
  const native = options.nativeReader ?? nativeReaderStatus();
  const readersFor = (inputs: readonly InputFile[]): number => readerThreadsFor(inputs, options.threads, cores, native.state === 'on');
  const inputStart = new InputStart(options.paths, readersFor, READER_WORKER_SCRIPT, (url) => s3SyncCommand(url, options.window, options.config.correlation.windowMs));
  let checkpoints = 0;
  let findingsSink: JsonlFindingSink | undefined;
  let progress: Progress | undefined;
  // DuckDB (about 190 ms and 35 MB to load) only with --db, and the AWS SDK (230 ms, 36 MB) only with --publish.
  let opened: LedgerDatabase | undefined;
  try {
    opened =
      options.db === undefined
        ? undefined
        : await (await loadLedgerDatabase()).openLedgerDatabase(options.db, {
            ...(options.checkpointRows !== undefined ? { checkpointRows: options.checkpointRows } : {}),
            ...(options.dbMemoryMb !== undefined ? { memoryLimitMb: options.dbMemoryMb } : {}),
            memoryAdvice: (limitMb) => `run again with a larger --db-memory-mb (for example ${4 * limitMb})`,
            onUpgrade: (note) => stderr.write(`kdm: ${safeText(options.db ?? '')}: ${note}\n`),
          });
  } catch (error) {
    inputStart.stop();
    throw error;
  }
  // The time the replay waits for the database, told once it is closed (database-time.ts).
  const timing = opened === undefined ? undefined : timedDatabase(opened);
  const db = timing?.db;
  // Ctrl-C in a long replay: say what the database holds and how to go on, and leave no partial findings file
  // behind (the one a run that fails removes), rather than vanish. Exiting at once is safe: DuckDB's log keeps
  // each checkpoint's commit, and the next open discards the rest.
  const onSignal = (signal: NodeJS.Signals): void => {
    progress?.stop();
    findingsSink?.abandon();
    const findingsNote = findingsFile !== undefined ? `; ${safeText(findingsFile)} was left as it was` : '';
    if (db === undefined) stderr.write(`kdm: interrupted (${signal})${findingsNote}\n`);
    else {
      const kept = checkpoints > 0 ? `keeps this run up to its last checkpoint (${checkpoints} made)` : 'holds nothing of this run yet (no checkpoint was made)';
      stderr.write(`kdm: interrupted (${signal}): ${safeText(db.file)} ${kept}${findingsNote}; run the same command again to continue from there\n`);
    }
    process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
  };
  if (db !== undefined || findingsFile !== undefined) for (const signal of INTERRUPTS) process.once(signal, onSignal);
  try {
    const store = createMemoryStateStore(db !== undefined ? await db.loadState() : undefined, { writeThrough: true });
    await db?.begin();
    const ledger = new LedgerAccumulator();
    const processor = createRecordProcessor({
      engine,
      store,
      clock: { nowMs },
      onIssue,
      ...(db !== undefined ? { ledger: { into: ledger } } : {}),
      ...(options.hashContextValues !== undefined ? { redactContextValue: options.hashContextValues } : {}),
      ...(options.checkStatePlanning === true ? { checkStatePlanning: true } : {}),
      ...(options.window !== undefined ? { eventTimes: { fromMs: readFromMs(options.window) ?? Number.NEGATIVE_INFINITY, toMs: options.window.toMs ?? Number.POSITIVE_INFINITY } } : {}),
    });
    return await replayInto(processor, store, db, ledger);
  } catch (error) {
    findingsSink?.abandon();
    await db?.rollback();
    if (db !== undefined && checkpoints > 0) {
      stderr.write(`kdm: ${safeText(db.file)} keeps this run up to its last checkpoint (${checkpoints} made); run the same command again to continue from there\n`);
    }
    throw error;
  } finally {
    for (const signal of INTERRUPTS) process.off(signal, onSignal);
    inputStart.stop();
    db?.close();
    if (timing !== undefined) performance.mark(DATABASE_TIME_MARK, { detail: timing.spent });
  }

  async function replayInto(processor: RecordProcessor, store: MemoryStateStore, db: LedgerDatabase | undefined, ledger: LedgerAccumulator): Promise<ReplayResult> {
    // A database kdm prune removed the history of days from keeps none of them again: a late file's calls of those
    // days are found and told, but their ledger rows are let go (and counted, and said).
    const keptFrom = db === undefined ? undefined : await prunedBefore(db.connection);
    const letGo = { rows: 0, accesses: 0 };
    const writeLedger = async (into: LedgerDatabase, delta: LedgerDelta): Promise<void> => {
      if (keptFrom === undefined) return into.writeLedger(delta);
      const { kept, earlierRows, earlierAccesses } = ledgerFromDay(delta, keptFrom);
      letGo.rows += earlierRows;
      letGo.accesses += earlierAccesses;
      if (kept.rows.length > 0 || kept.accesses.length > 0) await into.writeLedger(kept);
    };
    // The findings file is opened first: a path that cannot be written fails the run before any work.
    const rulesById = new Map(options.rules.map((r) => [r.id, r] as const));
    findingsSink =
      options.findings === undefined
        ? undefined
        : createJsonlFindingSink(options.findings, (f) => {
            const rule = rulesById.get(f.ruleId);
            if (rule === undefined) throw new Error(`finding ${f.id} names unknown rule ${f.ruleId}`);
            return renderFinding(f, rule, options.findingsFormat ?? 'asff', options.version ?? '0.0.0', options.fallbackAccountId);
          });

    // Let go of once planned: the readers hold the list from there (see readInputs).
    let inputs: InputFile[] | undefined = await inputStart.take(processor.noteIssue);
    const { before, after } = deliveredOutsideWindow(inputs, options.window, engine.config.correlation.windowMs);
    if (before.size > 0 || after.size > 0) inputs = inputs.filter((input) => !before.has(input) && !after.has(input));
    /** Counts `files` as skipped for `reason`, each with `when` as its message, and tells them in one line. */
    const skipUnread = (files: ReadonlySet<InputFile>, reason: string, when: string, why: string): void => {
      if (files.size === 0) return;
      for (const input of files) processor.noteIssue({ kind: 'file-skipped', origin: { file: input.path }, message: `delivered ${when}`, reason });
      stderr.write(`kdm: skipped ${counted(files.size, 'log file')} a trail delivered ${safeText(when)}, unread: ${why}\n`);
    };
    const startBound = options.window?.learnFromText !== undefined ? `--learn-from ${options.window.learnFromText}` : `--from ${options.window?.fromText ?? ''}`;
    skipUnread(before, DELIVERED_BEFORE_WINDOW, `before ${startBound}`, 'a file holds only records written before its delivery');
    skipUnread(after, DELIVERED_AFTER_WINDOW, `more than ${options.window?.deliveryLagText ?? ''} after --to ${options.window?.toText ?? ''}`, "CloudTrail delivers a record in about 5 minutes, so they hold none of the window's unless its delivery was held up (--delivery-lag any reads them)");
    // Findings written over a log being read would replace the evidence they came from.
    if (findingsFile !== undefined) {
      const isFindingsFile = sameFileAs(findingsFile);
      const overwritten = inputs.find((input) => input.path !== '-' && isFindingsFile(input.path));
      if (overwritten !== undefined) throw cannotWriteOutput('findings', findingsFile, `it is a log file this replay reads (${overwritten.path}); choose another file`);
    }
    // Nothing to read, and nothing said about why (a path that could not be opened was reported already): most
    // likely the wrong directory, which a summary of zeros alone would not make plain.
    if (inputs.length === 0 && processor.summary.files.failed === 0 && before.size === 0 && after.size === 0) {
      stderr.write(`kdm: warning: no CloudTrail log files under ${options.paths.map(safeText).join(', ')} (log files end in .json, .jsonl or .ndjson, optionally .gz)\n`);
    }
    progress = createProgress(inputs.length, inputs.reduce((n, f) => n + f.bytes, 0), stderr);
    const findings = new Map<string, FindingRecord>();
    // Created or updated since the database's last checkpoint.
    const changedFindings = new Map<string, FindingRecord>();
    const readOptions = {
      maxFileBytes: options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES,
      ...(options.readStdin !== undefined ? { readStdin: options.readStdin } : {}),
    };

    const { toRead, namesInDb, replayed } = await planAgainst(inputs, db, progress);
    inputs = undefined;
    if (db !== undefined && replayed.length > 0) {
      for (const { input, by } of replayed) {
        processor.noteIssue({ kind: 'file-skipped', origin: { file: input.path }, message: `already replayed into ${db.file} (same ${by})`, reason: ALREADY_REPLAYED });
        progress.fileDone(input.bytes);
      }
      const which = replayed.length === 1 ? `${safeText(replayed[0]?.input.path ?? '')}, already replayed` : `${replayed.length} files already replayed`;
      stderr.write(`kdm: skipped ${which} into ${safeText(db.file)} (same ${[...new Set(replayed.map((r) => r.by))].join(', or same ')}); their calls are counted there\n`);
    }
    // A file that could not be read as a whole is not noted as replayed: once it can be, the next run reads it.
    const failedFiles = new Set<string>();
    // Said before a long read rather than left to be guessed from its speed: without the native reader (no
    // compiler when npm ci ran, or a build for another platform), the readers read in JavaScript.
    if (native.state === 'absent' && toRead.length > 0) {
      stderr.write(`kdm: note: the native reader ${safeText(native.reason)}; reading in JavaScript, with the same results in about 1.3 times the time\n`);
    }
    // A replay's heap follows its live data (see heap-growth.ts).
    limitHeapGrowth();
    // Event history lookups given as files of their own are read together, as one text of them is: before the other
    // files or after them, by where the first lookup stands. The list is taken out of toRead, so that the readers,
    // which let go of each path as they hand it on, hold it alone.
    const { together, rest, togetherFirst, apart } = eventHistoryFiles(toRead.splice(0), readOptions.maxFileBytes);
    if (apart !== undefined) stderr.write(lookupsReadApartNote(apart.files, apart.textBytes, readOptions.maxFileBytes));
    const lookups = together.length > 0 ? readEventHistoryTogether(together, readOptions) : undefined;
    const others = readInputs(rest, { ...readOptions, started: await inputStart.readers(), workerScript: READER_WORKER_SCRIPT, readers: readersFor(rest) });
    const reader = togetherFirst ? readInOrder(lookups, others) : readInOrder(others, lookups);
    // Each file's records read so far, noted with the file once it is read whole (a lookup's batches come between
    // others' when lookups are read together).
    const recordsOfFile = new Map<string, number>();
    // Ledger rows and accesses held when a write is considered (see ACCUMULATED_LEDGER_ROWS).
    const writeAt = Math.min(ACCUMULATED_LEDGER_ROWS, db?.checkpointRows ?? Number.POSITIVE_INFINITY);
    for await (const item of reader) {
      if (item.type === 'issue') {
        processor.noteIssue(item.issue);
        if (item.issue.kind === 'file-failed') failedFiles.add(item.issue.origin.file);
      } else if (item.type === 'file-done') {
        processor.summary.files.read++;
        progress.fileDone(item.bytes);
        const nameInDb = namesInDb.get(item.file);
        namesInDb.delete(item.file);
        const records = recordsOfFile.get(item.file) ?? 0;
        recordsOfFile.delete(item.file);
        if (db !== undefined && nameInDb !== undefined && !failedFiles.delete(item.file)) await db.noteFile(nameInDb, item.bytes, records, nowMs());
      } else {
        const outcome = item.type === 'normalized' ? await processor.processNormalized(item.batch, item.results) : await processor.processBatch(item.batch);
        const count = item.type === 'normalized' ? item.results.length : item.batch.records.length;
        recordsOfFile.set(item.batch.file, (recordsOfFile.get(item.batch.file) ?? 0) + count);
        progress.records(count);
        for (const f of outcome.findings) {
          findings.set(f.id, f);
          changedFindings.set(f.id, f);
        }
        if (db !== undefined && ledger.size >= writeAt) {
          const delta = ledger.drainForWrite(HELD_DAY_FACTOR * writeAt);
          if (delta.rows.length > 0 || delta.accesses.length > 0) await writeLedger(db, delta);
          // Commit what is done so far (ledger, state, findings, files): bounds DuckDB's memory on long replays.
          if (db.checkpointDue(store.entries.size)) {
            if (ledger.size > 0) await writeLedger(db, ledger.drain());
            await db.checkpoint(store.entries, [...changedFindings.values()]);
            changedFindings.clear();
            checkpoints++;
          }
        }
      }
    }
    // At the end of the input: without a database, every call still waiting for its S3 request is decided now. With
    // one, those whose deadline their stream's watermark has passed are, as the next batch would have decided them
    // (what a run leaves waiting then does not depend on where its batches ended: a file of 1,000 records is one
    // batch, and spans more than the lateness window); the calls of the last lateness window keep waiting there, as
    // the next replay into the same file (the following hours of logs) may bring their S3 requests.
    for (const f of (await processor.flush(db === undefined ? {} : { decideBeforeMs: Number.NEGATIVE_INFINITY })).findings) {
      findings.set(f.id, f);
      changedFindings.set(f.id, f);
    }
    if (db !== undefined) {
      const waiting = [...store.entries.values()].reduce((n, e) => n + (e.kind === 'correlation' ? e.kms.length : 0), 0);
      if (waiting > 0) {
        const [verb, their, them] = waiting === 1 ? ['waits', 'its', 'it'] : ['wait', 'their', 'them'];
        stderr.write(`kdm: ${counted(waiting, 'S3-made KMS call')} from the last ${Math.round(engine.config.correlation.latenessMs / 60_000)} minutes ${verb} in ${safeText(db.file)} for ${their} S3 request; the next replay into it decides ${them}\n`);
      }
    }
    progress.stop();
    if (unprintedIssues > 0) stderr.write(`kdm: … and ${counted(unprintedIssues, 'more read problem')} not shown\n`);
    const late = processor.summary.events.late;
    if (late > 0) stderr.write(lateEventsNote(late, engine.config.correlation.latenessMs));
    if (options.window !== undefined && processor.summary.records.processed === 0 && processor.outsideWindow.count > 0) stderr.write(emptyWindowNote(options.window, processor.outsideWindow));

    let allFindings = [...findings.values()].sort((a, b) => a.firstSeenMs - b.firstSeenMs || a.id.localeCompare(b.id));
    // With --learn-from, what the days before --from raised alone is the learning's, not the window's.
    const windowFromMs = options.window?.learnFromMs !== undefined ? options.window.fromMs : undefined;
    let findingsLeftOut: number | undefined;
    if (windowFromMs !== undefined) {
      const inWindow = allFindings.filter((f) => f.lastSeenMs >= windowFromMs);
      findingsLeftOut = allFindings.length - inWindow.length;
      if (findingsLeftOut > 0) stderr.write(learnedFindingsNote(findingsLeftOut, options.window?.fromText ?? ''));
      allFindings = inWindow;
    }
    if (findingsSink !== undefined) {
      await findingsSink.put(allFindings);
      await findingsSink.close();
      findingsSink = undefined;
    }

    if (options.publish !== undefined) await (await import('./publish.ts')).publishFindings(allFindings, rulesById, options.publish, stderr);

    const durationMs = performance.now() - started;
    const expired = expiredSuppressions(options.config.suppressions, nowMs());
    for (const s of expired) stderr.write(expiredSuppressionWarning(s));
    const window = options.window !== undefined ? { ...options.window, findingsLeftOut } : undefined;
    const summaryJson = summaryToJson(processor.summary, allFindings, { durationMs, expiredSuppressions: expired.map((s) => s.id), ...(window !== undefined ? { window } : {}) });
    // With findings on stdout, the summary moves to stderr so the JSONL stream stays clean.
    const summaryStream = options.findings === '-' ? stderr : stdout;
    summaryStream.write(options.summary === 'json' ? `${stringifyJsonSafely(summaryJson, 2)}\n` : `${formatSummaryTable(processor.summary, allFindings, durationMs, { window, db: options.db })}\n`);

    let exitCode: number = unreadInput ? EXIT.unreadInput : EXIT.ok;
    if (options.failOn !== undefined) {
      const threshold = severityRank(options.failOn);
      if (allFindings.some((f) => f.suppressedBy === undefined && severityRank(f.severity) >= threshold)) exitCode = EXIT.findingsAtOrAbove;
    }
    if (db !== undefined) {
      await writeLedger(db, ledger.drain());
      // The findings the checkpoints wrote are in the database already: the commit adds those changed since.
      await db.commit(store.entries, [...changedFindings.values()]);
      if (keptFrom !== undefined && letGo.rows + letGo.accesses > 0) stderr.write(prunedDaysNote(db.file, keptFrom, letGo));
    }
    return { exitCode, summaryJson, findings: allFindings, unplannedStateReads: [...processor.unplannedStateReads] };
  }
};
