#!/usr/bin/env node
// `npm run bench:compare -- <rev>` — is a change faster, or smaller? Builds a git revision and this working tree
// (or a second revision), then replays the same simulated records with each in turn, alternating, and prints each
// run and the medians side by side. On machines whose speed drifts (these have moved by 2x within an hour), only
// alternating runs of two builds compare fairly: a figure from an earlier hour does not.
//
//   npm run bench:compare -- HEAD~3                       HEAD~3 against the working tree, 1M records, 3 rounds
//   npm run bench:compare -- main --against HEAD --runs 5
//   npm run bench:compare -- HEAD --records 200000 --no-ledger
//   npm run bench:compare -- HEAD~1 --records 5000000 --days 70 --runs 2   the input of bench --full's 5x peak
//   npm run bench:compare -- HEAD --engine                the engine alone (bench/engine-alone.ts), 200,000 records,
//                                                          8 measured rounds
//   npm run bench:compare -- HEAD --instructions          the engine alone's instructions under valgrind, 20,000
//                                                          records, 3 measured rounds (a few minutes)
//
// Each round's pair gives a ratio, B over A, and the printout ends with a 90% interval of their median (from their
// order statistics, whatever their distribution) and what it says: B faster (all of it below 1), B slower (above),
// or no telling in this many rounds. On this kind of host, whose speed moves by 10% within minutes, three runs of
// the same 8-round comparison gave medians of 0.961x, 1.044x and 1.002x on 2026-12-05: a change of a few percent
// shows only once the interval leaves 1 out, which can take 15 rounds or more.
//
// With the ledger, each run also tells the time it waited for its database (src/cli/database-time.ts), and the
// printout compares that too, round by round: a quarter of a replay, it shows a change to the database's side that
// the wall time's spread can hide.
//
// Each round runs both builds, in turn order A B, then B A, and so on. Every run's summary (records, events,
// findings, keys, …, all but its duration) must equal the first run's: a change that alters what the replay
// finds is reported, since it is then not the same work measured twice.
//
// With --engine, nothing is replayed: bench/engine-alone.ts, built against each build's src/, measures the engine
// thread's work without readers or database, both builds in one process taking turns (bench/engine-rounds.mjs),
// --runs rounds each (8 unless told) after a warm-up. Its figures move far less than a replay's, so changes of a
// few percent to the engine can be told from the host's drift.
//
// With --instructions, the same engine alone runs under valgrind's callgrind (bench/engine-count.mjs), which counts
// the instructions it executes: the same build's measured rounds count the same within about 0.5% whatever else
// the host is doing, so a change of 1% to the engine's work shows, where CPU time cannot tell 10%. Instructions are not time
// (a cache miss costs no instruction), so a change it favours is then checked with --engine or a replay.
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { build as esbuild } from 'esbuild';
import { callgrindArgs, comparableSummary, comparisonLines, ENGINE_WARMUP_ROUNDS, engineComparisonLines, instructionComparisonLines, instructionsCollected, roundOrder } from './compare-report.mjs';
import { buildCheckout, dataset, KDM, replay, ROOT, say, scratchFile } from './harness.mjs';

const USAGE = 'usage: npm run bench:compare -- <rev> [--against <rev>] [--records N] [--runs N] [--no-ledger] [--records-per-file N] [--days N] [--engine | --instructions]';

const fail = (message) => {
  process.stderr.write(`bench:compare: ${message}\n${USAGE}\n`);
  process.exit(2);
};
let parsed;
try {
  parsed = parseArgs({
    allowPositionals: true,
    options: {
      against: { type: 'string' },
      records: { type: 'string' },
      runs: { type: 'string' },
      'no-ledger': { type: 'boolean', default: false },
      'records-per-file': { type: 'string' },
      days: { type: 'string' },
      engine: { type: 'boolean', default: false },
      instructions: { type: 'boolean', default: false },
    },
  });
} catch (cause) {
  fail(cause.message);
}
const { values, positionals } = parsed;
if (positionals.length !== 1) fail('name one git revision to compare (a commit, branch or tag)');
const count = (name, value) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) fail(`--${name} must be a whole number of at least 1, not "${value}"`);
  return n;
};
const instructions = values.instructions;
const engineAlone = values.engine || instructions;
if (engineAlone && values['no-ledger']) fail('--engine and --instructions run with the ledger accumulator, and without a database: --no-ledger does not apply');
if (instructions && spawnSync('valgrind', ['--version'], { stdio: 'ignore' }).status !== 0) {
  fail('--instructions counts with valgrind, which is not installed here (Debian: apt-get install valgrind)');
}
const records = count('records', values.records ?? (instructions ? '20000' : engineAlone ? '200000' : '1000000'));
const rounds = count('runs', values.runs ?? (instructions ? '3' : engineAlone ? '8' : '3'));
const recordsPerFile = values['records-per-file'] === undefined ? undefined : count('records-per-file', values['records-per-file']);
const days = values.days === undefined ? undefined : count('days', values.days);

const git = (...args) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
const commitOf = (rev) => {
  try {
    return git('rev-parse', '--verify', '--quiet', `${rev}^{commit}`);
  } catch {
    const inCheckout = spawnSync('git', ['rev-parse', '--git-dir'], { cwd: ROOT, stdio: 'ignore' }).status === 0;
    return fail(inCheckout ? `"${rev}" is not a commit of this repository` : `${ROOT} is not a git checkout: it has no revisions to build`);
  }
};

// Worktrees made for the revisions, removed however the run ends.
const worktrees = [];
const removeWorktrees = () => {
  for (const dir of worktrees.splice(0)) {
    spawnSync('git', ['worktree', 'remove', '--force', dir], { cwd: ROOT, stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  }
};
process.on('exit', removeWorktrees);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));

/** Builds `scripts/build.mjs` of a checkout; a revision is checked out beside, on this checkout's node_modules. */
const build = async (rev) => {
  if (rev === undefined) {
    say('building the working tree …');
    if (engineAlone) return { label: 'working tree', engine: await buildEngineAlone(ROOT) };
    buildCheckout(ROOT);
    return { label: 'working tree', kdm: KDM };
  }
  const commit = commitOf(rev);
  const dir = mkdtempSync(join(tmpdir(), 'kdm-compare-'));
  worktrees.push(dir);
  git('worktree', 'add', '--detach', dir, commit);
  // The revision's lockfile may differ from this checkout's: it builds and runs on these packages, so what differs
  // between A and B is the source.
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  // A revision named by its commit id is labelled once, anything else with the commit it named.
  const label = commit.startsWith(rev.toLowerCase()) ? commit.slice(0, Math.max(7, rev.length)) : `${rev} (${commit.slice(0, 7)})`;
  if (!existsSync(join(dir, 'scripts', 'build.mjs'))) fail(`${label} has no scripts/build.mjs to build it with`);
  say(`building ${label} …`);
  if (engineAlone) return { label, engine: await buildEngineAlone(dir) };
  buildCheckout(dir);
  return { label, kdm: join(dir, 'dist', 'kdm.js') };
};

/** This checkout's bench/engine-alone.ts, bundled against the `src/` of the checkout in `dir`. */
async function buildEngineAlone(dir) {
  const entry = join(dir, 'bench', '.engine-alone.ts');
  mkdirSync(dirname(entry), { recursive: true });
  copyFileSync(join(ROOT, 'bench', 'engine-alone.ts'), entry);
  const outfile = scratchFile('engine-alone.mjs');
  try {
    await esbuild({ entryPoints: [entry], outfile, bundle: true, platform: 'node', target: 'node20', format: 'esm', logLevel: 'warning' });
  } finally {
    rmSync(entry, { force: true });
  }
  return outfile;
}

const a = await build(positionals[0]);
const b = await build(values.against);
const input = dataset(records, { ...(recordsPerFile === undefined ? {} : { recordsPerFile }), ...(days === undefined ? {} : { days }) });
const ledger = !values['no-ledger'];
if (instructions) await compareInstructions();
else if (engineAlone) compareEngines();
else compareReplays();

function compareReplays() {
  const runs = { a: [], b: [] };
  let reference;
  const differing = [];
  const line = (r) =>
    `${r.seconds.toFixed(2).padStart(7)} s  ${r.cpuSeconds.toFixed(1).padStart(6)} s CPU${r.engineCpuSeconds === undefined ? '' : ` (engine's thread ${r.engineCpuSeconds.toFixed(1)} s)`}  ${String(r.maxRssMb).padStart(4)} MB${r.databaseSeconds === undefined ? '' : `  ${r.databaseSeconds.toFixed(2).padStart(5)} s database`}`;
  say(`${rounds} round(s) of ${records.toLocaleString('en-US')} records ${ledger ? 'with' : 'without'} the ledger, from ${input}`);
  for (let round = 0; round < rounds; round++) {
    for (const which of roundOrder(round)) {
      const built = which === 'a' ? a : b;
      const r = replay(input, { ledger, kdm: built.kdm });
      runs[which].push(r);
      const output = comparableSummary(r.summary);
      reference ??= output;
      if (output !== reference) differing.push(`${built.label}, round ${round + 1}`);
      say(`round ${round + 1}  ${which.toUpperCase()}  ${line(r)}`);
    }
  }
  removeWorktrees();

  process.stdout.write(`${comparisonLines({ records, recordsPerFile, days, ledger, rounds, a: a.label, b: b.label, runs, differing }).join('\n')}\n`);
  if (differing.length > 0) process.exitCode = 1;
}

/** --engine: both builds of bench/engine-alone.ts in one process (bench/engine-rounds.mjs), their rounds alternating. */
function compareEngines() {
  say(`${rounds} round(s) of each build's engine alone over ${records.toLocaleString('en-US')} records, after ${ENGINE_WARMUP_ROUNDS} of warm-up, from ${input}`);
  const run = spawnSync(process.execPath, ['--expose-gc', join(ROOT, 'bench', 'engine-rounds.mjs'), a.engine, b.engine, input, String(rounds + ENGINE_WARMUP_ROUNDS)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  removeWorktrees();
  if (run.status !== 0) fail(`measuring the engines failed (exit ${run.status})`);
  const { records: measured, cpuMs, differing } = JSON.parse(run.stdout);
  process.stdout.write(`${engineComparisonLines({ records: measured, a: a.label, b: b.label, cpuMs, differing }).join('\n')}\n`);
  if (differing.length > 0) process.exitCode = 1;
}

/**
 * --instructions: each build's engine alone under callgrind, once with the warm-up rounds and once with the warm-up
 * and the measured rounds; the difference is what the measured rounds ran. The four runs go two at a time (valgrind
 * runs a process's threads on one core), which changes no count.
 */
async function compareInstructions() {
  say(`counting the instructions of ${rounds} round(s) of each build's engine alone over ${records.toLocaleString('en-US')} records, after ${ENGINE_WARMUP_ROUNDS} of warm-up, from ${input} (valgrind runs them about 50x slower)`);
  const run = promisify(execFile);
  const counted = async (which, engine, engineRounds) => {
    const args = callgrindArgs({ node: process.execPath, script: join(ROOT, 'bench', 'engine-count.mjs'), bundle: engine, input, rounds: engineRounds });
    let out;
    try {
      out = await run('valgrind', args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    } catch (cause) {
      return fail(`counting ${which}'s ${engineRounds} round(s) failed: ${String(cause.stderr ?? cause.message).trim().split('\n').slice(-3).join(' ')}`);
    }
    const collected = instructionsCollected(out.stderr);
    if (collected === undefined) fail(`callgrind printed no count for ${which}'s ${engineRounds} round(s)`);
    say(`${which.toUpperCase()}  ${String(engineRounds).padStart(2)} round(s)  ${collected.toLocaleString('en-US').padStart(18)} instructions`);
    return { collected, ...JSON.parse(out.stdout) };
  };
  const [aWarm, bWarm] = await Promise.all([counted('a', a.engine, ENGINE_WARMUP_ROUNDS), counted('b', b.engine, ENGINE_WARMUP_ROUNDS)]);
  const [aTotal, bTotal] = await Promise.all([counted('a', a.engine, ENGINE_WARMUP_ROUNDS + rounds), counted('b', b.engine, ENGINE_WARMUP_ROUNDS + rounds)]);
  removeWorktrees();
  const differing = JSON.stringify(aTotal.found) !== JSON.stringify(bTotal.found) || aTotal.records !== bTotal.records;
  const counts = { a: { warmup: aWarm.collected, total: aTotal.collected }, b: { warmup: bWarm.collected, total: bTotal.collected } };
  process.stdout.write(`${instructionComparisonLines({ records: aTotal.records, rounds, warmup: ENGINE_WARMUP_ROUNDS, a: a.label, b: b.label, counts, differing }).join('\n')}\n`);
  if (differing) process.exitCode = 1;
}
