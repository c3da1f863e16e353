import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KDM, REPO, runKdm } from '../helpers/cli.ts';

const scratch = mkdtempSync(join(tmpdir(), 'kdm-measured-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** What bench/baselines/max-rss.mjs printed as a replay of `input` with `--threads` exited, in ms (and KB). */
const measuredReplay = (input: string, threads: string): Record<string, number> => {
  const run = spawnSync(process.execPath, ['--import', join(REPO, 'bench', 'baselines', 'max-rss.mjs'), KDM, 'replay', input, '--threads', threads, '--summary', 'json'], {
    cwd: REPO,
    encoding: 'utf8',
  });
  expect(run.status, run.stderr).toBe(0);
  return Object.fromEntries([...run.stderr.matchAll(/^KDM_BENCH_(\w+)=(\d+)$/gm)].map((m) => [m[1] ?? '', Number(m[2])]));
};

describe('bench/baselines/max-rss.mjs: what the bench reads from a measured replay', () => {
  it.runIf(process.platform === 'linux')("splits the replay's CPU time into its engine's thread and the reader threads, which end before it", () => {
    const input = join(scratch, 'sim');
    expect(runKdm(['simulate', '--out', input, '--events', '20000', '--seed', '8']).status).toBe(0);

    const oneThread = measuredReplay(input, '1');
    const withReader = measuredReplay(input, '2');
    for (const figures of [oneThread, withReader]) {
      expect(Object.keys(figures).sort()).toEqual(['CPU_MS', 'ENDED_THREADS_CPU_MS', 'MAIN_THREAD_CPU_MS', 'MAXRSS_KB']);
      expect(figures.MAIN_THREAD_CPU_MS).toBeGreaterThan(0);
      // Within a tick (10 ms) of what the whole process used: the main thread's part of it, never more.
      expect(figures.MAIN_THREAD_CPU_MS).toBeLessThanOrEqual((figures.CPU_MS ?? 0) + 10);
      expect((figures.MAIN_THREAD_CPU_MS ?? 0) + (figures.ENDED_THREADS_CPU_MS ?? 0)).toBeLessThanOrEqual((figures.CPU_MS ?? 0) + 10);
    }
    // On one thread no thread ends before the process but for /proc's rounding (a few ms over a dozen threads);
    // with a reader thread, the reader's parsing of 20,000 records (about 1.6 MB gzipped) is the ended threads'.
    expect(oneThread.ENDED_THREADS_CPU_MS).toBeLessThan(50);
    expect(withReader.ENDED_THREADS_CPU_MS).toBeGreaterThan(50);
  });
});
