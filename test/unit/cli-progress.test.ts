import { describe, expect, it, vi } from 'vitest';
import { createProgress } from '../../src/cli/progress.ts';
import { safeText } from '../../src/cli/terminal.ts';

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

  it('stays silent when stderr is not a terminal', () => {
    const { writes, stream } = fakeStream(false);
    const progress = createProgress(4, 4_000, stream);

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
