import { loadLedgerDatabase } from '#adapters/local/duckdb-allocator.ts';
import { pathState } from '#adapters/local/file-paths.ts';
import { countPrunable, pruneHistory, type PruneCounts } from '#adapters/local/ledger-prune.ts';
import { counted } from '#core/counted.ts';
import { InputError, UsageError } from '#core/errors.ts';
import { isCalendarDate } from '#core/events/fields.ts';
import { parseCommandArgs } from './arguments.ts';
import { safeText } from './terminal.ts';

export const PRUNE_HELP = `kdm prune — remove the decrypt history of the days before a day from a database built by kdm replay --db

Usage: kdm prune --db <file> --before <YYYY-MM-DD> [--dry-run]

Removes the ledger's rows and object records of the days before --before (UTC), and the findings last seen
before it, for a retention period (the Lambda functions' ledger expires after ledgerRetentionDays). Keeps the
engine's baselines and the list of log files read, so later replays neither learn again nor read those files
again, and later replays keep no ledger rows of those days (a late file's calls of them are still read, and
their findings kept). kdm history and kdm report then say that history before that day was removed. --dry-run counts what
would go and changes nothing. A prune that would leave no day of the ledger is refused: delete the file for that.
The file does not shrink: later replays reuse the space.`;

const PRUNE_OPTIONS = {
  db: { type: 'string' },
  before: { type: 'string' },
  'dry-run': { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h' },
} as const;

const whatGoes = (counts: PruneCounts): string =>
  `${counted(counts.ledgerRows, 'ledger row')}, ${counted(counts.objectRecords, 'object record')} and ${counted(counts.findings, 'finding')}`;

/** `kdm prune --db <file> --before <day>`: exits 0 with what it removed (or would, with --dry-run). */
export const pruneCommand = async (argv: readonly string[], io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream }): Promise<number> => {
  const { values } = parseCommandArgs('prune', argv, { options: PRUNE_OPTIONS });
  if (values.help === true) {
    io.stdout.write(`${PRUNE_HELP}\n`);
    return 0;
  }
  const file = values.db;
  const before = values.before;
  if (file === undefined) throw new UsageError('prune needs --db <file> (a database built by `kdm replay <logs> --db <file>`)');
  if (before === undefined) throw new UsageError('prune needs --before <YYYY-MM-DD>: the history of the days before it is removed');
  if (!isCalendarDate(before)) throw new UsageError(`--before must be a day, YYYY-MM-DD (got "${before}")`);
  // Opening for writing would make a database where there is none; a prune has nothing to remove there.
  const state = pathState(file);
  if (state.kind === 'absent' || state.kind === 'no-directory') throw new InputError(file, undefined, 'no database here: kdm prune removes history from a database kdm replay --db built');
  const { openLedgerDatabase } = await loadLedgerDatabase();
  const name = safeText(file);
  // Counted read-only: a DuckDB file of something else is refused before any kdm table is made in it, and a dry
  // run changes nothing, not even the schema of a file an earlier kdm made.
  const reader = await openLedgerDatabase(file, { readOnly: true });
  let counts: Awaited<ReturnType<typeof countPrunable>>;
  try {
    counts = await countPrunable(reader.connection, before);
  } finally {
    reader.close();
  }
  if (counts.daysLeft === 0 && counts.newestDay !== undefined) {
    throw new UsageError(`--before ${before} would remove the whole of the history (its newest day is ${counts.newestDay}): kdm prune keeps at least a day; to remove all of it, delete the file`);
  }
  if (values['dry-run']) {
    io.stdout.write(`${name}: would remove ${whatGoes(counts)} from before ${before}; nothing changed (--dry-run)\n`);
    return 0;
  }
  const db = await openLedgerDatabase(file, { onUpgrade: (note) => io.stderr.write(`kdm: ${name}: ${note}\n`) });
  try {
    const removed = await pruneHistory(db.connection, before);
    const since = removed.keptFrom === before ? '' : ' (an earlier prune removed the days before it)';
    io.stdout.write(`${name}: removed ${whatGoes(removed)} from before ${before}; the history is kept from ${removed.keptFrom}${since}\n`);
    return 0;
  } finally {
    db.close();
  }
};
