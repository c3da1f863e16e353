import type { StateStore, StoredEntry } from '#core/ports.ts';

/** How long a window or finding stays in memory after event time has passed its end. */
const WINDOW_GRACE_MS = 60 * 60_000;

/** The in-process store used by the CLI and tests. Expires dedupe entries and windows by event-time watermark. */
export interface MemoryStateStore extends StateStore {
  readonly entries: ReadonlyMap<string, StoredEntry>;
}

export const createMemoryStateStore = (initial?: Iterable<readonly [string, StoredEntry]>): MemoryStateStore => {
  const entries = new Map<string, StoredEntry>(initial);
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
      for (const [key, entry] of changes) entries.set(key, entry);
    },
    async expire(watermarkMs) {
      for (const [key, entry] of entries) {
        if (entry.kind === 'seen' && entry.expiresAtMs < watermarkMs) entries.delete(key);
        else if (entry.kind === 'window' && entry.endMs + WINDOW_GRACE_MS < watermarkMs) entries.delete(key);
      }
    },
  };
};
