// The local database's memory budgets, apart from the database itself so that the CLI can check and print them
// without loading DuckDB (about 190 ms and 35 MB), which only the commands that open a database need.

/**
 * DuckDB's memory budget (MiB) when a replay writes: beyond it DuckDB spills what the open transaction holds to
 * `<file>.tmp`. What a write needs grows with the rows it hands over (at most ACCUMULATED_LEDGER_ROWS object
 * accesses): 32 MiB takes writes of 10,000 accesses with 1,000-character object keys (not 20,000), 400,000 such
 * accesses in 40 writes before one commit, the bench's 1M- and 5M-record replays, and since writes reuse their
 * stage tables (2026-12-03) a replay that hands over 5,000 rows a write; 24 MiB fails within the first seconds of
 * the 1M replay. With DuckDB's allocator returning freed pages (duckdb-allocator.ts), 1M records with the ledger
 * peaked at 298-301 MB with 32 MiB, 310-319 with 48 and 318-320 with 64 in the same hour. 32 is the default since
 * the long transactions of wide rows were measured (2026-12-03, 22:10 UTC); a write that needs more than its
 * budget stops the run with a message naming `--db-memory-mb`, and the same command continues from the last
 * checkpoint.
 */
export const DEFAULT_WRITE_MEMORY_MB = 32;
/** The smallest budget a replay accepts: 24 MiB could not take one of the writes of a 1M-record replay. */
export const MIN_WRITE_MEMORY_MB = 32;
/** Queries and reports keep a larger budget: their joins and sorts are short-lived. */
export const QUERY_MEMORY_MB = 128;
