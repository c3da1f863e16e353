import { describe, expect, it } from 'vitest';
import { DEFAULT_THREADS, READER_THREADS_FROM_BYTES, readerThreadsFor } from '../../src/cli/replay.ts';

/** Inputs of these sizes on disk. */
const inputs = (...sizes: number[]) => sizes.map((bytes, i) => ({ path: `f${i}.json.gz`, bytes }));

describe('the reader threads a replay uses (readerThreadsFor)', () => {
  it('are what --threads says, less the engine\'s own, whatever the input', () => {
    for (const threads of [1, 2, 3, 4]) {
      expect(readerThreadsFor(inputs(1), threads, 2)).toBe(threads - 1);
      expect(readerThreadsFor(inputs(READER_THREADS_FROM_BYTES * 10), threads, 1)).toBe(threads - 1);
    }
  });

  it('by default: none below 2 MiB on disk, counted over every input, and DEFAULT_THREADS less one from there', () => {
    expect(READER_THREADS_FROM_BYTES).toBe(2 * 1024 * 1024);
    expect(readerThreadsFor([], undefined, 2)).toBe(0);
    expect(readerThreadsFor(inputs(READER_THREADS_FROM_BYTES - 1), undefined, 2)).toBe(0);
    expect(readerThreadsFor(inputs(READER_THREADS_FROM_BYTES), undefined, 2)).toBe(DEFAULT_THREADS - 1);
    expect(readerThreadsFor(inputs(READER_THREADS_FROM_BYTES / 2, READER_THREADS_FROM_BYTES / 2), undefined, 8)).toBe(DEFAULT_THREADS - 1);
    // Standard input has no size to go by, and is read on the replay's own thread in any case.
    expect(readerThreadsFor([{ path: '-', bytes: 0 }], undefined, 2)).toBe(0);
  });

  it('by default on one core: none, however large the input', () => {
    expect(readerThreadsFor(inputs(READER_THREADS_FROM_BYTES * 100), undefined, 1)).toBe(0);
  });
});
