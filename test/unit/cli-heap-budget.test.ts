import { getHeapStatistics } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { collectionDue, createHeapBudget } from '../../src/cli/heap-budget.ts';

const MB = 1024 * 1024;

describe('heap budget (the replay collects when garbage outgrows what it holds)', () => {
  it('is due above twice what the last collection kept, never below the floor', () => {
    expect(collectionDue(100 * MB, 0, 128 * MB, 2)).toBe(false);
    expect(collectionDue(129 * MB, 0, 128 * MB, 2)).toBe(true);
    expect(collectionDue(150 * MB, 80 * MB, 128 * MB, 2)).toBe(false);
    expect(collectionDue(161 * MB, 80 * MB, 128 * MB, 2)).toBe(true);
  });

  it('follows the live data: the next collection waits for twice what this one kept', () => {
    let used = 0;
    let live = 0;
    const collected: number[] = [];
    const budget = createHeapBudget({ floorBytes: 10, factor: 2, usedHeapBytes: () => used, collect: () => { collected.push(used); used = live; } });

    const run = (heap: readonly number[]) => {
      for (const u of heap) {
        used = u;
        budget.check();
      }
    };

    live = 30;
    run([5, 11, 40, 59, 61]);
    live = 50; // the state grew: the budget grows with it
    run([100, 99, 101]);

    expect(collected).toEqual([11, 61, 100, 101]);
    expect(budget.collections).toBe(4);
  });

  it('collects V8\'s heap for real when node was started without --expose-gc', () => {
    let garbage: unknown[] | undefined = Array.from({ length: 200_000 }, (_, i) => ({ i, s: `garbage ${i}` }));
    garbage = undefined;
    const budget = createHeapBudget({ floorBytes: 1 });
    const before = getHeapStatistics().used_heap_size;

    budget.check();

    expect(garbage).toBeUndefined();
    expect(budget.collections).toBe(1);
    expect(getHeapStatistics().used_heap_size).toBeLessThan(before);
  });
});
