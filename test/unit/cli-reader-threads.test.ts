import { describe, expect, it } from 'vitest';
import { DEFAULT_THREADS, DEFAULT_THREADS_READING_JAVASCRIPT, READER_THREADS_FROM_BYTES, readerThreadsFor } from '../../src/cli/replay.ts';

/** Inputs of these sizes on disk. */
const inputs = (...sizes: number[]) => sizes.map((bytes, i) => ({ path: `f${i}.json.gz`, bytes }));

describe('the reader threads a replay uses (readerThreadsFor)', () => {
  it('are what --threads says, less the engine\'s own, whatever the input', () => {
    for (const threads of [1, 2, 3, 4]) {
      for (const readsNatively of [true, false]) {
        expect(readerThreadsFor(inputs(1), threads, 2, readsNatively)).toBe(threads - 1);
        expect(readerThreadsFor(inputs(READER_THREADS_FROM_BYTES * 10), threads, 1, readsNatively)).toBe(threads - 1);
      }
    }
  });

  it('by default: none below 2 MiB on disk, counted over every input, and DEFAULT_THREADS less one from there', () => {
    expect(READER_THREADS_FROM_BYTES).toBe(2 * 1024 * 1024);
    expect(readerThreadsFor([], undefined, 2, true)).toBe(0);
    expect(readerThreadsFor(inputs(READER_THREADS_FROM_BYTES - 1), undefined, 2, true)).toBe(0);
    expect(readerThreadsFor(inputs(READER_THREADS_FROM_BYTES), undefined, 2, true)).toBe(DEFAULT_THREADS - 1);
    expect(readerThreadsFor(inputs(READER_THREADS_FROM_BYTES / 2, READER_THREADS_FROM_BYTES / 2), undefined, 8, true)).toBe(DEFAULT_THREADS - 1);
    // Standard input has no size to go by, and is read on the replay's own thread in any case.
    expect(readerThreadsFor([{ path: '-', bytes: 0 }], undefined, 2, true)).toBe(0);
  });

  it('by default: one reader where the native reader reads, two where the readers read in JavaScript', () => {
    expect(DEFAULT_THREADS).toBe(2);
    expect(DEFAULT_THREADS_READING_JAVASCRIPT).toBe(3);
    expect(readerThreadsFor(inputs(READER_THREADS_FROM_BYTES), undefined, 2, true)).toBe(1);
    expect(readerThreadsFor(inputs(READER_THREADS_FROM_BYTES), undefined, 2, false)).toBe(2);
    expect(readerThreadsFor(inputs(READER_THREADS_FROM_BYTES - 1), undefined, 2, false)).toBe(0);
  });

  it('by default on one core: none, however large the input', () => {
    for (const readsNatively of [true, false]) expect(readerThreadsFor(inputs(READER_THREADS_FROM_BYTES * 100), undefined, 1, readsNatively)).toBe(0);
  });
});
