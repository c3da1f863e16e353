import type { StateStore, StoredEntry } from '#core/ports.ts';
import { EVENT_ID_PREFIX, NETWORK_EVENT_ID_PREFIX, SHARED_EVENT_ID_PREFIX } from '#core/events/normalize.ts';
import { SEEN_KEY_PREFIX, seenKeyMinute, seenMinuteOf, stateKey, type DeliveredRecord } from '#core/state.ts';

/** How long a window stays in memory after event time has passed its end. */
const WINDOW_GRACE_MS = 60 * 60_000;

/** The in-process store used by the CLI and tests. Expires dedupe entries, windows and slots by event-time watermark. */
export interface MemoryStateStore extends StateStore {
  readonly entries: ReadonlyMap<string, StoredEntry>;
}

export interface MemoryStateStoreOptions {
  /**
   * Offer `write`, so batches write through to the entries instead of collecting changes (see `StateStore.write`):
   * for a run that ends on a failure, like the replay.
   */
  readonly writeThrough?: boolean;
}

export const createMemoryStateStore = (initial?: Iterable<readonly [string, StoredEntry]>, options: MemoryStateStoreOptions = {}): MemoryStateStore => {
  const others = new Map<string, StoredEntry>();
  const seen = createSeenEntries();
  const entries = new StateEntries(others, seen);
  // Entries event time makes obsolete, queued by the minute that happens: expiry takes whole minutes from the
  // front instead of scanning every entry.
  const expiring = createMinuteQueue<string>();
  // Correlation slots with KMS halves waiting: key → (partition, due time). Small: bounded by the window.
  const pending = new Map<string, { partition: string; dueMs: number }>();
  const track = (key: string, entry: StoredEntry | undefined): void => {
    if (entry?.kind === 'correlation' && entry.kms.length > 0) pending.set(key, { partition: entry.partition, dueMs: entry.dueMs });
    // Only a slot can be pending: other writes need no lookup here.
    else if (entry === undefined || entry.kind === 'correlation') pending.delete(key);
  };
  const put = (key: string, entry: StoredEntry | undefined): void => {
    const minute = seenKeyMinute(key);
    if (minute !== undefined) {
      seen.put(key, minute, entry);
      return;
    }
    if (entry === undefined) others.delete(key);
    else {
      // A new entry of an expiring kind joins the queue; updates keep their place (windows and slots
      // re-check their own time when their turn comes).
      if (!others.has(key)) {
        const at = obsoleteAt(entry);
        if (at !== undefined) expiring.push(key, at);
      }
      others.set(key, entry);
    }
    track(key, entry);
  };
  if (initial !== undefined) for (const [key, entry] of initial) put(key, entry);
  return {
    entries,
    ...(options.writeThrough === true ? { write: put, markSeen: seen.mark } : {}),
    async load(keys) {
      const out = new Map<string, StoredEntry>();
      for (const key of keys) {
        const entry = entries.get(key);
        if (entry !== undefined) out.set(key, entry);
      }
      return out;
    },
    async save(changes) {
      for (const [key, entry] of changes) put(key, entry);
    },
    async takeDue(options) {
      const out = new Map<string, StoredEntry>();
      const before = options?.decideBeforeMs ?? Number.NEGATIVE_INFINITY;
      for (const [key, p] of pending) {
        const watermark = others.get(stateKey.watermark(p.partition));
        if (p.dueMs <= before || (watermark?.kind === 'watermark' && p.dueMs <= watermark.maxEventTimeMs)) {
          const entry = others.get(key);
          if (entry !== undefined) out.set(key, entry);
        }
      }
      return out;
    },
    async expire(watermarkMs) {
      for (let keys = expiring.takeBefore(watermarkMs); keys !== undefined; keys = expiring.takeBefore(watermarkMs)) {
        for (const key of keys) {
          const entry = others.get(key);
          const at = obsoleteAt(entry);
          if (at === undefined) continue; // deleted, or replaced by a kind that does not expire
          // A slot still holding a KMS call waits for its decision; one updated since it was queued waits for its new time.
          if (at >= watermarkMs || (entry?.kind === 'correlation' && entry.kms.length > 0)) expiring.push(key, Math.max(at, watermarkMs));
          else others.delete(key);
        }
      }
      seen.expire(watermarkMs);
    },
  };
};

/**
 * When event time makes an entry obsolete (undefined: never, by time). A principal's recent findings are kept, as
 * the findings are: a replay of days in another order (Event history's newest first) then names the same findings.
 */
const obsoleteAt = (entry: StoredEntry | undefined): number | undefined =>
  entry === undefined ? undefined
  : entry.kind === 'seen' ? entry.expiresAtMs
  : entry.kind === 'window' ? entry.endMs + WINDOW_GRACE_MS
  : entry.kind === 'correlation' ? entry.expiresMs
  : undefined;

/**
 * The dedupe entries, apart from the rest: a day of traffic, so most of the state. One small map per minute of
 * their key: a lookup searches that minute only, and expiry drops a minute whole instead of deleting key after
 * key from one large map (a 1M-record replay spent about a fifth of its engine thread's busy time on that churn).
 * An entry still leaves at the first `expire` whose watermark has passed the minute it becomes obsolete.
 *
 * A minute holds no keys and no entry objects, only what they say: the record's eventID (for the `e:` dedupe
 * ids, nearly all of them; the string the record brought, kept) or the rest of the key, mapped to the entry's
 * `expiresAtMs` less the start of the key's minute. `mark` then builds nothing for a new record, where a key and
 * an entry for each record used to outlive the young generation and fill the old one with garbage. The time
 * since the minute's start (a dedupe retention, a day by default) is an integer V8 keeps in the map itself, as
 * long as the retention is under 24 days (2^31 ms); an epoch time in ms is not, and took a heap number of its own
 * for every record. Keys and entries are made again when asked for (a lookup by key, the listing a checkpoint
 * writes).
 */
const createSeenEntries = () => {
  interface Minute {
    /** `seen#<minute>#e:<eventID>` entries: eventID → expiresAtMs − the minute's start (`sinceMinute`). */
    readonly byEventId: Map<string, number>;
    /** Every other key of the minute (`s:<sharedEventID>`), by what follows `seen#<minute>#`. */
    readonly byRest: Map<string, number>;
    /** The minute its earliest entry becomes obsolete, as queued (Infinity: none of them expires). */
    queuedMinute: number;
    /** The latest `expiresAtMs` set in the minute, at or after every entry's: once it is obsolete, all of them are. */
    latestMs: number;
  }
  const byMinute = new Map<number, Minute>();
  const expiring = createMinuteQueue<number>();
  let size = 0;
  const queue = (keyMinute: number, bucket: Minute, at: number): void => {
    const minute = Math.floor(at / MINUTE_MS);
    if (minute >= bucket.queuedMinute) return;
    bucket.queuedMinute = minute;
    expiring.push(keyMinute, at);
  };
  const bucketFor = (keyMinute: number): Minute => {
    let bucket = byMinute.get(keyMinute);
    if (bucket === undefined) byMinute.set(keyMinute, (bucket = { byEventId: new Map(), byRest: new Map(), queuedMinute: Number.POSITIVE_INFINITY, latestMs: Number.NEGATIVE_INFINITY }));
    return bucket;
  };
  /** The map of `bucket` and the id within it that a key names (`seen#<keyMinute>#<rest>`). */
  const locate = (bucket: Minute, key: string): [Map<string, number>, string] => {
    const rest = key.slice(key.indexOf('#', SEEN_KEY_PREFIX.length) + 1);
    return rest.startsWith(EVENT_ID_PREFIX) ? [bucket.byEventId, rest.slice(EVENT_ID_PREFIX.length)] : [bucket.byRest, rest];
  };
  const set = (keyMinute: number, bucket: Minute, within: Map<string, number>, id: string, expiresAtMs: number): void => {
    if (!within.has(id)) size++;
    within.set(id, expiresAtMs - keyMinute * MINUTE_MS);
    if (expiresAtMs > bucket.latestMs) bucket.latestMs = expiresAtMs;
    queue(keyMinute, bucket, expiresAtMs);
  };
  const entriesOf = function* (prefix: string, within: Map<string, number>, keyMinute: number): Generator<[string, StoredEntry]> {
    for (const [id, sinceMinute] of within) yield [`${prefix}${id}`, { kind: 'seen', expiresAtMs: keyMinute * MINUTE_MS + sinceMinute }];
  };
  return {
    get size(): number {
      return size;
    },
    get(key: string, keyMinute: number): StoredEntry | undefined {
      const bucket = byMinute.get(keyMinute);
      if (bucket === undefined) return undefined;
      const [within, id] = locate(bucket, key);
      const sinceMinute = within.get(id);
      return sinceMinute === undefined ? undefined : { kind: 'seen', expiresAtMs: keyMinute * MINUTE_MS + sinceMinute };
    },
    put(key: string, keyMinute: number, entry: StoredEntry | undefined): void {
      if (entry === undefined) {
        const bucket = byMinute.get(keyMinute);
        if (bucket === undefined) return;
        const [within, id] = locate(bucket, key);
        if (!within.delete(id)) return;
        size--;
        if (bucket.byEventId.size === 0 && bucket.byRest.size === 0) byMinute.delete(keyMinute);
        return;
      }
      if (entry.kind !== 'seen') throw new TypeError(`state key ${key} is a dedupe key, but its entry is a ${entry.kind} entry`);
      const bucket = bucketFor(keyMinute);
      const [within, id] = locate(bucket, key);
      set(keyMinute, bucket, within, id, entry.expiresAtMs);
    },
    /** `WorkingState.markSeen`: the entry its `stateKey.seen` key names, found and written without that key. */
    mark(record: DeliveredRecord, expiresAtMs: number): boolean {
      // As `dedupeKeyOf`: the shared id first, then the record's own; a network activity event's own id apart.
      const network = record.kind === 'vpce';
      const shared = network ? undefined : record.sharedEventId;
      if (shared === undefined && record.eventId === '') return true;
      const keyMinute = seenMinuteOf(record.eventTimeMs);
      const bucket = bucketFor(keyMinute);
      const within = shared === undefined && !network ? bucket.byEventId : bucket.byRest;
      const id = network ? `${NETWORK_EVENT_ID_PREFIX}${record.eventId}` : shared === undefined ? record.eventId : `${SHARED_EVENT_ID_PREFIX}${shared}`;
      if (within.has(id)) return false;
      set(keyMinute, bucket, within, id, expiresAtMs);
      return true;
    },
    expire(watermarkMs: number): void {
      const obsolete = (expiresAtMs: number): boolean => (Math.floor(expiresAtMs / MINUTE_MS) + 1) * MINUTE_MS <= watermarkMs;
      for (let minutes = expiring.takeBefore(watermarkMs); minutes !== undefined; minutes = expiring.takeBefore(watermarkMs)) {
        for (const keyMinute of minutes) {
          const bucket = byMinute.get(keyMinute);
          // Gone, or queued again for an earlier minute since (that turn handled it).
          if (bucket === undefined || (bucket.queuedMinute + 1) * MINUTE_MS > watermarkMs) continue;
          // Usually every entry of the minute is obsolete together (one retention after the same minute of event time).
          if (obsolete(bucket.latestMs)) {
            size -= bucket.byEventId.size + bucket.byRest.size;
            byMinute.delete(keyMinute);
            continue;
          }
          let earliest = Number.POSITIVE_INFINITY;
          // forEach rather than for-of: no [id, expiry] pair is built for each of the minute's records.
          const sweep = (within: Map<string, number>): void =>
            within.forEach((sinceMinute, id) => {
              const expiresAtMs = keyMinute * MINUTE_MS + sinceMinute;
              if (obsolete(expiresAtMs)) {
                within.delete(id);
                size--;
              } else if (expiresAtMs < earliest) earliest = expiresAtMs;
            });
          sweep(bucket.byEventId);
          sweep(bucket.byRest);
          if (bucket.byEventId.size === 0 && bucket.byRest.size === 0) byMinute.delete(keyMinute);
          else {
            bucket.queuedMinute = Number.POSITIVE_INFINITY;
            queue(keyMinute, bucket, earliest);
          }
        }
      }
    },
    *[Symbol.iterator](): Generator<[string, StoredEntry]> {
      for (const [keyMinute, bucket] of byMinute) {
        const prefix = `${SEEN_KEY_PREFIX}${keyMinute}#`;
        yield* entriesOf(`${prefix}${EVENT_ID_PREFIX}`, bucket.byEventId, keyMinute);
        yield* entriesOf(prefix, bucket.byRest, keyMinute);
      }
    },
  };
};
type SeenEntries = ReturnType<typeof createSeenEntries>;

/** The store's entries as one read-only map: dedupe keys are looked up in their minute, the rest in one map. */
class StateEntries implements ReadonlyMap<string, StoredEntry> {
  readonly #others: ReadonlyMap<string, StoredEntry>;
  readonly #seen: SeenEntries;

  constructor(others: ReadonlyMap<string, StoredEntry>, seen: SeenEntries) {
    this.#others = others;
    this.#seen = seen;
  }

  get size(): number {
    return this.#others.size + this.#seen.size;
  }

  get(key: string): StoredEntry | undefined {
    const minute = seenKeyMinute(key);
    return minute === undefined ? this.#others.get(key) : this.#seen.get(key, minute);
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  forEach(callback: (value: StoredEntry, key: string, map: ReadonlyMap<string, StoredEntry>) => void, thisArg?: unknown): void {
    for (const [key, value] of this) callback.call(thisArg, value, key, this);
  }

  *entries(): MapIterator<[string, StoredEntry]> {
    yield* this.#others;
    yield* this.#seen;
  }

  *keys(): MapIterator<string> {
    for (const [key] of this.entries()) yield key;
  }

  *values(): MapIterator<StoredEntry> {
    for (const [, value] of this.entries()) yield value;
  }

  [Symbol.iterator](): MapIterator<[string, StoredEntry]> {
    return this.entries();
  }
}

const MINUTE_MS = 60_000;

/**
 * Keys by the minute they become obsolete: a list per minute, and a binary min-heap of the minutes. Pushing is a
 * map lookup and an array push; expiry hands back whole minutes that ended before the watermark.
 */
const createMinuteQueue = <Key>() => {
  const byMinute = new Map<number, Key[]>();
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
    push(key: Key, atMs: number): void {
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
    takeBefore(watermarkMs: number): Key[] | undefined {
      const first = minutes[0];
      if (first === undefined || (first + 1) * MINUTE_MS > watermarkMs) return undefined;
      popMinute();
      const keys = byMinute.get(first);
      byMinute.delete(first);
      return keys;
    },
  };
};
