// The local database's memory budgets, apart from the database itself so that the CLI can check and print them
// without loading DuckDB (about 190 ms and 35 MB), which only the commands that open a database need.

/**
 * DuckDB's memory budget (MiB) when a replay writes: beyond it DuckDB spills what the open transaction holds to
 * `<file>.tmp`. What a write needs grows with the rows it hands over (at most ACCUMULATED_LEDGER_ROWS object
 * accesses) and with the database: 32 MiB took writes of 10,000 accesses with 1,000-character object keys and a
 * whole 1M-record replay, but failed after the sixth checkpoint of a 5M-record one until writes looked up only
 * the ids the file may hold; it takes that replay now. 24 MiB fails at 1M, also committing every 10,000 rows. With
 * commits every 10,000 rows and 6 MB young generations for the readers, a 1M-record replay peaked at 312–326 MB
 * with 32 MiB against 320–330 (one series: 343–346) with 64, in the same time. `--db-memory-mb` raises it for
 * unusual data; the error that asks for more says so.
 */
export const DEFAULT_WRITE_MEMORY_MB = 32;
/** The smallest budget a replay accepts: 24 MiB could not take one of the writes of a 1M-record replay. */
export const MIN_WRITE_MEMORY_MB = 32;
/** Queries and reports keep a larger budget: their joins and sorts are short-lived. */
export const QUERY_MEMORY_MB = 128;
