import type { DuckDBConnection } from '@duckdb/node-api';
import { principalFindingsKey, type PrincipalFindings } from '#core/findings/principal-findings.ts';
import { decodeState, encodeState } from '../state-codec.ts';

/** kdm_meta's entry for the day before which `kdm prune` removed the history: the latest such day, once any. */
const PRUNED_BEFORE = 'pruned_before';

/** What of each table lies before the day `$before`: what a prune counts, then removes. */
const BEFORE_THE_DAY = {
  ledger: 'day < CAST($before AS DATE)',
  object_access: 'day < CAST($before AS DATE)',
  findings: 'last_seen < CAST($before AS TIMESTAMP)',
} as const;

/** What a prune removes, or would. */
export interface PruneCounts {
  /** Ledger rows (a day, key, principal, path... each) of the days before. */
  readonly ledgerRows: number;
  /** Object records (a day, object, principal each) of the days before. */
  readonly objectRecords: number;
  /** Findings last seen before the day. */
  readonly findings: number;
}

const one = async (connection: DuckDBConnection, sql: string, before: string): Promise<Record<string, unknown>> =>
  ((await connection.runAndReadAll(sql, { before })).getRowObjectsJson()[0] ?? {}) as Record<string, unknown>;

/**
 * How much of the history lies before `beforeDay` (YYYY-MM-DD), and what is left after it: the days of ledger rows
 * and the newest of them (none left is a prune kdm refuses).
 */
export const countPrunable = async (connection: DuckDBConnection, beforeDay: string): Promise<PruneCounts & { readonly daysLeft: number; readonly newestDay: string | undefined }> => {
  const ledger = await one(
    connection,
    `SELECT count(*) FILTER (WHERE ${BEFORE_THE_DAY.ledger}) AS removed, count(DISTINCT day) FILTER (WHERE NOT (${BEFORE_THE_DAY.ledger})) AS days_left,
            CAST(max(day) AS VARCHAR) AS newest FROM ledger`,
    beforeDay,
  );
  const objects = await one(connection, `SELECT count(*) AS removed FROM object_access WHERE ${BEFORE_THE_DAY.object_access}`, beforeDay);
  const findings = await one(connection, `SELECT count(*) AS removed FROM findings WHERE ${BEFORE_THE_DAY.findings}`, beforeDay);
  return {
    ledgerRows: Number(ledger['removed'] ?? 0),
    objectRecords: Number(objects['removed'] ?? 0),
    findings: Number(findings['removed'] ?? 0),
    daysLeft: Number(ledger['days_left'] ?? 0),
    newestDay: typeof ledger['newest'] === 'string' ? ledger['newest'] : undefined,
  };
};

/** What `kdm prune` left in a database: the day before which it removed the history, and the rows of those days replayed since. */
export interface PruneMark {
  readonly removedBefore: string;
  /** Ledger rows of days before `removedBefore`, written by replays after the prune. */
  readonly rowsReplayedSince: number;
}

/** The day before which `kdm prune` removed the history (the latest such day), if it ever ran. */
export const prunedBefore = async (connection: DuckDBConnection): Promise<string | undefined> => {
  const row = (await connection.runAndReadAll(`SELECT value FROM kdm_meta WHERE name = '${PRUNED_BEFORE}'`)).getRowObjectsJson()[0];
  return typeof row?.['value'] === 'string' ? row['value'] : undefined;
};

/** The mark a prune left, if one ever ran (what history and reports tell their readers). */
export const pruneMark = async (connection: DuckDBConnection): Promise<PruneMark | undefined> => {
  const removedBefore = await prunedBefore(connection);
  if (removedBefore === undefined) return undefined;
  const since = await one(connection, `SELECT count(*) AS n FROM ledger WHERE ${BEFORE_THE_DAY.ledger}`, removedBefore);
  return { removedBefore, rowsReplayedSince: Number(since['n'] ?? 0) };
};

/**
 * Removes the ledger rows and object records of the days before `beforeDay` and the findings last seen before it
 * (and their ids from the principals' entries), in one transaction, and notes the day; the rest of the engine state
 * (baselines, dedupe, waiting calls) and the list of files read stay. A checkpoint then folds the change into the
 * file, whose freed blocks later writes reuse. Returns what the deletes removed, and the day the history is now kept
 * from (a later one, if an earlier prune gave it).
 */
export const pruneHistory = async (connection: DuckDBConnection, beforeDay: string): Promise<PruneCounts & { readonly keptFrom: string }> => {
  const remove = async (table: keyof typeof BEFORE_THE_DAY): Promise<number> =>
    (await connection.run(`DELETE FROM ${table} WHERE ${BEFORE_THE_DAY[table]}`, { before: beforeDay })).rowsChanged;
  await connection.run('BEGIN TRANSACTION');
  try {
    const ledgerRows = await remove('ledger');
    const objectRecords = await remove('object_access');
    const findingIds = (await connection.runAndReadAll(`DELETE FROM findings WHERE ${BEFORE_THE_DAY.findings} RETURNING id`, { before: beforeDay })).getRows().map(([id]) => String(id));
    await forgetFindings(connection, new Set(findingIds));
    const removed = { ledgerRows, objectRecords, findings: findingIds.length };
    const earlier = await prunedBefore(connection);
    // Days compare as text: the note keeps the latest day any prune removed history before.
    const keptFrom = earlier !== undefined && earlier > beforeDay ? earlier : beforeDay;
    await connection.run(`INSERT OR REPLACE INTO kdm_meta VALUES ('${PRUNED_BEFORE}', $keptFrom)`, { keptFrom });
    await connection.run('COMMIT');
    await connection.run('CHECKPOINT');
    return { ...removed, keptFrom };
  } catch (error) {
    await connection.run('ROLLBACK').catch(() => undefined);
    throw error;
  }
};

/**
 * Takes findings a prune removed out of the principals' entries that name them (`principalFindingsKey`), so that a
 * later replay into the database names no finding it no longer holds, and no story counts one; an entry left with
 * none goes.
 */
const forgetFindings = async (connection: DuckDBConnection, removed: ReadonlySet<string>): Promise<void> => {
  if (removed.size === 0) return;
  const rows = (await connection.runAndReadAll('SELECT k, v FROM engine_state WHERE starts_with(k, $prefix)', { prefix: principalFindingsKey('') })).getRows() as [string, string][];
  for (const [k, v] of rows) {
    const entry = decodeState(v) as PrincipalFindings;
    const ids = Object.keys(entry.findings);
    const kept = ids.filter((id) => !removed.has(id));
    if (kept.length === ids.length) continue;
    if (kept.length === 0) {
      await connection.run('DELETE FROM engine_state WHERE k = $k', { k });
      continue;
    }
    for (const id of ids) if (removed.has(id)) delete entry.findings[id];
    await connection.run('UPDATE engine_state SET v = $v WHERE k = $k', { k, v: encodeState(entry) });
  }
};
