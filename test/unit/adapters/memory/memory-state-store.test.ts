import { describe, expect, it } from 'vitest';
import { createMemoryStateStore } from '#adapters/memory/memory-state-store.ts';
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
