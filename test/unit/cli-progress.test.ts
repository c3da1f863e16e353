import { describe, expect, it, vi } from 'vitest';
import { createProgress, createSteppedProgress } from '../../src/cli/progress.ts';
import { simulateStream } from '../../src/sim/simulate.ts';
import { safeText } from '../../src/cli/terminal.ts';
import { stringifyJsonSafely } from '../../src/core/events/fields.ts';

const fakeStream = (isTTY: boolean) => {
  const writes: string[] = [];
  return { writes, stream: { isTTY, write: (s: string) => writes.push(s) } as unknown as NodeJS.WriteStream };
};

describe('progress on stderr', () => {
  it('draws files, records, rate and ETA when stderr is a terminal, and clears the line at the end', () => {
    vi.useFakeTimers();
    const { writes, stream } = fakeStream(true);
    const progress = createProgress(4, 4_000, stream);

    progress.records(1_000);
    progress.fileDone(1_000);
    vi.advanceTimersByTime(1_000);
    progress.stop();
    vi.useRealTimers();

    expect(writes.some((w) => /files 1\/4 {2}records 1,000 {2}[\d,]+ rec\/s {2}ETA \d+:\d{2}/.test(w))).toBe(true);
    expect(writes.at(-1)).toBe('\r\x1b[K');
  });

  it('shows a large export being hashed before the replay reads it, then the replay\'s own progress', () => {
    vi.useFakeTimers();
    const { writes, stream } = fakeStream(true);
    const progress = createProgress(2, 30 * 1024 * 1024, stream);

    progress.identifying('exports/events.jsonl', 2 * 1024 * 1024, 20 * 1024 * 1024);
    progress.identifying('exports/events.jsonl', 1024 * 1024, 20 * 1024 * 1024);
    vi.advanceTimersByTime(250);
    progress.identifying('exports/\u202eevil.jsonl', 1024 * 1024, 10 * 1024 * 1024);
    vi.advanceTimersByTime(250);
    progress.records(10);
    vi.advanceTimersByTime(250);
    progress.stop();
    vi.useRealTimers();

    expect(writes.slice(0, 3)).toEqual([
      '\r\x1b[K identifying exports/events.jsonl by its contents: 3 MiB of 20 MiB',
      '\r\x1b[K identifying exports/?evil.jsonl by its contents: 1 MiB of 10 MiB',
      expect.stringMatching(/^\r\x1b\[K files 0\/2 {2}records 10 /),
    ]);
  });

  it('stays silent when stderr is not a terminal', () => {
    const { writes, stream } = fakeStream(false);
    const progress = createProgress(4, 4_000, stream);

    progress.identifying('events.jsonl', 10, 10);
    progress.records(10);
    progress.fileDone(10);
    progress.stop();

    expect(writes).toEqual([]);
  });
});

describe('terminal output of event data', () => {
  it('neutralizes control and bidi characters', () => {
    expect(safeText('role/\u001b[31mred\u202etxt.exe')).toBe('role/?[31mred?txt.exe');
  });
});

describe('JSON written where a terminal may show it', () => {
  it('escapes bidi overrides, C1 controls and line separators, and reads back to the same value', () => {
    const value = { name: 'evil\u202eexe.pdf\u2066x\u2069', ctl: '\u0085\u009b[2J', sep: 'a\u2028b', plain: 'ok' };

    const text = stringifyJsonSafely(value, 2);

    expect(text).not.toMatch(/[\u007f-\u009f\u202a-\u202e\u2066-\u2069\u2028\u2029]/);
    expect(text).toContain('\\u202e');
    expect(JSON.parse(text)).toEqual(value);
  });
});

describe('stepped progress (work that holds the thread, such as kdm simulate)', () => {
  it('draws done of total, the share and an ETA at most every 250 ms, and clears the line at the end', () => {
    const { writes, stream } = fakeStream(true);
    let now = 10_000;
    const progress = createSteppedProgress('records', 1_000, stream, () => now);

    progress.advance(100);
    now += 100;
    progress.advance(100);
    now += 150;
    progress.advance(50);
    now += 1_000;
    progress.advance(1_000);
    progress.stop();

    expect(writes).toEqual([
      '\r\x1b[K records 250 of about 1,000 (25%)  ETA 0:01',
      '\r\x1b[K records 1,250 of about 1,000 (100%)  ETA 0:00',
      '\r\x1b[K',
    ]);
  });

  it('is silent when stderr is not a terminal', () => {
    const { writes, stream } = fakeStream(false);
    const progress = createSteppedProgress('records', 10, stream, () => 0);

    progress.advance(10);
    progress.stop();

    expect(writes).toEqual([]);
  });
});

describe('simulateStream', () => {
  it.each([false, true])('expects the records its files then hold (anomalies: %s), one more at most', (anomalies) => {
    const sim = simulateStream({ events: 5_000, seed: 3, anomalies, days: 10 });
    let records = 0;
    for (const f of sim.files) records += f.records.length;

    expect(records - sim.expectedRecords).toBeGreaterThanOrEqual(0);
    expect(records - sim.expectedRecords).toBeLessThanOrEqual(1);
  });
});
