// What DuckDB's allocator is told before the library loads. DuckDB allocates its buffers through the jemalloc
// linked into libduckdb, which reads its options once, from this variable, when it first allocates: a process
// can still set it after starting, as long as DuckDB has not loaded (glibc's own arenas, by contrast, are fixed
// at start; see docs/performance.md).

/** The variable DuckDB's jemalloc reads its options from (jemalloc's MALLOC_CONF under DuckDB's prefix). */
export const DUCKDB_ALLOCATOR_VARIABLE = 'DUCKDB_JE_MALLOC_CONF';

/**
 * Pages DuckDB frees go back to the system at once, instead of after the decay time DuckDB gives jemalloc. A
 * replay's ledger writes free most of what they allocate within the write, and jemalloc otherwise kept those
 * pages resident while the next write allocated more: over 1M records with the ledger the peak went from
 * 327–357 to 307–321 MB in alternating rounds, and over 5M from about 410 to 368 MB, for a few percent of time
 * at most, inside the noise (measured 2026-12-03; docs/performance.md).
 */
export const DUCKDB_ALLOCATOR_OPTIONS = 'dirty_decay_ms:0,muzzy_decay_ms:0';

/** Gives DuckDB's allocator its options in `env`, unless the user set the variable (even empty): theirs stand. */
export const adviseDuckDbAllocator = (env: NodeJS.ProcessEnv = process.env): void => {
  if (env[DUCKDB_ALLOCATOR_VARIABLE] === undefined) env[DUCKDB_ALLOCATOR_VARIABLE] = DUCKDB_ALLOCATOR_OPTIONS;
};

/** Loads the database module, and DuckDB with it, with the allocator's options set first. */
export const loadLedgerDatabase = async (): Promise<typeof import('./ledger-database.ts')> => {
  adviseDuckDbAllocator();
  return import('./ledger-database.ts');
};
