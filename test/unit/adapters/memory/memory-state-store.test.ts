import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createMemoryStateStore } from '#adapters/memory/memory-state-store.ts';
import { dedupeKeyOf } from '#core/events/normalize.ts';
import { createWriteThroughState, seenKeyMinute, stateKey, type DeliveredRecord, type StateEntry } from '#core/state.ts';
import type { StoredEntry } from '#core/ports.ts';

const MINUTE = 60_000;
const T = Date.UTC(2026, 11, 2);
const seen = (atMs: number): StoredEntry => ({ kind: 'seen', expiresAtMs: atMs });

describe('memory state store expiry', () => {
  it('drops entries once event time has passed the minute they become obsolete, in any order they were saved', async () => {
    const store = createMemoryStateStore();
    // Saved out of order, across minutes.
    await store.save(new Map([['seen#c', seen(T + 3 * MINUTE + 5)], ['seen#a', seen(T + 10)], ['seen#b', seen(T + MINUTE + 10)]]));

    await store.expire?.(T + MINUTE);
    expect([...store.entries.keys()].sort()).toEqual(['seen#b', 'seen#c']);

    await store.expire?.(T + 2 * MINUTE + 1);
    expect([...store.entries.keys()]).toEqual(['seen#c']);

    await store.expire?.(T + 10 * MINUTE);
    expect(store.entries.size).toBe(0);
  });

  it('keeps an entry a later save moved past the watermark, and a slot that still holds a KMS call', async () => {
    const store = createMemoryStateStore();
    const slot = (kms: number): StoredEntry => ({ kind: 'correlation', partition: 'p', dueMs: T + 5 * MINUTE, expiresMs: T, kms: Array.from({ length: kms }, () => ({ event: {} as never, deadlineMs: T + 5 * MINUTE })), s3: [] });
    await store.save(new Map([['seen#x', seen(T)], ['corr#waiting', slot(1)], ['corr#done', slot(0)]]));
    await store.save(new Map([['seen#x', seen(T + 30 * MINUTE)]]));

    await store.expire?.(T + 2 * MINUTE);
    expect([...store.entries.keys()].sort()).toEqual(['corr#waiting', 'seen#x']);

    await store.save(new Map([['corr#waiting', slot(0)]]));
    await store.expire?.(T + 40 * MINUTE);
    expect(store.entries.size).toBe(0);
  });
});

describe('memory state store: dedupe entries', () => {
  const key = (minute: number, id: string): string => `seen#${minute}#e:${id}`;
  const minuteOf = (ms: number): number => Math.floor(ms / MINUTE);

  it('reads the minute of a dedupe key, and takes any other key for an ordinary one', () => {
    expect(seenKeyMinute(key(29_000_000, 'a'))).toBe(29_000_000);
    expect(seenKeyMinute('seen#0#s:shared')).toBe(0);
    for (const other of ['seen#c', 'seen##e:a', 'seen#12a#e:a', 'seen#-5#e:a', 'seen#1234567890123456#e:a', 'seen#42', 'win#r#1#g', 'pb#seen#1#x']) {
      expect(seenKeyMinute(other)).toBeUndefined();
    }
  });

  it('holds dedupe entries apart yet reads, loads, counts and lists them with the rest', async () => {
    const a = key(minuteOf(T), 'a');
    const b = key(minuteOf(T) + 1, 'b');
    const store = createMemoryStateStore([[a, seen(T + 10)], ['alias#1#alias/x', { kind: 'alias', keyArn: 'k' }]]);
    await store.save(new Map([[b, seen(T + MINUTE + 10)]]));

    expect(store.entries.size).toBe(3);
    expect(store.entries.get(a)).toEqual(seen(T + 10));
    expect(store.entries.has(b)).toBe(true);
    expect(store.entries.has(key(minuteOf(T), 'b'))).toBe(false);
    expect([...(await store.load([a, b, 'alias#1#alias/x', key(minuteOf(T), 'z')])).keys()]).toEqual([a, b, 'alias#1#alias/x']);
    expect(new Map(store.entries)).toEqual(new Map<string, StoredEntry>([['alias#1#alias/x', { kind: 'alias', keyArn: 'k' }], [a, seen(T + 10)], [b, seen(T + MINUTE + 10)]]));
    expect([...store.entries.keys()].sort()).toEqual([...store.entries.entries()].map(([k]) => k).sort());
    expect([...store.entries.values()]).toHaveLength(3);

    await store.save(new Map([[a, undefined]]));
    expect(store.entries.get(a)).toBeUndefined();
    expect(store.entries.size).toBe(2);
  });

  it('drops each dedupe entry at the first expiry past the minute it becomes obsolete, as one map of them would (property)', async () => {
    // A few ids over a few key minutes, saved, updated and deleted in any order, with expiries in between.
    const keys = fc.constantFrom(...[0, 1, 2].flatMap((m) => ['a', 'b', 'c'].map((id) => key(minuteOf(T) + m, id))));
    const op = fc.oneof(
      fc.record({ save: fc.array(fc.tuple(keys, fc.option(fc.integer({ min: -MINUTE, max: 6 * MINUTE }), { nil: undefined })), { minLength: 1, maxLength: 6 }) }),
      fc.record({ expire: fc.integer({ min: 0, max: 8 * MINUTE }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 30 }), async (ops) => {
        const store = createMemoryStateStore();
        const model = new Map<string, StoredEntry>();
        for (const o of ops) {
          if ('save' in o) {
            const changes = new Map(o.save.map(([k, at]) => [k, at === undefined ? undefined : seen(T + at)] as const));
            await store.save(changes);
            for (const [k, entry] of changes) {
              if (entry === undefined) model.delete(k);
              else model.set(k, entry);
            }
          } else {
            await store.expire?.(T + o.expire);
            for (const [k, entry] of model) {
              if (entry.kind === 'seen' && (minuteOf(entry.expiresAtMs) + 1) * MINUTE <= T + o.expire) model.delete(k);
            }
          }
          expect(new Map([...store.entries].sort(([x], [y]) => x.localeCompare(y)))).toEqual(new Map([...model].sort(([x], [y]) => x.localeCompare(y))));
          expect(store.entries.size).toBe(model.size);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('memory state store: writing through', () => {
  it('takes each write at once, as save would, and leaves the batch nothing to save', async () => {
    const store = createMemoryStateStore(undefined, { writeThrough: true });
    const working = createWriteThroughState(store.entries as ReadonlyMap<string, StateEntry>, store.write as NonNullable<typeof store.write>);
    const dedupe = stateKey.seen('id-1', T);
    const slot: StateEntry = { kind: 'correlation', partition: '1|us-east-1', dueMs: T + MINUTE, expiresMs: 0, kms: [{ event: {} as never, deadlineMs: T + MINUTE }], s3: [] };

    working.set(dedupe, { kind: 'seen', expiresAtMs: T + MINUTE });
    working.set('corr#decrypt#s#o', slot);
    expect(working.get(dedupe)).toEqual(seen(T + MINUTE));
    expect(store.entries.get('corr#decrypt#s#o')).toBe(slot);
    // The waiting call is due once its stream's watermark passes its deadline, as after a save.
    await store.save(new Map([['watermark#1|us-east-1', { kind: 'watermark', maxEventTimeMs: T + 2 * MINUTE }]]));
    expect([...(await store.takeDue()).keys()]).toEqual(['corr#decrypt#s#o']);

    working.delete('corr#decrypt#s#o');
    expect(store.entries.has('corr#decrypt#s#o')).toBe(false);
    expect((await store.takeDue()).size).toBe(0);
    expect(working.changes().size).toBe(0);
    expect(createMemoryStateStore().write).toBeUndefined();
  });
});

describe('memory state store: marking records seen without their keys (markSeen)', () => {
  const throughKeys = () => {
    const store = createMemoryStateStore(undefined, { writeThrough: true });
    // No markSeen given: the working state builds each record's key and writes its entry.
    return { store, state: createWriteThroughState(store.entries as ReadonlyMap<string, StateEntry>, store.write as NonNullable<typeof store.write>) };
  };
  const direct = () => {
    const store = createMemoryStateStore(undefined, { writeThrough: true });
    return { store, state: createWriteThroughState(store.entries as ReadonlyMap<string, StateEntry>, store.write as NonNullable<typeof store.write>, store.markSeen) };
  };

  it('writes the entry the record\'s stateKey.seen key names, tells duplicates, and prefers the shared id as dedupeKeyOf does', () => {
    const { store, state } = direct();
    expect(store.markSeen).toBeTypeOf('function');
    expect(createMemoryStateStore().markSeen).toBeUndefined();
    const own: DeliveredRecord = { eventId: 'e-1', eventTimeMs: T + 30_000 };
    const shared: DeliveredRecord = { eventId: 'e-2', sharedEventId: 'sh-1', eventTimeMs: T + 90_000 };

    expect(state.markSeen(own, T + 5 * MINUTE)).toBe(true);
    expect(state.markSeen(shared, T + 6 * MINUTE)).toBe(true);
    expect(state.markSeen({ ...own }, T + 9 * MINUTE)).toBe(false);
    // The same sharedEventID under another eventID (the copy another account received) is the same record.
    expect(state.markSeen({ ...shared, eventId: 'e-3' }, T + 9 * MINUTE)).toBe(false);
    // Nothing to deduplicate by: always new, nothing written.
    expect(state.markSeen({ eventId: '', eventTimeMs: T }, T)).toBe(true);
    expect(state.markSeen({ eventId: '', eventTimeMs: T }, T)).toBe(true);

    const ownKey = stateKey.seen(dedupeKeyOf(own) as string, own.eventTimeMs);
    const sharedKey = stateKey.seen(dedupeKeyOf(shared) as string, shared.eventTimeMs);
    expect(ownKey).toBe(`seen#${Math.floor(own.eventTimeMs / MINUTE)}#e:e-1`);
    expect(new Map(store.entries)).toEqual(new Map([[ownKey, seen(T + 5 * MINUTE)], [sharedKey, seen(T + 6 * MINUTE)]]));
    expect(store.entries.get(sharedKey)).toEqual(seen(T + 6 * MINUTE));
    expect(state.get(ownKey)).toEqual(seen(T + 5 * MINUTE));

    // A key-based write and a deletion reach the same entries.
    state.delete(ownKey);
    expect(state.markSeen(own, T + 7 * MINUTE)).toBe(true);
    expect(store.entries.get(ownKey)).toEqual(seen(T + 7 * MINUTE));
  });

  it('writes a network activity event\'s entry where dedupeKeyOf names it, apart from the call whose sharedEventID it carries', () => {
    const { store, state } = direct();
    const network: DeliveredRecord = { kind: 'vpce', eventId: 'n-1', sharedEventId: 'sh-9', eventTimeMs: T + 30_000 };
    const call: DeliveredRecord = { eventId: 'e-9', sharedEventId: 'sh-9', eventTimeMs: T + 30_000 };

    expect(state.markSeen(network, T + 5 * MINUTE)).toBe(true);
    expect(state.markSeen(call, T + 5 * MINUTE)).toBe(true);
    expect(state.markSeen({ ...network }, T + 9 * MINUTE)).toBe(false);

    const networkKey = stateKey.seen(dedupeKeyOf(network) as string, network.eventTimeMs);
    expect(networkKey).toBe(`seen#${Math.floor(network.eventTimeMs / MINUTE)}#v:n-1`);
    expect(new Map(store.entries)).toEqual(new Map([[networkKey, seen(T + 5 * MINUTE)], [stateKey.seen(dedupeKeyOf(call) as string, call.eventTimeMs), seen(T + 5 * MINUTE)]]));
  });

  it('refuses an entry of another kind under a dedupe key instead of losing it', () => {
    const { state } = direct();
    expect(() => state.set(stateKey.seen('e:x', T), { kind: 'alias', keyArn: 'k' })).toThrow(/dedupe key, but its entry is a alias entry/);
  });

  it('answers and leaves the same entries as writing each record\'s key, through saves, deletions and expiry (property)', () => {
    const record = fc.record({
      eventId: fc.constantFrom('a', 'b', '', '__proto__', 'e:x'),
      sharedEventId: fc.option(fc.constantFrom('s1', 's2', 'constructor'), { nil: undefined }),
      atMs: fc.integer({ min: 0, max: 4 * MINUTE }),
    }).map(({ eventId, sharedEventId, atMs }): DeliveredRecord => ({ eventId, eventTimeMs: T + atMs, ...(sharedEventId !== undefined ? { sharedEventId } : {}) }));
    const op = fc.oneof(
      { weight: 5, arbitrary: fc.record({ mark: record, keepMs: fc.integer({ min: -MINUTE, max: 5 * MINUTE }) }) },
      { weight: 1, arbitrary: fc.record({ forget: record }) },
      { weight: 1, arbitrary: fc.record({ expire: fc.integer({ min: 0, max: 10 * MINUTE }) }) },
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const byKey = throughKeys();
        const marked = direct();
        for (const o of ops) {
          if ('mark' in o) expect(marked.state.markSeen(o.mark, o.mark.eventTimeMs + o.keepMs)).toBe(byKey.state.markSeen(o.mark, o.mark.eventTimeMs + o.keepMs));
          else if ('forget' in o) {
            const dedupeKey = dedupeKeyOf(o.forget);
            if (dedupeKey === undefined) continue;
            for (const s of [byKey, marked]) s.state.delete(stateKey.seen(dedupeKey, o.forget.eventTimeMs));
          } else for (const s of [byKey, marked]) void s.store.expire?.(T + o.expire);
          const sorted = (m: ReadonlyMap<string, StoredEntry>) => new Map([...m].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));
          expect(sorted(marked.store.entries)).toEqual(sorted(byKey.store.entries));
          expect(marked.store.entries.size).toBe(byKey.store.entries.size);
        }
      }),
      { numRuns: 300 },
    );
  });
});
