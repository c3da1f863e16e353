// The pure part of `npm run bench:compare`: in which order a round runs the two builds, what of a replay's summary
// must match across runs, and the printout.
import { median, medianInterval } from './stats.mjs';

/** Round 1 runs A then B, round 2 B then A, and so on: a host speeding up or slowing down during the rounds weighs on both alike. */
export const roundOrder = (round) => (round % 2 === 0 ? ['a', 'b'] : ['b', 'a']);

/** A replay's `--summary json` without what differs between identical runs (its duration), as comparable text. */
export const comparableSummary = (summary) => {
  const { durationMs: _duration, ...rest } = summary;
  return JSON.stringify(rest);
};

/** B's median over A's: `0.908x`. */
const medianRatio = (xb, xa) => `${(median(xb) / median(xa)).toFixed(3)}x`;

/** B's figure over A's in each round. */
const roundRatios = (xb, xa) => xa.map((x, i) => (xb[i] ?? Number.NaN) / x);

/** The rounds' ratios, B over A, and the median of those: `0.917, 0.900 (median 0.908x)`. */
const ratiosByRound = (xb, xa) => {
  const pairs = roundRatios(xb, xa);
  return `${pairs.map((x) => x.toFixed(3)).join(', ')} (median ${median(pairs).toFixed(3)}x)`;
};

/**
 * What the rounds' own ratios, B over A, say of the two builds: a 90% interval of their median (`medianInterval`),
 * and whether it lies below 1 (B faster), above it (B slower) or across it. On a host whose speed drifts by 10%
 * within minutes, a change of a few percent needs many rounds to show: the interval says when it has not.
 */
const verdictByRound = (xb, xa) => {
  const interval = medianInterval(roundRatios(xb, xa));
  if (interval === undefined) return 'too few rounds for a 90% interval of their median (it takes 5)';
  const { low, high, coverage } = interval;
  const verdict = high < 1 ? 'B is faster' : low > 1 ? 'B is slower' : 'B and A cannot be told apart in this many rounds';
  return `${low.toFixed(3)}–${high.toFixed(3)}x holds their median (${Math.floor(coverage * 1000) / 10}% sure): ${verdict}`;
};

const range = (xs, digits, unit) => {
  const lo = Math.min(...xs).toFixed(digits);
  const hi = Math.max(...xs).toFixed(digits);
  return lo === hi ? `${lo}${unit}` : `${lo}–${hi}${unit}`;
};

/**
 * The comparison's printout: each build's range of wall time, CPU time and peak memory over its runs, the ratio of
 * B's medians to A's, B's wall time over A's in each round with their median (on a host whose speed drifts during
 * the rounds, the rounds' own ratios say more than the medians of ranges that the drift widens) and what they say
 * of the two builds (`verdictByRound`), and whether every run found the same.
 * `runs.a` and `runs.b` hold `{ seconds, cpuSeconds, maxRssMb, databaseSeconds }` (the last when told, see
 * `databaseLines`); `differing` names the runs whose summary was unlike the first run's.
 */
export const comparisonLines = ({ records, recordsPerFile, days, ledger, rounds, a, b, runs, differing }) => {
  const figures = (rs) => ({ seconds: rs.map((r) => r.seconds), cpu: rs.map((r) => r.cpuSeconds), peak: rs.map((r) => r.maxRssMb) });
  const fa = figures(runs.a);
  const fb = figures(runs.b);
  // Wide enough for every label of the first column, and two spaces after it.
  const width = Math.max(...[`A ${a}`, `B ${b}`, 'B / A (medians)', 'database time'].map((label) => label.length)) + 2;
  const row = (name, f) => `${name.padEnd(width)}${range(f.seconds, 2, ' s').padEnd(18)}${range(f.cpu, 1, ' s').padEnd(16)}${range(f.peak, 0, ' MB')}`;
  return [
    `${records.toLocaleString('en-US')} records${recordsPerFile === undefined ? '' : ` in files of ${recordsPerFile.toLocaleString('en-US')}`}${days === undefined ? '' : ` over ${days} days`}, ${ledger ? 'with' : 'without'} the ledger, ${rounds} alternating round(s)`,
    `${''.padEnd(width)}${'wall'.padEnd(18)}${'CPU'.padEnd(16)}peak`,
    row(`A ${a}`, fa),
    row(`B ${b}`, fb),
    `${'B / A (medians)'.padEnd(width)}${medianRatio(fb.seconds, fa.seconds).padEnd(18)}${medianRatio(fb.cpu, fa.cpu).padEnd(16)}${medianRatio(fb.peak, fa.peak)}`,
    `${'B / A by round'.padEnd(width)}${ratiosByRound(fb.seconds, fa.seconds)} (wall time)`,
    `${''.padEnd(width)}${verdictByRound(fb.seconds, fa.seconds)}`,
    ...databaseLines(runs, width),
    differing.length === 0
      ? 'same output: every run gave the same summary (records, events, keys, findings, …)'
      : `different output: ${differing.join('; ')} gave a summary unlike the first run's`,
  ];
};

/**
 * The time each replay waited for its database (`databaseSeconds`, from the mark src/cli/database-time.ts leaves),
 * compared as the wall time is: about a quarter of a replay with the ledger, a change to the database's side shows
 * against it before it shows against the wall time. None when a build does not tell it
 * (one from before 2026-12-05, or a replay without the ledger).
 */
const databaseLines = (runs, width) => {
  const xa = runs.a.map((r) => r.databaseSeconds);
  const xb = runs.b.map((r) => r.databaseSeconds);
  if ([...xa, ...xb].some((x) => x === undefined)) return [];
  return [
    `${'database time'.padEnd(width)}A ${range(xa, 2, ' s')}, B ${range(xb, 2, ' s')} (B / A of the medians ${medianRatio(xb, xa)})`,
    `${'B / A by round'.padEnd(width)}${ratiosByRound(xb, xa)} (database time)`,
    `${''.padEnd(width)}${verdictByRound(xb, xa)}`,
  ];
};

/** `--engine`: the rounds each build runs first, while V8 compiles the engine's functions; left out of the figures. */
export const ENGINE_WARMUP_ROUNDS = 2;

/**
 * `bench:compare --engine`'s printout: each build's range of CPU time over its measured rounds (the warm-up left
 * out), the ratio of their medians, B over A, and of each round's pair. `cpuMs.a` and `cpuMs.b` hold every round's
 * figure in milliseconds, warm-up included; `differing` names the rounds whose counts were unlike the first round's.
 */
export const engineComparisonLines = ({ records, a, b, cpuMs, differing }) => {
  const measured = { a: cpuMs.a.slice(ENGINE_WARMUP_ROUNDS), b: cpuMs.b.slice(ENGINE_WARMUP_ROUNDS) };
  const width = Math.max(a.length, b.length) + 4;
  const row = (name, xs) => `${name.padEnd(width)}${range(xs, 0, ' ms')}`;
  return [
    `the engine alone over ${records.toLocaleString('en-US')} records, ${measured.a.length} alternating round(s) in one process after ${ENGINE_WARMUP_ROUNDS} of warm-up (CPU time)`,
    row(`A ${a}`, measured.a),
    row(`B ${b}`, measured.b),
    `${'B / A (medians)'.padEnd(width)}${medianRatio(measured.b, measured.a)}`,
    `${'B / A by round'.padEnd(width)}${ratiosByRound(measured.b, measured.a)}`,
    `${''.padEnd(width)}${verdictByRound(measured.b, measured.a)}`,
    differing.length === 0
      ? 'same output: every round counted the same records, events, correlations, findings and calls on ledger rows'
      : `different output: ${differing.join('; ')} counted something unlike the first round`,
  ];
};

/**
 * valgrind's arguments for counting `rounds` rounds of one build of the engine alone (`bench/engine-count.mjs`,
 * `script`) under callgrind, on `node`: V8 single-threaded and predictable, so that its collections and compilations
 * run on the counted thread, in the same order every time. `bench:compare --instructions` and its test run the same.
 */
export const callgrindArgs = ({ node, script, bundle, input, rounds }) => [
  '--tool=callgrind', '--callgrind-out-file=/dev/null', '--smc-check=all-non-file',
  node, '--single-threaded', '--predictable', script, bundle, input, String(rounds),
];

/** Callgrind's count of the instructions a process ran, from what it writes to stderr (`==123== Collected : 9862102185`). */
export const instructionsCollected = (stderr) => {
  const match = /^==\d+== Collected : (\d+)$/m.exec(stderr);
  return match === null ? undefined : Number(match[1]);
};

/**
 * `bench:compare --instructions`'s printout: each build's instructions over its measured rounds (its run of warm-up
 * and measured rounds less its run of warm-up alone), per record, and B over A. `counts.a` and `counts.b` hold
 * `{ warmup, total }`, the two runs' counts; `differing` is true when the builds' last rounds counted differently.
 */
export const instructionComparisonLines = ({ records, rounds, warmup, a, b, counts, differing }) => {
  const width = Math.max(a.length, b.length) + 4;
  const measured = (c) => c.total - c.warmup;
  const row = (name, c) => {
    const n = measured(c);
    return `${name.padEnd(width)}${n.toLocaleString('en-US').padStart(18)} instructions, ${Math.round(n / (rounds * records)).toLocaleString('en-US')} a record`;
  };
  return [
    `the engine alone over ${records.toLocaleString('en-US')} records: the instructions of ${rounds} round(s) after ${warmup} of warm-up, counted by valgrind's callgrind`,
    row(`A ${a}`, counts.a),
    row(`B ${b}`, counts.b),
    `${'B / A'.padEnd(width)}${(measured(counts.b) / measured(counts.a)).toFixed(4)}x`,
    differing
      ? 'different output: the builds\' rounds counted different records, events, correlations, findings or calls on ledger rows'
      : 'same output: both builds counted the same records, events, correlations, findings and calls on ledger rows',
  ];
};
