#!/usr/bin/env node
// `npm run fuzz` — the native reader's core (native/records-core.h) under libFuzzer, with AddressSanitizer and
// UndefinedBehaviorSanitizer: C++ that parses what anyone can write into a CloudTrail file. The property tests
// (test/unit/adapters/native-records*.test.ts) prove it reads what JavaScript reads; this looks for what they cannot
// see, a read past a buffer, a use after free, undefined behaviour, a hang, guided by the code's own coverage.
//
//   npm run fuzz                                  5 minutes, its corpus kept in .cache/fuzz/corpus for the next run
//   npm run fuzz -- --seconds 3600                an hour
//   npm run fuzz -- --runs 20000 --seed 1 --corpus <dir>
//                                                 a fixed number of inputs into a corpus of its own (the suite's run)
//   npm run fuzz -- --self-check --runs 100       a target with a bug planted (a read past the file's end, when the
//                                                 input holds "kdm-fuzz-self-check"): the suite checks that it is found
//                                                 and told, so that "nothing found" means the sanitizers looked
//
// It starts from seeds: the sample events, each record of the shared datasets (where they are beside the
// repository), the hostile fixtures, and native/fuzz/regressions/, inputs that once found a bug (kept there once
// fixed, so they are run every time). The target's dictionary is every string literal of records-core.h: the
// field names and values the reader looks for. The inputs it keeps, one for each new piece of the code it reaches,
// can then be read by the native reader and by JavaScript, which must agree (the command it prints at the end).
//
// Needs clang with libFuzzer (Debian's clang-14 and libclang-rt-14-dev, installed with apt-get when missing and this
// machine can). Exit: 0 nothing found; 1 a bug found (its input saved under .cache/fuzz/crashes/ and named, with how
// to run it again); 2 it could not run (why).
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { ensureFuzzToolchain } from './fuzz-toolchain.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CORE = join(ROOT, 'native', 'records-core.h');
const TARGET = join(ROOT, 'native', 'fuzz', 'records-fuzz.cc');
const REGRESSIONS = join(ROOT, 'native', 'fuzz', 'regressions');
const WORK = join(ROOT, '.cache', 'fuzz');
const DATASETS = join(ROOT, '..', 'shared', 'datasets');
const MAX_LEN = 32 * 1024;
const USAGE = 'usage: npm run fuzz -- [--seconds N | --runs N] [--seed N] [--corpus <dir>] [--self-check]';

const fail = (message, code = 2) => {
  process.stderr.write(`fuzz: ${message}\n`);
  process.exit(code);
};

const options = (() => {
  try {
    const known = { seconds: { type: 'string' }, runs: { type: 'string' }, seed: { type: 'string' }, corpus: { type: 'string' } };
    return parseArgs({ options: { ...known, 'self-check': { type: 'boolean', default: false } } }).values;
  } catch (error) {
    return fail(`${error.message}\n${USAGE}`);
  }
})();
const whole = (name) => {
  const value = options[name];
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) fail(`--${name} must be a whole number of at least 1, not "${value}"\n${USAGE}`);
  return n;
};
const selfCheck = options['self-check'];
const BINARY = join(WORK, selfCheck ? 'records-fuzz-self-check' : 'records-fuzz');
const seconds = whole('seconds');
const runs = whole('runs');
const seed = whole('seed');
if (seconds !== undefined && runs !== undefined) fail(`give --seconds or --runs, not both\n${USAGE}`);

// --- the compiler ---------------------------------------------------------------------------------------------
const toolchain = ensureFuzzToolchain();
if (!('found' in toolchain)) fail(`cannot fuzz: ${toolchain.reason}`);
const clang = toolchain.found;

// --- the target, built again when its sources or the compiler change ------------------------------------------
mkdirSync(WORK, { recursive: true });
/** Writes a file of WORK whole, beside it and then renamed: another run may be reading it. */
const writeKept = (file, text) => {
  writeFileSync(`${file}.${process.pid}`, text);
  renameSync(`${file}.${process.pid}`, file);
};
const FLAGS = ['-std=c++17', '-g', '-O1', '-fno-omit-frame-pointer', '-fsanitize=fuzzer,address,undefined', '-fno-sanitize-recover=all', ...(selfCheck ? ['-DKDM_FUZZ_SELF_CHECK'] : [])];
const stampFile = `${BINARY}.built-with`;
const stamp = JSON.stringify([clang, ...FLAGS]);
const newest = Math.max(statSync(CORE).mtimeMs, statSync(TARGET).mtimeMs);
const upToDate = existsSync(BINARY) && statSync(BINARY).mtimeMs >= newest && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp;
if (!upToDate) {
  process.stderr.write(`fuzz: building ${BINARY} with ${clang} …\n`);
  try {
    // Built beside and then renamed, so that a run beside this one never starts a half-written binary.
    execFileSync(clang, [...FLAGS, TARGET, '-lz', '-o', `${BINARY}.${process.pid}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    renameSync(`${BINARY}.${process.pid}`, BINARY);
  } catch (error) {
    rmSync(`${BINARY}.${process.pid}`, { force: true });
    fail(`building the fuzz target failed:\n${String(error.stderr ?? error.message).split('\n').slice(0, 20).join('\n')}`);
  }
  writeKept(stampFile, stamp);
}

// --- what the addon is told (native-records.ts configure), from the TypeScript constants themselves -------------
// This run's own files (another run may go on beside it); what a bug's report points to stays in WORK.
const RUN = mkdtempSync(join(tmpdir(), 'kdm-fuzz-'));
process.on('exit', () => rmSync(RUN, { recursive: true, force: true }));
const vocabularyModule = join(RUN, 'vocabulary.mjs');
await build({
  stdin: {
    contents: `export { MAX_FIELD_CHARS, MAX_MAP_KEY_CHARS } from './src/core/events/fields.ts';
export { OTHER_SELECTABLE_SOURCES, S3_CALLS_KEEPING_REQUEST_PARAMETERS, S3_OBJECT_OPERATIONS } from './src/core/events/normalize.ts';
export { PRINCIPAL_TYPES } from './src/core/events/principal.ts';`,
    resolveDir: ROOT,
    loader: 'ts',
  },
  bundle: true,
  platform: 'node',
  format: 'esm',
  outfile: vocabularyModule,
  logLevel: 'error',
});
const v = await import(pathToFileURL(vocabularyModule).href);
const vocabularyFile = join(WORK, 'vocabulary.tsv');
writeKept(
  vocabularyFile,
  [
    ['s3ObjectOperations', ...v.S3_OBJECT_OPERATIONS],
    ['principalTypes', ...v.PRINCIPAL_TYPES],
    ['keepsRequestParameters', ...v.OTHER_SELECTABLE_SOURCES],
    ['s3CallsKeepingRequestParameters', ...v.S3_CALLS_KEEPING_REQUEST_PARAMETERS],
    ['maxFieldChars', v.MAX_FIELD_CHARS],
    ['maxMapKeyChars', v.MAX_MAP_KEY_CHARS],
  ]
    .map((fields) => fields.join('\t'))
    .join('\n') + '\n',
);

// --- the dictionary: records-core.h's string literals ---------------------------------------------------------
const dictionaryFile = join(RUN, 'records.dict');
const literals = new Set();
for (const [, text] of readFileSync(CORE, 'utf8').matchAll(/(?<![\\'])"((?:[^"\\\n]|\\.)+)"/g)) {
  // A dictionary's entries know the escapes \\, \" and \xAB alone: a literal with another (\n, \0, …) would stop the run.
  if (text.length <= 64 && !/\\[^\\"]/.test(text)) literals.add(text);
}
for (const token of ['{"Records":[', ']}', '":"', '":{', '":[', 'null', 'true', 'false', '\\u0000', '\\ud800']) literals.add(token.replaceAll('\\', '\\\\').replaceAll('"', '\\"'));
writeFileSync(dictionaryFile, [...literals].map((text) => `"${text}"`).join('\n') + '\n');

// --- seeds -----------------------------------------------------------------------------------------------------
// A seed is an input as the target reads it: a byte that says how (records-fuzz.cc), then the file.
const seedsDir = join(RUN, 'seeds');
mkdirSync(seedsDir);
let seedCount = 0;
const HOW = [0x00, 0x02, 0x01, 0x0c, 0x03, 0x18];
const addSeed = (bytes, how = HOW[seedCount % HOW.length]) => {
  if (bytes.length + 1 > MAX_LEN) return;
  writeFileSync(join(seedsDir, `seed-${seedCount}`), Buffer.concat([Buffer.of(how), bytes]));
  seedCount++;
};
const filesUnder = (dir) => (existsSync(dir) ? readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath ?? e.path, e.name)) : []);
const recordsOf = (bytes) => {
  try {
    const records = JSON.parse(bytes.toString('utf8'))?.Records;
    return Array.isArray(records) ? records : [];
  } catch {
    return [];
  }
};
for (const file of [...filesUnder(join(ROOT, 'events')), ...filesUnder(DATASETS)].filter((f) => /\.json(\.gz)?$/.test(f)).sort()) {
  const raw = readFileSync(file);
  const bytes = file.endsWith('.gz') ? gunzipSync(raw) : raw;
  const records = recordsOf(bytes);
  for (const record of records) addSeed(Buffer.from(JSON.stringify({ Records: [record] })));
  if (records.length > 1) addSeed(Buffer.from(JSON.stringify({ Records: records.slice(0, 8) })));
}
for (const file of filesUnder(join(ROOT, 'test', 'fixtures', 'bad'))) {
  if (statSync(file).size < MAX_LEN) addSeed(readFileSync(file));
}
// Read as it is (how 0x00): the target looks for the marker in the file it is given, which a seed read gzipped
// (an odd how) holds only compressed; so the seed must not take its how from its place among the others.
if (selfCheck) addSeed(Buffer.from('{"Records":[{"eventName":"kdm-fuzz-self-check"}]}'), 0x00);

// --- the run ---------------------------------------------------------------------------------------------------
const crashes = join(WORK, selfCheck ? 'self-check-crashes' : 'crashes');
mkdirSync(crashes, { recursive: true });
const corpus = options.corpus ?? join(WORK, 'corpus');
mkdirSync(corpus, { recursive: true });
const args = [
  seconds !== undefined || runs !== undefined ? (runs !== undefined ? `-runs=${runs}` : `-max_total_time=${seconds}`) : '-max_total_time=300',
  ...(seed !== undefined ? [`-seed=${seed}`] : []),
  `-max_len=${MAX_LEN}`,
  '-timeout=10',
  '-rss_limit_mb=3072',
  '-print_final_stats=1',
  `-dict=${dictionaryFile}`,
  `-artifact_prefix=${crashes}/`,
  corpus,
  seedsDir,
];
// libFuzzer reads every file of the directories it is given: the regressions are copied beside the seeds, without
// their README.
let regressions = 0;
for (const file of readdirSync(REGRESSIONS)) {
  if (file === 'README.md' || file.startsWith('.')) continue;
  copyFileSync(join(REGRESSIONS, file), join(seedsDir, `regression-${file}`));
  regressions++;
}
process.stderr.write(`fuzz: ${seedCount.toLocaleString('en-US')} seeds, ${regressions} regression input${regressions === 1 ? '' : 's'}; ${args[0].slice(1).replace('=', ' ')} …\n`);
const started = Date.now();
const child = spawn(BINARY, args, { env: { ...process.env, KDM_FUZZ_VOCABULARY: vocabularyFile }, stdio: ['ignore', 'pipe', 'pipe'] });
let log = '';
child.stdout.on('data', (chunk) => (log += chunk));
child.stderr.on('data', (chunk) => (log += chunk));
const status = await new Promise((resolve) => child.on('close', (code, signal) => resolve(code ?? signal)));
const logFile = join(WORK, 'last-run.log');
writeKept(logFile, log);
const stat = (name) => Number(new RegExp(`stat::${name}:\\s+(\\d+)`).exec(log)?.[1] ?? NaN);
const coverage = [...log.matchAll(/ cov: (\d+) ft: (\d+)/g)].at(-1);
const took = ((Date.now() - started) / 1000).toFixed(0);
if (status === 0) {
  const executed = stat('number_of_executed_units');
  console.log(
    `fuzz: nothing found in ${executed.toLocaleString('en-US')} inputs from ${seedCount.toLocaleString('en-US')} seeds (${took} s, ${coverage?.[1] ?? '?'} coverage edges, ${coverage?.[2] ?? '?'} features; log: ${logFile})`,
  );
  const kept = readdirSync(corpus).length;
  console.log(`fuzz: to check that the native reader and JavaScript read the ${kept.toLocaleString('en-US')} inputs it kept alike: KDM_FUZZ_CORPUS=${corpus} npx vitest run test/integration/native-fuzz.test.ts`);
  process.exit(0);
}
const artifact = /Test unit written to (\S+)/.exec(log)?.[1];
const what = log.split('\n').filter((line) => /^SUMMARY:|records-fuzz: |runtime error:|ERROR: libFuzzer/.test(line)).slice(0, 4);
if (artifact === undefined) fail(`the fuzz target ended with ${status} without naming an input; its output is in ${logFile}:\n${log.split('\n').slice(-15).join('\n')}`);
console.log(
  [
    `fuzz: found a bug after ${took} s:`,
    ...what.map((line) => `  ${line.trim()}`),
    `  input: ${artifact}`,
    `  again: KDM_FUZZ_VOCABULARY=${vocabularyFile} ${BINARY} ${artifact}`,
    `  once fixed, keep the input in native/fuzz/regressions/ so that every run tries it; the whole output is in ${logFile}`,
  ].join('\n'),
);
process.exit(1);
