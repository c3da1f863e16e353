// Loaded with `node --import` into a measured process: prints its peak resident memory when it exits.
process.on('exit', () => process.stderr.write(`\nKDM_BENCH_MAXRSS_KB=${process.resourceUsage().maxRSS}\n`));
