// The pure part of `npm run bench:compare`: in which order a round runs the two builds, what of a replay's summary
// must match across runs, and the printout.
import { median } from './stats.mjs';

/** Round 1 runs A then B, round 2 B then A, and so on: a host speeding up or slowing down during the rounds weighs on both alike. */
export const roundOrder = (round) => (round % 2 === 0 ? ['a', 'b'] : ['b', 'a']);

/** A replay's `--summary json` without what differs between identical runs (its duration), as comparable text. */
export const comparableSummary = (summary) => {
  const { durationMs: _duration, ...rest } = summary;
  return JSON.stringify(rest);
};

const range = (xs, digits, unit) => {
  const lo = Math.min(...xs).toFixed(digits);
  const hi = Math.max(...xs).toFixed(digits);
  return lo === hi ? `${lo}${unit}` : `${lo}–${hi}${unit}`;
};

/**
 * The comparison's printout: each build's range of wall time, CPU time and peak memory over its runs, the ratio of
 * B's medians to A's, and whether every run found the same.
 * `runs.a` and `runs.b` hold `{ seconds, cpuSeconds, maxRssMb }`; `differing` names the runs whose summary was
 * unlike the first run's.
 */
export const comparisonLines = ({ records, recordsPerFile, days, ledger, rounds, a, b, runs, differing }) => {
  const figures = (rs) => ({ seconds: rs.map((r) => r.seconds), cpu: rs.map((r) => r.cpuSeconds), peak: rs.map((r) => r.maxRssMb) });
  const fa = figures(runs.a);
  const fb = figures(runs.b);
  const ratio = (xb, xa) => `${(median(xb) / median(xa)).toFixed(3)}x`;
  const width = Math.max(a.length, b.length) + 4;
  const row = (name, f) => `${name.padEnd(width)}${range(f.seconds, 2, ' s').padEnd(18)}${range(f.cpu, 1, ' s').padEnd(16)}${range(f.peak, 0, ' MB')}`;
  return [
    `${records.toLocaleString('en-US')} records${recordsPerFile === undefined ? '' : ` in files of ${recordsPerFile.toLocaleString('en-US')}`}${days === undefined ? '' : ` over ${days} days`}, ${ledger ? 'with' : 'without'} the ledger, ${rounds} alternating round(s)`,
    `${''.padEnd(width)}${'wall'.padEnd(18)}${'CPU'.padEnd(16)}peak`,
    row(`A ${a}`, fa),
    row(`B ${b}`, fb),
    `${'B / A (medians)'.padEnd(width)}${ratio(fb.seconds, fa.seconds).padEnd(18)}${ratio(fb.cpu, fa.cpu).padEnd(16)}${ratio(fb.peak, fa.peak)}`,
    differing.length === 0
      ? 'same output: every run gave the same summary (records, events, keys, findings, …)'
      : `different output: ${differing.join('; ')} gave a summary unlike the first run's`,
  ];
};

/** Of each `--engine` run's rounds, the first ones warm up (V8 compiles the engine's functions) and are left out. */
export const ENGINE_WARMUP_ROUNDS = 2;

/** One `--engine` run's figure: the median CPU time of its rounds after the warm-up, in milliseconds. */
export const engineRunFigure = (cpuMs) => median(cpuMs.slice(ENGINE_WARMUP_ROUNDS));

/**
 * `bench:compare --engine`'s printout: each build's range of per-run figures (see `engineRunFigure`) and the ratio
 * of their medians, B over A. `runs.a` and `runs.b` hold the figures in milliseconds.
 */
export const engineComparisonLines = ({ records, rounds, roundsPerRun, a, b, runs, differing }) => {
  const width = Math.max(a.length, b.length) + 4;
  const row = (name, xs) => `${name.padEnd(width)}${range(xs, 0, ' ms')}`;
  return [
    `the engine alone over ${records.toLocaleString('en-US')} records, ${rounds} alternating run(s) of ${roundsPerRun} rounds (CPU, median of the last ${roundsPerRun - ENGINE_WARMUP_ROUNDS} of each run)`,
    row(`A ${a}`, runs.a),
    row(`B ${b}`, runs.b),
    `${'B / A (medians)'.padEnd(width)}${(median(runs.b) / median(runs.a)).toFixed(3)}x`,
    // A round's two runs ran minutes apart at most: their ratio leaves out most of the host's drift between rounds.
    `${'B / A by round'.padEnd(width)}${runs.a.map((x, i) => ((runs.b[i] ?? Number.NaN) / x).toFixed(3)).join(', ')}`,
    differing.length === 0
      ? 'same output: every run counted the same records, events, correlations, findings and ledger rows'
      : `different output: ${differing.join('; ')} found something unlike the first run`,
  ];
};
