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
//
// Each round runs both builds, in turn order A B, then B A, and so on. Every run's summary (records, events,
// findings, keys, …, all but its duration) must equal the first run's: a change that alters what the replay
// finds is reported, since it is then not the same work measured twice.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { comparableSummary, comparisonLines, roundOrder } from './compare-report.mjs';
import { buildCheckout, dataset, KDM, replay, ROOT, say } from './harness.mjs';

const USAGE = 'usage: npm run bench:compare -- <rev> [--against <rev>] [--records N] [--runs N] [--no-ledger] [--records-per-file N] [--days N]';

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
      records: { type: 'string', default: '1000000' },
      runs: { type: 'string', default: '3' },
      'no-ledger': { type: 'boolean', default: false },
      'records-per-file': { type: 'string' },
      days: { type: 'string' },
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
const records = count('records', values.records);
const rounds = count('runs', values.runs);
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
const build = (rev) => {
  if (rev === undefined) {
    say('building the working tree …');
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
  buildCheckout(dir);
  return { label, kdm: join(dir, 'dist', 'kdm.js') };
};

const a = build(positionals[0]);
const b = build(values.against);
const input = dataset(records, { ...(recordsPerFile === undefined ? {} : { recordsPerFile }), ...(days === undefined ? {} : { days }) });
const ledger = !values['no-ledger'];

const runs = { a: [], b: [] };
let reference;
const differing = [];
const line = (r) => `${r.seconds.toFixed(2).padStart(7)} s  ${r.cpuSeconds.toFixed(1).padStart(6)} s CPU  ${String(r.maxRssMb).padStart(4)} MB`;
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
