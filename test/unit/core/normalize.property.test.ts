import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normalizeRecord } from '#core/events/normalize.ts';
import { kmsRecord, s3Record } from '#core/testing/builders.ts';
import { allDatasetRecords, hasDatasets } from '../../helpers/datasets.ts';

const seeds = [kmsRecord(), kmsRecord({ s3Arn: 'arn:aws:s3:::b/k' }), s3Record(), ...(hasDatasets ? allDatasetRecords().slice(0, 400) : [])];

/** Replaces the value at a random path of a record with an arbitrary JSON value (wrong types, nulls, huge strings). */
const mutated = fc
  .tuple(fc.constantFrom(...seeds), fc.array(fc.nat(), { minLength: 1, maxLength: 4 }), fc.jsonValue({ maxDepth: 3 }))
  .map(([seed, path, value]) => {
    const copy = structuredClone(seed) as Record<string, unknown>;
    let node: Record<string, unknown> = copy;
    for (let i = 0; i < path.length; i++) {
      const keys = Object.keys(node);
      if (keys.length === 0) break;
      const key = keys[(path[i] ?? 0) % keys.length] as string;
      const child = node[key];
      if (i === path.length - 1 || typeof child !== 'object' || child === null) {
        node[key] = value;
        break;
      }
      node = child as Record<string, unknown>;
    }
    return copy;
  });

const fieldNames = ['eventVersion', 'eventSource', 'eventName', 'eventTime', 'eventID', 'userIdentity', 'requestParameters', 'resources', 'sourceIPAddress', 'sharedEventID', '__proto__', 'constructor', 'additionalEventData', 'errorCode'];
const randomRecord = fc.dictionary(fc.constantFrom(...fieldNames), fc.jsonValue({ maxDepth: 3 }));

describe('normalizeRecord under random and mutated input', () => {
  it('never throws and always says processed, skipped or failed', () => {
    fc.assert(
      fc.property(fc.oneof(mutated, randomRecord, fc.jsonValue({ maxDepth: 4 }), fc.anything()), (raw) => {
        const r = normalizeRecord(raw);
        expect(r.ok || r.outcome === 'skipped' || r.outcome === 'failed').toBe(true);
        if (!r.ok) expect(r.reason.length).toBeGreaterThan(0);
      }),
      { numRuns: 5_000, seed: 20261122 },
    );
  });

  it('keeps every normalized time finite and every KMS event with an event id', () => {
    fc.assert(
      fc.property(mutated, (raw) => {
        const r = normalizeRecord(raw);
        if (!r.ok) return;
        expect(Number.isFinite(r.event.eventTimeMs)).toBe(true);
        if (r.event.kind !== 'other') expect(r.event.eventId).not.toBe('');
      }),
      { numRuns: 3_000, seed: 7 },
    );
  });
});
