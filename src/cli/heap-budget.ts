import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * Keeps a long replay's heap near what it holds. A full collection of the replay's heap takes about 35 ms, so
 * V8 judges collection cheap and lets garbage pile up to four or five times the live data: a 1M-record replay
 * holding 40–75 MB peaked at a 320 MB heap. The budget collects when the used heap passes `factor` times what
 * the last collection kept (never below `floorBytes`), so the peak follows the live data, however large that
 * grows, where a fixed heap cap would end a replay whose state outgrew it. Measured on 1M records: peak memory
 * 253 instead of 320 MB at 3–5% more time without the ledger, 485 instead of 630 MB at up to 12% with it.
 *
 * The floor was 128 MB until the engine's live heap shrank to 30–40 MB: garbage then filled the heap to the
 * floor between collections (every 3 s, 128 → 40 MB). A 64 MB floor collects every 1–1.5 s. With the dedupe
 * entries no longer garbage (`markSeen`) it took the peak from 263–268 to 198–199 MB without the ledger in the
 * same time, and from 411–430 to 348–364 MB with it for 7–8% more time. (One alternating series with the ledger
 * and a 32 MiB database budget: floor 64 MB 311–325 MB in 36.1–36.9 s, 96 MB 337–341 MB in 34.9 s, 128 MB
 * 364–386 MB in 33.6–35.7 s.) A factor of 1.5 saved 15 MB more for 15% more time.
 */
export interface HeapBudget {
  /** Collects if the used heap is over budget. Cheap enough to call after every batch. */
  check(): void;
  /** Collections made so far. */
  readonly collections: number;
}

export interface HeapBudgetOptions {
  readonly floorBytes?: number;
  readonly factor?: number;
  /** The used heap and a full collection (tests pass their own). */
  readonly usedHeapBytes?: () => number;
  readonly collect?: () => void;
}

const DEFAULT_FLOOR_BYTES = 64 * 1024 * 1024;
const DEFAULT_FACTOR = 2;

/** Whether the heap is over budget: above `factor` times what the last collection kept, and above the floor. */
export const collectionDue = (usedBytes: number, keptBytes: number, floorBytes: number, factor: number): boolean => usedBytes > Math.max(floorBytes, keptBytes * factor);

/**
 * The full collection V8 offers to code started with `--expose-gc`, obtained the way test runners do it when the
 * flag was not given (`jest --detectLeaks`); undefined where that is not possible.
 */
const fullCollection = (): (() => void) | undefined => {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (typeof exposed === 'function') return exposed;
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    return typeof gc === 'function' ? (gc as () => void) : undefined;
  } catch {
    return undefined;
  }
};

const usedHeap = (): number => getHeapStatistics().used_heap_size;

export const createHeapBudget = (options: HeapBudgetOptions = {}): HeapBudget => {
  const floorBytes = options.floorBytes ?? DEFAULT_FLOOR_BYTES;
  const factor = options.factor ?? DEFAULT_FACTOR;
  const used = options.usedHeapBytes ?? usedHeap;
  const collect = options.collect ?? fullCollection();
  let kept = 0;
  let collections = 0;
  return {
    check() {
      if (collect === undefined || !collectionDue(used(), kept, floorBytes, factor)) return;
      collect();
      collections++;
      kept = used();
    },
    get collections() {
      return collections;
    },
  };
};
