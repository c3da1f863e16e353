import type { StateStore, StoredEntry } from '#core/ports.ts';

/** How long a window stays in memory after event time has passed its end. */
const WINDOW_GRACE_MS = 60 * 60_000;

/** The in-process store used by the CLI and tests. Expires dedupe entries, windows and slots by event-time watermark. */
export interface MemoryStateStore extends StateStore {
  readonly entries: ReadonlyMap<string, StoredEntry>;
}

export const createMemoryStateStore = (initial?: Iterable<readonly [string, StoredEntry]>): MemoryStateStore => {
  const entries = new Map<string, StoredEntry>(initial);
  // Entries event time makes obsolete, queued by the minute that happens: expiry takes whole minutes from the
  // front instead of scanning every entry (the dedupe ids alone are a day of traffic).
  const expiring = createMinuteQueue();
  const obsoleteAt = (entry: StoredEntry | undefined): number | undefined =>
    entry === undefined ? undefined
    : entry.kind === 'seen' ? entry.expiresAtMs
    : entry.kind === 'window' ? entry.endMs + WINDOW_GRACE_MS
    : entry.kind === 'correlation' ? entry.expiresMs
    : undefined;
  // Correlation slots with KMS halves waiting: key → (partition, due time). Small: bounded by the window.
  const pending = new Map<string, { partition: string; dueMs: number }>();
  const track = (key: string, entry: StoredEntry | undefined): void => {
    if (entry?.kind === 'correlation' && entry.kms.length > 0) pending.set(key, { partition: entry.partition, dueMs: entry.dueMs });
    else pending.delete(key);
  };
  for (const [key, entry] of entries) {
    track(key, entry);
    const at = obsoleteAt(entry);
    if (at !== undefined) expiring.push(key, at);
  }
  return {
    entries,
    async load(keys) {
      const out = new Map<string, StoredEntry>();
      for (const key of keys) {
        const entry = entries.get(key);
        if (entry !== undefined) out.set(key, entry);
      }
      return out;
    },
    async save(changes) {
      for (const [key, entry] of changes) {
        if (entry === undefined) entries.delete(key);
        else {
          // A new entry of an expiring kind joins the queue; updates keep their place (windows and slots
          // re-check their own time when their turn comes).
          if (!entries.has(key)) {
            const at = obsoleteAt(entry);
            if (at !== undefined) expiring.push(key, at);
          }
          entries.set(key, entry);
        }
        track(key, entry);
      }
    },
    async takeDue(options) {
      const out = new Map<string, StoredEntry>();
      const before = options?.decideBeforeMs ?? Number.NEGATIVE_INFINITY;
      for (const [key, p] of pending) {
        const watermark = entries.get(`watermark#${p.partition}`);
        if (p.dueMs <= before || (watermark?.kind === 'watermark' && p.dueMs <= watermark.maxEventTimeMs)) {
          const entry = entries.get(key);
          if (entry !== undefined) out.set(key, entry);
        }
      }
      return out;
    },
    async expire(watermarkMs) {
      for (let keys = expiring.takeBefore(watermarkMs); keys !== undefined; keys = expiring.takeBefore(watermarkMs)) {
        for (const key of keys) {
          const entry = entries.get(key);
          const at = obsoleteAt(entry);
          if (at === undefined) continue; // deleted, or replaced by a kind that does not expire
          // A slot still holding a KMS call waits for its decision; one updated since it was queued waits for its new time.
          if (at >= watermarkMs || (entry?.kind === 'correlation' && entry.kms.length > 0)) expiring.push(key, Math.max(at, watermarkMs));
          else entries.delete(key);
        }
      }
    },
  };
};

const MINUTE_MS = 60_000;

/**
 * Keys by the minute they become obsolete: a list per minute, and a binary min-heap of the minutes. Pushing is a
 * map lookup and an array push; expiry hands back whole minutes that ended before the watermark.
 */
const createMinuteQueue = () => {
  const byMinute = new Map<number, string[]>();
  const minutes: number[] = [];
  const siftUp = (i: number): void => {
    const m = minutes[i] as number;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = minutes[parent] as number;
      if (p <= m) break;
      minutes[i] = p;
      i = parent;
    }
    minutes[i] = m;
  };
  /** Removes the earliest minute: the last one moves into its place and sinks to where it belongs. */
  const popMinute = (): void => {
    const last = minutes.pop() as number;
    if (minutes.length === 0) return;
    let i = 0;
    for (;;) {
      let smallest = i;
      let smallestMinute = last;
      for (const child of [2 * i + 1, 2 * i + 2]) {
        const m = minutes[child];
        if (m !== undefined && m < smallestMinute) {
          smallest = child;
          smallestMinute = m;
        }
      }
      if (smallest === i) break;
      minutes[i] = smallestMinute;
      i = smallest;
    }
    minutes[i] = last;
  };
  return {
    push(key: string, atMs: number): void {
      const minute = Math.floor(atMs / MINUTE_MS);
      const keys = byMinute.get(minute);
      if (keys !== undefined) keys.push(key);
      else {
        byMinute.set(minute, [key]);
        minutes.push(minute);
        siftUp(minutes.length - 1);
      }
    },
    /** The keys of the earliest queued minute if it ended at or before `watermarkMs` (removed from the queue). */
    takeBefore(watermarkMs: number): string[] | undefined {
      const first = minutes[0];
      if (first === undefined || (first + 1) * MINUTE_MS > watermarkMs) return undefined;
      popMinute();
      const keys = byMinute.get(first);
      byMinute.delete(first);
      return keys;
    },
  };
};
