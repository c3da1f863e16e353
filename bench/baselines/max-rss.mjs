// Loaded with `node --import` into a measured process: prints its peak resident memory and the CPU time all its
// threads used (user + system) when it exits, and, for a replay with a database, the time it waited for the
// database (the mark src/cli/database-time.ts leaves).
process.on('exit', () => {
  const usage = process.resourceUsage();
  const database = performance.getEntriesByName('kdm:database-time').at(-1)?.detail;
  const databaseMs = database === undefined ? '' : `KDM_BENCH_DATABASE_MS=${Math.round(Object.values(database).reduce((sum, step) => sum + step.ms, 0))}\n`;
  process.stderr.write(`\nKDM_BENCH_MAXRSS_KB=${usage.maxRSS}\nKDM_BENCH_CPU_MS=${Math.round((usage.userCPUTime + usage.systemCPUTime) / 1000)}\n${databaseMs}`);
});
