/**
 * How long a replay spends in its database's steps. The engine's thread does nothing else meanwhile (it stages the
 * rows, then waits for DuckDB's statements), so this time is all on the replay's critical path: about 2 s of a
 * 1M-record replay's 7.5, 1.3 s of it in DuckDB's statements (docs/performance.md). A replay measures it around
 * every call, and tells it once the database is closed as a User Timing mark (`performance.mark(DATABASE_TIME_MARK,
 * { detail })`), which `npm run bench:compare` reads in the measured process (bench/baselines/max-rss.mjs): a change
 * to the database's side then shows against a figure a quarter the size of the replay's.
 */
import type { LedgerDatabase } from '#adapters/local/ledger-database.ts';

export const DATABASE_TIME_MARK = 'kdm:database-time';

/** Calls and milliseconds, by the name of the database's method. */
export type DatabaseTime = Record<string, { calls: number; ms: number }>;

/**
 * `db` with each of its methods timed into `spent`: until the promise it returns settles, or until it returns. The
 * database is a plain object of closures (no `this`, no getters), so its methods are called as they are and its
 * other properties copied.
 */
export const timedDatabase = (db: LedgerDatabase): { readonly db: LedgerDatabase; readonly spent: DatabaseTime } => {
  const spent: DatabaseTime = {};
  const add = (step: string, startedMs: number): void => {
    const entry = (spent[step] ??= { calls: 0, ms: 0 });
    entry.calls++;
    entry.ms += performance.now() - startedMs;
  };
  const wrapped: Record<string, unknown> = { ...db };
  for (const [step, method] of Object.entries(db)) {
    if (typeof method !== 'function') continue;
    wrapped[step] = (...args: unknown[]): unknown => {
      const startedMs = performance.now();
      let result: unknown;
      try {
        result = (method as (...a: unknown[]) => unknown)(...args);
      } catch (error) {
        add(step, startedMs);
        throw error;
      }
      if (!(result instanceof Promise)) {
        add(step, startedMs);
        return result;
      }
      return result.finally(() => add(step, startedMs));
    };
  }
  return { db: wrapped as unknown as LedgerDatabase, spent };
};
