// Loaded with `node --import` into a measured process: prints its peak resident memory and the CPU time all its
// threads used (user + system) when it exits.
process.on('exit', () => {
  const usage = process.resourceUsage();
  process.stderr.write(`\nKDM_BENCH_MAXRSS_KB=${usage.maxRSS}\nKDM_BENCH_CPU_MS=${Math.round((usage.userCPUTime + usage.systemCPUTime) / 1000)}\n`);
});
