// Loaded with `node --import` into a measured process: prints its peak resident memory and the CPU time all its
// threads used (user + system) when it exits, and, for a replay with a database, the time it waited for the
// database (the mark src/cli/database-time.ts leaves).
//
// On Linux it also splits that CPU time by thread, from /proc: the main thread's (a replay's engine), and that of
// the threads that ended before the exit (a replay's reader threads: Node's workers end with their work, while
// V8's helpers and libuv's pool, where DuckDB's statements run, live to the exit). What is left, total less those
// two, is V8's helpers and libuv's pool. Node.js 20 names none of its threads, so they are told apart by when
// they end, not by name.
import { readdirSync } from 'node:fs';
import { taskStatFields } from './task-stat.mjs';

/** clock ticks a second in /proc's times: USER_HZ, 100 on every Linux architecture Node.js builds for. */
const TICKS_PER_SECOND = 100;
/**
 * /proc's times are whole ticks, cut down from the kernel's nanoseconds, and resourceUsage's are microseconds: each
 * live thread is taken at half a tick more than /proc says, what the cut takes on average, so that the threads that
 * ended are not credited with the live ones' fractions (about 0.1 s with a replay's dozen threads).
 */
const HALF_TICK_MS = 500 / TICKS_PER_SECOND;

/** The CPU time of a thread of this process, in ms, from its /proc stat (utime + stime), or undefined once it ended. */
const threadCpuMs = (tid) => {
  const fields = taskStatFields(tid);
  return fields === undefined ? undefined : ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
};

/** The main thread's CPU time and that of the threads that ended before now, in ms; undefined without /proc. */
const cpuByThread = (totalMs) => {
  let tids;
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return undefined;
  }
  let mainMs;
  let liveMs = 0;
  for (const tid of tids) {
    const ms = threadCpuMs(tid);
    if (ms === undefined) continue; // ended since the listing
    liveMs += ms + HALF_TICK_MS;
    if (tid === String(process.pid)) mainMs = ms + HALF_TICK_MS;
  }
  return mainMs === undefined ? undefined : { mainMs, endedMs: Math.max(0, totalMs - liveMs) };
};

process.on('exit', () => {
  const usage = process.resourceUsage();
  const cpuMs = Math.round((usage.userCPUTime + usage.systemCPUTime) / 1000);
  const database = performance.getEntriesByName('kdm:database-time').at(-1)?.detail;
  const databaseMs = database === undefined ? '' : `KDM_BENCH_DATABASE_MS=${Math.round(Object.values(database).reduce((sum, step) => sum + step.ms, 0))}\n`;
  const threads = cpuByThread(cpuMs);
  const threadsMs = threads === undefined ? '' : `KDM_BENCH_MAIN_THREAD_CPU_MS=${Math.round(threads.mainMs)}\nKDM_BENCH_ENDED_THREADS_CPU_MS=${Math.round(threads.endedMs)}\n`;
  process.stderr.write(`\nKDM_BENCH_MAXRSS_KB=${usage.maxRSS}\nKDM_BENCH_CPU_MS=${cpuMs}\n${databaseMs}${threadsMs}`);
});
