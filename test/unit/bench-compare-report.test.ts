import { describe, expect, it } from 'vitest';
import { comparableSummary, comparisonLines, engineComparisonLines, instructionComparisonLines, instructionsCollected, roundOrder } from '../../bench/compare-report.mjs';
import { medianInterval } from '../../bench/stats.mjs';

describe('npm run bench:compare, its printout and rules', () => {
  it('alternates which build runs first in each round', () => {
    expect([0, 1, 2, 3].map(roundOrder)).toEqual([
      ['a', 'b'],
      ['b', 'a'],
      ['a', 'b'],
      ['b', 'a'],
    ]);
  });

  it('compares summaries without their duration, and with everything else', () => {
    const summary = { records: { read: 10, processed: 9 }, findings: { total: 2 }, durationMs: 812 };
    expect(comparableSummary(summary)).toBe(comparableSummary({ ...summary, durationMs: 95 }));
    expect(comparableSummary(summary)).not.toBe(comparableSummary({ ...summary, findings: { total: 3 } }));
  });

  it('prints the ranges of each build and the ratio of the medians, B over A', () => {
    const lines = comparisonLines({
      records: 1_000_000,
      recordsPerFile: undefined,
      ledger: true,
      rounds: 3,
      a: 'HEAD~1 (abc1234)',
      b: 'working tree',
      runs: {
        a: [
          { seconds: 24.0, cpuSeconds: 40.0, maxRssMb: 350 },
          { seconds: 25.0, cpuSeconds: 41.0, maxRssMb: 340 },
          { seconds: 26.0, cpuSeconds: 42.0, maxRssMb: 360 },
        ],
        b: [
          { seconds: 22.0, cpuSeconds: 38.0, maxRssMb: 350 },
          { seconds: 22.5, cpuSeconds: 38.0, maxRssMb: 350 },
          { seconds: 23.0, cpuSeconds: 38.0, maxRssMb: 350 },
        ],
      },
      differing: [],
    });
    expect(lines[0]).toBe('1,000,000 records, with the ledger, 3 alternating round(s)');
    expect(lines[2]).toMatch(/^A HEAD~1 \(abc1234\)\s+24\.00–26\.00 s\s+40\.0–42\.0 s\s+340–360 MB$/);
    // A figure the same in every run prints once, not as a range.
    expect(lines[3]).toMatch(/^B working tree\s+22\.00–23\.00 s\s+38\.0 s\s+350 MB$/);
    expect(lines[4]).toMatch(/^B \/ A \(medians\)\s+0\.900x\s+0\.927x\s+1\.000x$/);
    // Each round's pair: 22/24, 22.5/25, 23/26.
    expect(lines[5]).toMatch(/^B \/ A by round\s+0\.917, 0\.900, 0\.885 \(median 0\.900x\) \(wall time\)$/);
    expect(lines[6]).toMatch(/^\s+too few rounds for a 90% interval of their median \(it takes 5\)$/);
    expect(lines[7]).toMatch(/^same output/);
  });

  it("says whether the rounds' ratios tell the builds apart: B faster, B slower, or neither in this many rounds", () => {
    const verdict = (ratios: readonly number[]): string | undefined =>
      comparisonLines({
        records: 1_000_000,
        recordsPerFile: undefined,
        ledger: true,
        rounds: ratios.length,
        a: 'a',
        b: 'b',
        runs: { a: ratios.map(() => ({ seconds: 10, cpuSeconds: 16, maxRssMb: 250 })), b: ratios.map((r) => ({ seconds: 10 * r, cpuSeconds: 16, maxRssMb: 250 })) },
        differing: [],
      })[6]?.trim();
    // Eight rounds: from the 2nd smallest ratio to the 2nd largest, which hold the median 93% of the time.
    expect(verdict([0.93, 0.95, 0.91, 0.96, 0.97, 0.92, 1.02, 0.94])).toBe('0.920–0.970x holds their median (92.9% sure): B is faster');
    // A run of this stop's (2026-12-05): most rounds below 1, and still no telling.
    expect(verdict([0.962, 0.932, 1.017, 0.982, 0.971, 1.014, 0.927, 0.923])).toBe('0.927–1.014x holds their median (92.9% sure): B and A cannot be told apart in this many rounds');
    expect(verdict([1.05, 1.04, 1.06, 1.08, 1.03])).toBe('1.030–1.080x holds their median (93.7% sure): B is slower');
  });

  it("compares the time the replays waited for their database as it compares their wall time, when both builds tell it", () => {
    const runs = (seconds: readonly number[], database: readonly (number | undefined)[]) => seconds.map((s, i) => ({ seconds: s, cpuSeconds: 12, maxRssMb: 250, databaseSeconds: database[i] }));
    const compared = (a: readonly (number | undefined)[], b: readonly (number | undefined)[]) =>
      comparisonLines({ records: 1_000_000, recordsPerFile: undefined, ledger: true, rounds: 5, a: 'a', b: 'b', runs: { a: runs([8, 8, 8, 8, 8], a), b: runs([8, 8, 8, 8, 8], b) }, differing: [] });

    const lines = compared([1.3, 1.25, 1.4, 1.3, 1.35], [1.1, 1.1, 1.2, 1.15, 1.1]);
    expect(lines[7]).toMatch(/^database time\s+A 1\.25–1\.40 s, B 1\.10–1\.20 s \(B \/ A of the medians 0\.846x\)$/);
    // Each round's pair: 1.1/1.3, 1.1/1.25, 1.2/1.4, 1.15/1.3, 1.1/1.35.
    expect(lines[8]).toMatch(/^B \/ A by round\s+0\.846, 0\.880, 0\.857, 0\.885, 0\.815 \(median 0\.857x\) \(database time\)$/);
    expect(lines[9]?.trim()).toBe('0.815–0.885x holds their median (93.7% sure): B is faster');
    expect(lines[10]).toMatch(/^same output/);
    // A build that does not tell it (one from before it was measured): no such lines.
    expect(compared([undefined, undefined, undefined, undefined, undefined], [1.1, 1.1, 1.2, 1.15, 1.1])[7]).toMatch(/^same output/);
  });

  it('names the runs whose output differed', () => {
    const run = { seconds: 1, cpuSeconds: 1, maxRssMb: 100 };
    const lines = comparisonLines({ records: 2000, recordsPerFile: 1000, ledger: false, rounds: 1, a: 'a', b: 'b', runs: { a: [run], b: [run] }, differing: ['b, round 1'] });
    expect(lines[0]).toBe('2,000 records in files of 1,000, without the ledger, 1 alternating round(s)');
    expect(lines.at(-1)).toBe("different output: b, round 1 gave a summary unlike the first run's");
  });

  it('names the days the input spans when --days gives them', () => {
    const run = { seconds: 1, cpuSeconds: 1, maxRssMb: 100 };
    const lines = comparisonLines({ records: 5_000_000, recordsPerFile: undefined, days: 70, ledger: true, rounds: 2, a: 'a', b: 'b', runs: { a: [run], b: [run] }, differing: [] });
    expect(lines[0]).toBe('5,000,000 records over 70 days, with the ledger, 2 alternating round(s)');
  });
});

describe('npm run bench:compare --engine, its printout', () => {
  it('leaves the warm-up rounds out, and prints each build\'s range, the ratio of the medians and of each round\'s pair', () => {
    const lines = engineComparisonLines({
      records: 202_070,
      a: 'abc1234',
      b: 'working tree',
      cpuMs: { a: [3000, 2000, 1500, 1400, 1600], b: [2900, 2100, 1200, 1300, 1250] },
      differing: [],
    });
    expect(lines[0]).toBe('the engine alone over 202,070 records, 3 alternating round(s) in one process after 2 of warm-up (CPU time)');
    expect(lines[1]).toMatch(/^A abc1234\s+1400–1600 ms$/);
    expect(lines[2]).toMatch(/^B working tree\s+1200–1300 ms$/);
    expect(lines[3]).toMatch(/^B \/ A \(medians\)\s+0\.833x$/);
    expect(lines[4]).toMatch(/^B \/ A by round\s+0\.800, 0\.929, 0\.781 \(median 0\.800x\)$/);
    expect(lines[5]).toMatch(/too few rounds for a 90% interval/);
    expect(lines[6]).toMatch(/^same output/);
  });

  it('names the rounds that counted something else', () => {
    const lines = engineComparisonLines({ records: 10, a: 'a', b: 'b', cpuMs: { a: [1, 1, 1], b: [1, 1, 1] }, differing: ['B, round 3'] });
    expect(lines.at(-1)).toBe('different output: B, round 3 counted something unlike the first round');
  });
});

describe('npm run bench:compare --instructions, its reading of callgrind and its printout', () => {
  it('reads the count callgrind prints when the process ends, and nothing else', () => {
    const stderr = ['==31146== Callgrind, a call-graph generating cache profiler', '==31146== Events    : Ir', '==31146== Collected : 3006139520', '==31146== ', '==31146== I   refs:      3,006,139,520'].join('\n');
    expect(instructionsCollected(stderr)).toBe(3_006_139_520);
    expect(instructionsCollected('==1== Events    : Ir\nCollected : 12 (not callgrind\'s line)')).toBeUndefined();
  });

  it('counts the measured rounds as the longer run less the warm-up, per record, and B over A', () => {
    const lines = instructionComparisonLines({
      records: 20_000,
      rounds: 3,
      warmup: 2,
      a: 'abc1234',
      b: 'working tree',
      counts: { a: { warmup: 8_000_000_000, total: 10_400_000_000 }, b: { warmup: 7_900_000_000, total: 10_200_000_000 } },
      differing: false,
    });
    expect(lines[0]).toBe("the engine alone over 20,000 records: the instructions of 3 round(s) after 2 of warm-up, counted by valgrind's callgrind");
    // 2.4e9 over 3 rounds of 20,000 records, and 2.3e9.
    expect(lines[1]).toMatch(/^A abc1234\s+2,400,000,000 instructions, 40,000 a record$/);
    expect(lines[2]).toMatch(/^B working tree\s+2,300,000,000 instructions, 38,333 a record$/);
    expect(lines[3]).toMatch(/^B \/ A\s+0\.9583x$/);
    expect(lines[4]).toMatch(/^same output/);
  });

  it('says when the builds counted different things', () => {
    const counts = { a: { warmup: 1, total: 2 }, b: { warmup: 1, total: 2 } };
    expect(instructionComparisonLines({ records: 1, rounds: 1, warmup: 2, a: 'a', b: 'b', counts, differing: true }).at(-1)).toMatch(/^different output: /);
  });
});

describe('the median interval of the benches (bench/stats.mjs)', () => {
  it('takes the order statistics whose binomial coverage reaches the confidence, and none for too few values', () => {
    expect(medianInterval([3, 1, 2, 4])).toBeUndefined();
    expect(medianInterval([5, 1, 4, 2, 3])).toStrictEqual({ low: 1, high: 5, coverage: 1 - 2 / 32 });
    // Ten values: the 3rd and 8th hold the median only 89% of the time, so the 2nd and 9th (97.9%).
    expect(medianInterval([10, 9, 8, 7, 6, 5, 4, 3, 2, 1])).toStrictEqual({ low: 2, high: 9, coverage: 1 - (2 * 11) / 1024 });
    expect(medianInterval([10, 9, 8, 7, 6, 5, 4, 3, 2, 1], 0.8)).toStrictEqual({ low: 3, high: 8, coverage: 1 - (2 * 56) / 1024 });
  });
});
