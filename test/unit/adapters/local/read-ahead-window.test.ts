import { describe, expect, it } from 'vitest';
import { ReadAheadWindow } from '#adapters/local/threaded-reader.ts';

describe('ReadAheadWindow', () => {
  it('admits files until either the count or the size on disk would pass its bound', () => {
    const byCount = new ReadAheadWindow(2, 1_000);
    byCount.add(10);
    byCount.add(10);
    expect(byCount.admits(10)).toBe(false);

    const bySize = new ReadAheadWindow(16, 100);
    bySize.add(60);
    expect(bySize.admits(40)).toBe(true);
    expect(bySize.admits(41)).toBe(false);
  });

  it('always admits a file when none is asked for, however large, so a big file is still read', () => {
    const w = new ReadAheadWindow(16, 100);
    expect(w.admits(5_000)).toBe(true);
    w.add(5_000);
    expect(w.admits(1)).toBe(false);
  });

  it('frees the oldest file first as the engine takes files in order', () => {
    const w = new ReadAheadWindow(3, 100);
    w.add(70);
    w.add(20);
    expect(w.admits(20)).toBe(false);
    w.finishOldest();
    expect([w.files, w.bytes]).toEqual([1, 20]);
    expect(w.admits(80)).toBe(true);
    w.finishOldest();
    w.finishOldest();
    expect([w.files, w.bytes]).toEqual([0, 0]);
  });
});
