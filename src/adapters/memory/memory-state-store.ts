import type { StateStore, StoredEntry } from '#core/ports.ts';

/** How long a window stays in memory after event time has passed its end. */
const WINDOW_GRACE_MS = 60 * 60_000;

/** The in-process store used by the CLI and tests. Expires dedupe entries, windows and slots by event-time watermark. */
export interface MemoryStateStore extends StateStore {
  readonly entries: ReadonlyMap<string, StoredEntry>;
}

export const createMemoryStateStore = (initial?: Iterable<readonly [string, StoredEntry]>): MemoryStateStore => {
  const entries = new Map<string, StoredEntry>(initial);
  // Correlation slots with KMS halves waiting: key → (partition, due time). Small: bounded by the window.
  const pending = new Map<string, { partition: string; dueMs: number }>();
  const track = (key: string, entry: StoredEntry | undefined): void => {
    if (entry?.kind === 'correlation' && entry.kms.length > 0) pending.set(key, { partition: entry.partition, dueMs: entry.dueMs });
    else pending.delete(key);
  };
  for (const [key, entry] of entries) track(key, entry);
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
        else entries.set(key, entry);
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
      for (const [key, entry] of entries) {
        if (entry.kind === 'seen' && entry.expiresAtMs < watermarkMs) entries.delete(key);
        else if (entry.kind === 'window' && entry.endMs + WINDOW_GRACE_MS < watermarkMs) entries.delete(key);
        else if (entry.kind === 'correlation' && entry.kms.length === 0 && entry.expiresMs < watermarkMs) entries.delete(key);
      }
    },
  };
};
