import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { appendBenchEntry } from '../../bench/results-log.mjs';

describe('bench/results.md entries', () => {
  let dir: string;
  let printed: string[];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kdm-bench-log-'));
    printed = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      printed.push(String(chunk));
      return true;
    });
  });
  afterEach(() => {
    vi.restoreAllMocks();
    rmSync(dir, { recursive: true, force: true });
  });

  it('compares a run with the previous one of its kind, figure by figure', () => {
    const file = join(dir, 'results.md');
    appendBenchEntry({ file, kind: 'cost figures', lines: ['first'], figures: { handlerMs: 20, records: 10 } });
    appendBenchEntry({ file, kind: 'figures', lines: ['other kind'], figures: { handlerMs: 99 } });
    appendBenchEntry({ file, kind: 'cost figures', lines: ['second'], figures: { handlerMs: 30, records: 10 } });

    const change = printed.filter((l) => l.startsWith('change since')).at(-1);
    expect(change).toMatch(/^change since the previous entry \(\d{4}-\d\d-\d\dT[^)]*\): handlerMs 30 \(\+50\.0%\)\n$/);
    expect(change).not.toContain('that run was on');
    const text = readFileSync(file, 'utf8');
    expect(text.match(/<!-- cost figures: /g)).toHaveLength(2);
    expect(text).toContain('```\nsecond\n```');
  });

  it('compares a run with the previous one of as many records, and says when there is none', () => {
    const file = join(dir, 'results.md');
    appendBenchEntry({ file, kind: 'figures', lines: ['1M'], figures: { records: 1_000_000, replayPerSecond: 140_000 } });
    appendBenchEntry({ file, kind: 'figures', lines: ['20k'], figures: { records: 20_000, replayPerSecond: 26_000 } });
    printed = [];
    appendBenchEntry({ file, kind: 'figures', lines: ['1M again'], figures: { records: 1_000_000, replayPerSecond: 147_000 } });
    expect(printed.find((l) => l.startsWith('change since'))).toMatch(/\): replayPerSecond 147000 \(\+5\.0%\)\n$/);

    printed = [];
    appendBenchEntry({ file, kind: 'figures', lines: ['5k'], figures: { records: 5_000, replayPerSecond: 9_000 } });
    expect(printed.some((l) => l.startsWith('change since'))).toBe(false);
    expect(printed[0]).toBe('no earlier entry of 5,000 records to compare with (the last, of 1,000,000 records, measured other work)\n');
    expect(readFileSync(file, 'utf8').match(/<!-- figures: /g)).toHaveLength(4);
  });

  it('says when the previous run was on another machine, whose times do not compare with this one', () => {
    const file = join(dir, 'results.md');
    // A machine no host is (this test once named a real one, and failed on a machine of that description).
    const before = { date: '2026-12-02T05:46:19.637Z', machine: '64× Imaginary(R) Processor, 1 GiB, node v0.0.0', handlerMs: 27 };
    writeFileSync(file, `# Benchmark results\n\n<!-- cost figures: ${JSON.stringify(before)} -->\n`);
    appendBenchEntry({ file, kind: 'cost figures', lines: ['x'], figures: { handlerMs: 46 } });

    const change = printed.find((l) => l.startsWith('change since'));
    expect(change).toBe(
      `change since the previous entry (2026-12-02T05:46:19.637Z; that run was on ${before.machine}, so times and rates compare machines, not code): handlerMs 46 (+70.4%)\n`,
    );
  });
});
