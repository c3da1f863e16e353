import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureFuzzToolchain } from '../../scripts/fuzz-toolchain.mjs';
import { REPO } from '../helpers/cli.ts';
import { readingOf } from '../helpers/native-reader.ts';

/**
 * The native reader's core under libFuzzer with AddressSanitizer and UndefinedBehaviorSanitizer (`npm run fuzz`,
 * scripts/fuzz-native.mjs): a fixed number of inputs from a fixed seed, so that the suite does the same work on every
 * machine (never a time limit); a target with a planted bug, so that "nothing found" is known to mean the sanitizers
 * looked; and the inputs the fuzzer kept for the code they reach, read natively and in JavaScript, which must agree.
 */
const fuzz = (args: readonly string[]) => spawnSync(process.execPath, [join(REPO, 'scripts', 'fuzz-native.mjs'), ...args], { cwd: REPO, encoding: 'utf8' });

/** A fuzz input as native/fuzz/records-fuzz.cc reads it: a byte that says how, then the file. */
const BATCH_SIZES = [1, 2, 3, 7, 64, 200, 1000, 5000] as const;
const asRead = (input: Buffer) => {
  const how = input[0] ?? 0;
  const file = input.subarray(1);
  return {
    bytes: (how & 1) !== 0 ? gzipSync(file) : file,
    batchSize: BATCH_SIZES[(how >> 2) & 7] ?? 1,
    maxFileBytes: (how & 32) !== 0 ? 300 : 64 * 1024 * 1024,
  };
};
/** What the native reader and JavaScript make of each input of a corpus (a reading, or what was thrown), by its name. */
const readingsOf = (corpus: string) => {
  const natively: Record<string, unknown> = {};
  const inJavaScript: Record<string, unknown> = {};
  for (const name of readdirSync(corpus)) {
    const input = readFileSync(join(corpus, name));
    if (input.length === 0) continue;
    const { bytes, ...options } = asRead(input);
    const read = (isNative: boolean): unknown => {
      try {
        return readingOf(bytes, { natively: isNative, ...options });
      } catch (error) {
        return { threw: String(error) };
      }
    };
    natively[name] = read(true);
    inJavaScript[name] = read(false);
  }
  return { natively, inJavaScript };
};

describe('npm run fuzz (the native reader under libFuzzer)', () => {
  let toolchain: ReturnType<typeof ensureFuzzToolchain>;
  const corpus = mkdtempSync(join(tmpdir(), 'kdm-fuzz-corpus-'));
  // Longer than apt-get's own limits in scripts/debian-packages.mjs (3 minutes to update, 5 to install).
  beforeAll(() => {
    toolchain = ensureFuzzToolchain();
  }, 600_000);
  const unlessMissing = (ctx: { skip: () => void }): boolean => {
    if ('found' in toolchain) return true;
    console.warn(`the fuzz checks were skipped: ${toolchain.reason}`);
    ctx.skip();
    return false;
  };

  it('finds nothing in 20,000 inputs from a fixed seed, starting from every sample, dataset and hostile record', (ctx) => {
    if (!unlessMissing(ctx)) return;
    const run = fuzz(['--runs', '20000', '--seed', '1', '--corpus', corpus]);

    expect(run.stdout, run.stderr).toMatch(/^fuzz: nothing found in 20,000 inputs from [\d,]+ seeds \(/);
    expect(run.status).toBe(0);
  }, 300_000);

  it('keeps inputs for the code they reach, which the native reader and JavaScript read alike', (ctx) => {
    if (!unlessMissing(ctx)) return;
    const { natively, inJavaScript } = readingsOf(corpus);

    expect(Object.keys(natively).length).toBeGreaterThan(100);
    expect(natively).toEqual(inJavaScript);
  }, 300_000);

  it.runIf(process.env['KDM_FUZZ_CORPUS'] !== undefined)('reads the corpus KDM_FUZZ_CORPUS names alike, natively and in JavaScript (after a long npm run fuzz)', () => {
    const { natively, inJavaScript } = readingsOf(process.env['KDM_FUZZ_CORPUS'] ?? '');

    expect(natively).toEqual(inJavaScript);
  }, 3_600_000);

  it('finds a planted read past the end of the file, and names the input and how to run it again (exit 1)', (ctx) => {
    if (!unlessMissing(ctx)) return;
    const run = fuzz(['--self-check', '--runs', '200', '--seed', '1', '--corpus', mkdtempSync(join(tmpdir(), 'kdm-fuzz-corpus-'))]);

    expect(run.stdout).toContain('fuzz: found a bug');
    expect(run.stdout).toMatch(/SUMMARY: AddressSanitizer: heap-buffer-overflow .*records-fuzz\.cc/);
    const input = /input: (\S+)/.exec(run.stdout)?.[1];
    expect(input !== undefined && existsSync(input)).toBe(true);
    expect(run.stdout).toContain(`again: KDM_FUZZ_VOCABULARY=`);
    expect(run.status).toBe(1);
  }, 300_000);

  it('refuses a time limit and a number of inputs together (exit 2)', () => {
    const run = fuzz(['--seconds', '5', '--runs', '10']);

    expect(run.stderr).toContain('fuzz: give --seconds or --runs, not both');
    expect(run.status).toBe(2);
  });
});
