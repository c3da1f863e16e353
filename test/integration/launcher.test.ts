import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LAUNCHER_MALLOC } from '#adapters/local/native-records.ts';
import { ENGINE_SEMI_SPACE_MB } from '../../src/cli/heap-growth.ts';
import { KDM, REPO } from '../helpers/cli.ts';

// `npx kdm` runs dist/kdm.js as a program: sh sets glibc's malloc settings (read only when a process starts) and
// runs the same file with node and the young generation's size (read only when V8 sets up the heap;
// scripts/build.mjs). These run it as npm links it, through a symbolic link.

const PRINT_ENV = join(REPO, 'test', 'fixtures', 'launcher', 'print-allocator-env.mjs');
const bin = join(mkdtempSync(join(tmpdir(), 'kdm-bin-')), 'kdm');
symlinkSync(KDM, bin);

/** The environment of the process that runs a command, without the two variables unless `set` gives them. */
const run = (command: string, args: readonly string[], set: Readonly<Record<string, string>> = {}, input?: string) => {
  const env: Record<string, string | undefined> = { ...process.env, ...set, NODE_OPTIONS: `--import=${PRINT_ENV} ${set['NODE_OPTIONS'] ?? ''}` };
  for (const name of ['MALLOC_ARENA_MAX', 'MALLOC_MMAP_THRESHOLD_']) if (!(name in set)) delete env[name];
  const r = spawnSync(command, args, { cwd: REPO, env, input, encoding: 'utf8' });
  const printed = /allocator-env (.+)/.exec(r.stderr)?.[1];
  const started = printed === undefined ? undefined : (JSON.parse(printed) as { arenaMax: string | null; mmapThreshold: string | null; execArgv: string[] });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, allocator: started && { arenaMax: started.arenaMax, mmapThreshold: started.mmapThreshold }, execArgv: started?.execArgv };
};
const SEMI_SPACE_FLAG = `--max-semi-space-size=${ENGINE_SEMI_SPACE_MB}`;

describe('the kdm launcher', () => {
  it('runs node with two malloc arenas and a fixed mmap threshold of 1 MiB', () => {
    const version = run(bin, ['--version']);

    expect(version.status).toBe(0);
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).version);
    expect(version.allocator).toEqual({ arenaMax: '2', mmapThreshold: '1048576' });
    // The same settings a replay run as `node dist/kdm.js` gives itself (tuneMallocLikeTheLauncher).
    expect(version.allocator).toEqual({ arenaMax: String(LAUNCHER_MALLOC.arenaMax), mmapThreshold: String(LAUNCHER_MALLOC.mmapThresholdBytes) });
  });

  it('keeps what the environment sets already, even an empty value', () => {
    expect(run(bin, ['--version'], { MALLOC_ARENA_MAX: '', MALLOC_MMAP_THRESHOLD_: '262144' }).allocator).toEqual({ arenaMax: '', mmapThreshold: '262144' });
  });

  it('gives node the young generation the memory bound was measured with, whichever size its V8 would choose', () => {
    expect(run(bin, ['--version']).execArgv).toEqual([SEMI_SPACE_FLAG]);
  });

  it('keeps a young generation NODE_OPTIONS sets, in either spelling V8 reads', () => {
    for (const given of ['--max-semi-space-size=32', '--max_semi_space_size=32']) {
      const version = run(bin, ['--version'], { NODE_OPTIONS: given });

      expect(version.status).toBe(0);
      expect(version.execArgv).toEqual([]);
    }
  });

  it('passes arguments, standard input and the exit status through', () => {
    const exportFile = join(REPO, 'events', 'lake-export', 'kms-records.jsonl');
    const piped = run(bin, ['replay', '-', '--summary', 'json'], {}, readFileSync(exportFile, 'utf8'));
    const named = run(process.execPath, [KDM, 'replay', exportFile, '--summary', 'json']);

    expect(piped.status).toBe(0);
    const records = (out: string) => (JSON.parse(out) as { records: { read: number } }).records;
    expect(records(piped.stdout)).toEqual(records(named.stdout));
    expect(records(piped.stdout).read).toBeGreaterThan(0);
    const unknown = run(bin, ['replay', '--no-such-option']);
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toMatch(/no-such-option/);
  });

  it('is skipped by node dist/kdm.js, which keeps glibc\'s own settings and V8\'s own young generation', () => {
    const direct = run(process.execPath, [KDM, '--version']);

    expect(direct.status).toBe(0);
    expect(direct.allocator).toEqual({ arenaMax: null, mmapThreshold: null });
    expect(direct.execArgv).toEqual([]);
  });
});
