import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';

// The functions are deployed without NODE_OPTIONS=--enable-source-maps (which reads every bundle's map at every
// cold start) and map their stack traces themselves, reading a map only when a stack trace is first formatted.
// Here a fixture is bundled as the functions are (ESM, minified, a map beside it) and run in a Node process of its
// own, with no flag, as Lambda runs a function.
const FIXTURE = join(import.meta.dirname, '..', '..', '..', 'fixtures', 'source-maps', 'fails.ts');
const FIXTURE_LINES = readFileSync(FIXTURE, 'utf8').split('\n');
const lineOf = (text: string): number => FIXTURE_LINES.findIndex((line) => line.includes(text)) + 1;
const OUT = mkdtempSync(join(tmpdir(), 'kdm-stacks-'));
const BUNDLE = join(OUT, 'index.mjs');

const run = (bundle = BUNDLE): { readonly status: number | null; readonly stacks: string[]; readonly logged: unknown; readonly stderr: string } => {
  const env = { ...process.env };
  delete env['NODE_OPTIONS'];
  const child = spawnSync(process.execPath, [bundle], { encoding: 'utf8', env });
  // The stack traces on stdout; Powertools' logger writes an ERROR line to stderr.
  const logLine = child.stderr.split('\n').find((line) => line.startsWith('{'));
  return { status: child.status, stacks: child.stdout.split('\n--\n').filter((s) => s.trim() !== ''), logged: logLine === undefined ? undefined : (JSON.parse(logLine) as unknown), stderr: child.stderr };
};

beforeAll(async () => {
  await build({ entryPoints: [FIXTURE], outfile: BUNDLE, bundle: true, platform: 'node', format: 'esm', target: 'node22', minify: true, sourcemap: true, sourcesContent: false, logLevel: 'silent' });
});

describe('stack traces of a minified bundle', () => {
  it('name the TypeScript source, its line and column, and the function, with no --enable-source-maps', () => {
    const { status, stacks, stderr } = run();

    expect(status, stderr).toBe(0);
    expect(stacks).toHaveLength(2);
    const lines = (stacks[0] ?? '').split('\n');
    expect(lines[0]).toBe('RetentionError: not a whole number of days: "1y"');
    // The place `new RetentionError` is, the function it is in, then its caller: V8's layout, the source's places.
    expect(lines[1]).toMatch(new RegExp(`^    at parseRetentionDays \\(\\S*test/fixtures/source-maps/fails\\.ts:${lineOf('throw new RetentionError')}:\\d+\\)$`));
    expect(lines[2]).toMatch(new RegExp(`^    at loadSettings \\(\\S*test/fixtures/source-maps/fails\\.ts:${lineOf('retentionDays: parseRetentionDays')}:\\d+\\)$`));
    // No frame still points into the minified bundle; the second error is mapped with the map already read.
    expect(stacks.join('\n')).not.toContain('index.mjs');
    expect(stacks[1]).toContain('not a whole number of days: "2w"');
    expect(stacks[1]).toContain(`fails.ts:${lineOf('throw new RetentionError')}:`);
  });

  it('give Powertools\' logger the source\'s place as the error\'s location', () => {
    const { logged } = run();

    expect(logged).toMatchObject({ message: 'settings refused', error: { name: 'RetentionError', message: 'not a whole number of days: "3d"' } });
    expect((logged as { error: { location: string } }).error.location).toMatch(new RegExp(`test/fixtures/source-maps/fails\\.ts:${lineOf('throw new RetentionError')}$`));
  });

  it('keep the bundle\'s places when its map is missing or unreadable, and never fail to form', () => {
    // No map; an empty file (not JSON); JSON that is not a map; a map without mappings.
    for (const map of [undefined, '', 'null', '{"version":3}']) {
      const dir = mkdtempSync(join(tmpdir(), 'kdm-stacks-'));
      copyFileSync(BUNDLE, join(dir, 'index.mjs'));
      if (map !== undefined) writeFileSync(join(dir, 'index.mjs.map'), map);
      const { status, stacks, stderr } = run(join(dir, 'index.mjs'));

      expect(status, stderr).toBe(0);
      expect(stacks[0]?.split('\n')[0]).toBe('RetentionError: not a whole number of days: "1y"');
      expect(stacks[0]).toMatch(/^ {4}at \S+ \(file:\/\/\S+\/index\.mjs:\d+:\d+\)$/m);
    }
  });
});
