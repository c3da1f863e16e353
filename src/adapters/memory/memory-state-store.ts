import type { StateStore, StoredEntry } from '#core/ports.ts';

/** How long a window stays in memory after event time has passed its end. */
const WINDOW_GRACE_MS = 60 * 60_000;

/** The in-process store used by the CLI and tests. Expires dedupe entries, windows and slots by event-time watermark. */
export interface MemoryStateStore extends StateStore {
  readonly entries: ReadonlyMap<string, StoredEntry>;
}

export const createMemoryStateStore = (initial?: Iterable<readonly [string, StoredEntry]>): MemoryStateStore => {
  const entries = new Map<string, StoredEntry>(initial);
  // Entries event time makes obsolete, queued by when that happens: expiry pops from the front instead of
  // scanning every entry (the dedupe ids alone are a day of traffic). Roughly in time order already, since
  // records arrive roughly in event time; an entry queued late simply waits a little longer.
  const expiring = createMinHeap();
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
      const requeue: [string, number][] = [];
      for (let top = expiring.peek(); top !== undefined && top.atMs < watermarkMs; top = expiring.peek()) {
        expiring.pop();
        const entry = entries.get(top.key);
        const at = obsoleteAt(entry);
        if (at === undefined) continue; // deleted, or replaced by a kind that does not expire
        // A slot still holding a KMS call waits for its decision; one updated since it was queued waits for its new time.
        if (at >= watermarkMs || (entry?.kind === 'correlation' && entry.kms.length > 0)) requeue.push([top.key, Math.max(at, watermarkMs)]);
        else entries.delete(top.key);
      }
      for (const [key, at] of requeue) expiring.push(key, at);
    },
  };
};

/** A binary min-heap of (key, time): the next entry to become obsolete is always on top. */
const createMinHeap = () => {
  const keys: string[] = [];
  const times: number[] = [];
  const swap = (i: number, j: number): void => {
    const key = keys[i] as string;
    keys[i] = keys[j] as string;
    keys[j] = key;
    const time = times[i] as number;
    times[i] = times[j] as number;
    times[j] = time;
  };
  return {
    push(key: string, atMs: number): void {
      keys.push(key);
      times.push(atMs);
      for (let i = keys.length - 1; i > 0; ) {
        const parent = (i - 1) >> 1;
        if ((times[parent] as number) <= atMs) break;
        swap(i, parent);
        i = parent;
      }
    },
    peek: (): { key: string; atMs: number } | undefined => (keys.length === 0 ? undefined : { key: keys[0] as string, atMs: times[0] as number }),
    pop(): void {
      const last = keys.length - 1;
      swap(0, last);
      keys.pop();
      times.pop();
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < keys.length && (times[l] as number) < (times[m] as number)) m = l;
        if (r < keys.length && (times[r] as number) < (times[m] as number)) m = r;
        if (m === i) break;
        swap(i, m);
        i = m;
      }
    },
  };
};
