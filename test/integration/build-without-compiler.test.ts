import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO, runKdm } from '../helpers/cli.ts';

// What a machine without a C++ compiler gets from `npm ci`: the build of a copy of the sources, with a compiler
// that always fails, in a directory of its own (the suite's own dist/ stays as it is).
const copy = mkdtempSync(join(tmpdir(), 'kdm-no-compiler-'));
afterAll(() => rmSync(copy, { recursive: true, force: true }));

describe('a build where the native reader cannot be compiled', () => {
  it('warns with the reason, builds the CLI all the same, and its replay says it reads in JavaScript, with the same summary', () => {
    for (const part of ['package.json', 'tsconfig.json', 'scripts', 'src', 'events']) cpSync(join(REPO, part), join(copy, part), { recursive: true });
    cpSync(join(REPO, 'native'), join(copy, 'native'), { recursive: true, filter: (source) => !source.startsWith(join(REPO, 'native', 'build')) });
    symlinkSync(join(REPO, 'node_modules'), join(copy, 'node_modules'), 'dir');

    const build = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: copy, encoding: 'utf8', env: { ...process.env, CXX: '/bin/false', CC: '/bin/false' } });
    expect(build.status).toBe(0);
    expect(build.stderr).toMatch(/kdm build: the native reader was not built \(.+; node-gyp needs a C\+\+17 compiler, make and Python 3\)\. Replays read in JavaScript, with the same results, slower\./);
    expect(existsSync(join(copy, 'dist', 'kdm.js'))).toBe(true);
    expect(existsSync(join(copy, 'dist', 'kdm_records.node'))).toBe(false);

    const replay = spawnSync(process.execPath, [join(copy, 'dist', 'kdm.js'), 'replay', 'events/', '--summary', 'json'], { cwd: copy, encoding: 'utf8' });
    expect(replay.status).toBe(0);
    expect(replay.stderr).toContain('kdm: note: the native reader is not built (npm ci builds it where a C++ compiler and make are installed); reading in JavaScript, with the same results in about 1.3 times the time\n');
    const withoutDuration = (summary: string): unknown => JSON.parse(summary, (key, value: unknown) => (key === 'durationMs' ? undefined : value));
    expect(withoutDuration(replay.stdout)).toEqual(withoutDuration(runKdm(['replay', 'events/', '--summary', 'json']).stdout));
  });
});
