// The local database's memory budgets, apart from the database itself so that the CLI can check and print them
// without loading DuckDB (about 190 ms and 35 MB), which only the commands that open a database need.

/**
 * DuckDB's memory budget (MiB) when a replay writes: beyond it DuckDB spills what the open transaction holds to
 * `<file>.tmp`. What a write needs grows with the rows it hands over (at most ACCUMULATED_LEDGER_ROWS object
 * accesses) and with the database: 32 MiB took writes of 10,000 accesses with 1,000-character object keys and a
 * whole 1M-record replay (peak 311–327 instead of 348–364 MB), but failed after the sixth checkpoint of a
 * 5M-record one, and 24 MiB failed on the fourth write of the 1M replay. Since writes look up only the ids the
 * file may hold, 32 MiB takes the 5M replay and the bench (peak 314 instead of about 340 MB), but it has no room
 * to spare: handing over 5,000 accesses a write instead of 10,000 made it fail on the fourth day of the 1M replay
 * (each write's stage tables keep their blocks until the run commits, and commits wait for as many rows as the
 * engine state has entries: 72,518 at the end of that replay), where 64 MiB took it. So 64 stays the default;
 * a 1M-record replay peaked 60–70 MB lower with it than with 128, in the same time. `--db-memory-mb` raises it
 * for unusual data.
 */
export const DEFAULT_WRITE_MEMORY_MB = 64;
/** The smallest budget a replay accepts: 24 MiB could not take one of the writes of a 1M-record replay. */
export const MIN_WRITE_MEMORY_MB = 32;
/** Queries and reports keep a larger budget: their joins and sorts are short-lived. */
export const QUERY_MEMORY_MB = 128;
