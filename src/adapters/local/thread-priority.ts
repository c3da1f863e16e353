import { getPriority, setPriority } from 'node:os';

/**
 * How many steps of niceness a replay's reader threads run below the engine's thread. The engine's thread is a
 * replay's bottleneck: its readers wait for it about 60% of the time. On two cores, each file the engine took woke a
 * reader, and the kernel let that reader take the engine's core: a `--cpu-prof` of a 1M-record replay put 627 ms of
 * the engine's thread in `postMessage` (asking a reader for the next file), which is time it stood preempted. At
 * 10 below, the readers run when the engine waits, and the engine is no longer put off for them (2026-12-05).
 */
export const READER_NICENESS = 10;

export type PriorityOutcome = { readonly state: 'lowered'; readonly niceness: number } | { readonly state: 'kept'; readonly reason: string };

/**
 * Lowers the calling thread's scheduling priority by `by` steps of niceness (to at most 19). On Linux only: there a
 * thread's niceness is its own, and `setpriority` for "this process" sets the calling thread's; elsewhere it would
 * lower the whole process, the engine's thread with it. A refusal (a sandbox that forbids it) keeps the priority:
 * the replay is the same, only slower.
 */
export const lowerThisThreadsPriority = (by: number, platform: NodeJS.Platform = process.platform): PriorityOutcome => {
  if (platform !== 'linux') return { state: 'kept', reason: `${platform} sets the priority of a process, not of one thread` };
  try {
    const niceness = Math.min(19, getPriority(0) + by);
    setPriority(0, niceness);
    return { state: 'lowered', niceness };
  } catch (cause) {
    return { state: 'kept', reason: cause instanceof Error ? cause.message : String(cause) };
  }
};
