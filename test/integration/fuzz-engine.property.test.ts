import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createMemoryStateStore } from '#adapters/memory/memory-state-store.ts';
import { createRecordProcessor } from '#app/process-records.ts';
import { createEngine } from '#core/engine.ts';
import { toAsff } from '#core/findings/asff.ts';
import { ALL_RULES, ruleById } from '#core/rules/registry.ts';
import { BASE_TIME_MS, kmsRecord, otherRecord, s3Record } from '#core/testing/builders.ts';

/** Plausible records with hostile values: the engine must take any of them. */
const who = fc.oneof(
  fc.record({ role: fc.string({ maxLength: 40 }), session: fc.string({ maxLength: 40 }) }),
  fc.record({ user: fc.string({ maxLength: 40 }) }),
  fc.constant({ root: true } as const),
  fc.record({ service: fc.constantFrom('s3.amazonaws.com', 'lambda.amazonaws.com', '__proto__') }),
);
const text = fc.oneof(fc.string({ maxLength: 60 }), fc.constantFrom('__proto__', 'constructor', 'prototype', '\u202eexe.pdf', '\u0000\u001b[2J', 'x'.repeat(3000)));
const atMs = fc.integer({ min: BASE_TIME_MS - 86_400_000, max: BASE_TIME_MS + 20 * 86_400_000 });
const kms = fc.record({
  eventName: fc.constantFrom('Decrypt', 'GenerateDataKey', 'Encrypt', 'ReEncrypt', 'ScheduleKeyDeletion', 'DisableKey', 'PutKeyPolicy', 'CreateGrant', text),
  atMs, who, region: fc.constantFrom('us-east-1', 'eu-west-1', 'ap-south-1', ''),
  context: fc.option(fc.dictionary(text, text, { maxKeys: 4 }), { nil: null }),
  errorCode: fc.option(fc.constantFrom('AccessDenied', 'ThrottlingException', 'NotFoundException'), { nil: undefined }),
  s3Arn: fc.option(fc.oneof(text.map((t) => `arn:aws:s3:::b/${t}`), fc.constant('arn:aws:s3:::b')), { nil: undefined }),
  eventId: fc.option(fc.constantFrom('dup-1', 'dup-2', '__proto__'), { nil: undefined }),
  sharedEventId: fc.option(fc.constantFrom('shared-1', 'constructor'), { nil: undefined }),
}).map((o) => kmsRecord(Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined))));
const kmsKeyNamed = fc.option(fc.constantFrom('arn:aws:kms:us-east-1:999988887777:key/3f1c0000-0000-4000-8000-0000000000ff', 'arn:aws:kms:us-east-1:111122223333:key/1a2b3c4d-0000-4000-8000-00000000b002', 'arn:aws:kms:us-east-1:999988887777:alias/x', 'alias/x', '__proto__'), { nil: undefined });
const s3 = fc.record({ eventName: fc.constantFrom('GetObject', 'PutObject', 'CopyObject', 'UploadPart', 'HeadObject'), atMs, who: fc.oneof(who, fc.record({ role: fc.constantFrom('Uploader', '__proto__'), account: fc.constantFrom('111122223333', '999988887777') })), bucket: fc.constantFrom('b', 'reports', '__proto__'), key: text, sseApplied: fc.constantFrom('SSE_KMS', 'SSE_S3', 'Default_SSE_S3'), kmsKeyId: kmsKeyNamed, appliedKmsKeyId: kmsKeyNamed })
  .map(({ kmsKeyId, appliedKmsKeyId, ...o }) => s3Record({ ...o, ...(kmsKeyId !== undefined ? { kmsKeyId } : {}), ...(appliedKmsKeyId !== undefined ? { appliedKmsKeyId } : {}) }));
/**
 * Keys no other record names: an event that reads such a key's baseline finds it planned only if its own planning
 * asked for it (a shared key is planned by whichever event of the batch names it too).
 */
const keyOfItsOwn = fc.integer({ min: 0, max: 1_000_000_000 }).map((n) => `arn:aws:kms:us-east-1:999988887777:key/own-${n}`);
const reEncrypt = fc.record({ atMs, who, destination: fc.oneof(keyOfItsOwn, kmsKeyNamed.map((k) => k ?? 'alias/x')) })
  .map((o) => kmsRecord({ eventName: 'ReEncrypt', atMs: o.atMs, who: o.who, requestParameters: { destinationKeyId: o.destination } }));
const defaultEncryption = fc.record({ atMs, who, name: fc.constantFrom('PutBucketEncryption', 'DeleteBucketEncryption'), algorithm: fc.constantFrom('aws:kms', 'AES256', text), key: fc.oneof(kmsKeyNamed, keyOfItsOwn) })
  .map((o) => otherRecord('s3.amazonaws.com', o.name, { atMs: o.atMs, who: o.who, requestParameters: { bucketName: 'reports', ServerSideEncryptionConfiguration: { Rule: { ApplyServerSideEncryptionByDefault: { SSEAlgorithm: o.algorithm, ...(o.key !== undefined ? { KMSMasterKeyID: o.key } : {}) } } } } }));
const other = fc.record({ atMs, who, name: fc.constantFrom('StopLogging', 'DeleteTrail', 'PutEventSelectors', 'UpdateTrail') })
  .map((o) => otherRecord('cloudtrail.amazonaws.com', o.name, { atMs: o.atMs, who: o.who }));
const anyRecord = fc.oneof({ weight: 6, arbitrary: kms }, { weight: 3, arbitrary: s3 }, { weight: 1, arbitrary: other }, { weight: 1, arbitrary: defaultEncryption }, { weight: 1, arbitrary: reEncrypt }, { weight: 1, arbitrary: fc.anything() });

describe('the engine under generated traffic', () => {
  it('never throws, accounts for every record, renders every finding, and keeps memory bounded: 100,000 records', async () => {
    const store = createMemoryStateStore();
    const processor = createRecordProcessor({ engine: createEngine({ rules: ALL_RULES }), store, clock: { nowMs: () => BASE_TIME_MS }, ledger: 'outcome', checkStatePlanning: true });
    const heapBefore = process.memoryUsage().heapUsed;
    let total = 0;
    let findings = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(anyRecord, { minLength: 1_000, maxLength: 1_000 }), async (records) => {
        const outcome = await processor.processBatch({ file: 'fuzz', records, firstIndex: total });
        total += records.length;
        for (const f of outcome.findings) {
          const rule = ruleById(f.ruleId);
          expect(rule).toBeDefined();
          if (rule !== undefined) expect(() => JSON.stringify(toAsff(f, rule))).not.toThrow();
          findings++;
        }
      }),
      { numRuns: 100, seed: 424242 },
    );
    await processor.flush();
    const r = processor.summary.records;

    expect(total).toBe(100_000);
    expect(r.read).toBe(total);
    expect(r.processed + r.skipped + r.failed).toBe(r.read);
    expect([...processor.unplannedStateReads]).toEqual([]);
    expect(findings).toBeGreaterThan(0);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(400 * 1024 * 1024);
  }, 300_000);
});

describe('writing state through (the replay) and collecting changes (every other store)', () => {
  it('end with the same entries and the same outcome for every batch (property)', async () => {
    const run = (writeThrough: boolean) => {
      const store = createMemoryStateStore(undefined, { writeThrough });
      const processor = createRecordProcessor({ engine: createEngine({ rules: ALL_RULES }), store, clock: { nowMs: () => BASE_TIME_MS }, ledger: 'outcome' });
      return { store, processor };
    };
    // Close in time and few in names, so duplicates, correlations, windows and alias lookups happen.
    const nearMs = fc.integer({ min: BASE_TIME_MS, max: BASE_TIME_MS + 6 * 3_600_000 });
    const object = fc.constantFrom('a', 'b', 'c/d');
    const principal = fc.constantFrom({ role: 'App', session: 's1' }, { role: 'App', session: 's2' }, { user: 'alice' });
    const madeByS3 = fc.record({ atMs: nearMs, who: principal, key: object, eventId: fc.constantFrom('k1', 'k2', 'k3', 'k4', 'k5', 'k6') })
      .map((o) => kmsRecord({ eventName: 'Decrypt', atMs: o.atMs, who: o.who, s3Arn: `arn:aws:s3:::b/${o.key}`, eventId: `${o.eventId}-${o.atMs}` }));
    const read = fc.record({ atMs: nearMs, who: principal, key: object }).map((o) => s3Record({ eventName: 'GetObject', atMs: o.atMs, who: o.who, bucket: 'b', key: o.key, sseApplied: 'SSE_KMS' }));
    const batch = fc.array(fc.oneof(madeByS3, read, anyRecord), { minLength: 1, maxLength: 300 });
    await fc.assert(
      fc.asyncProperty(fc.array(batch, { minLength: 1, maxLength: 8 }), async (batches) => {
        const collected = run(false);
        const through = run(true);
        expect(collected.store.write).toBeUndefined();
        expect(through.store.write).toBeTypeOf('function');
        for (const [i, records] of batches.entries()) {
          const expected = await collected.processor.processBatch({ file: 'f', records, firstIndex: i * 1000 });
          const actual = await through.processor.processBatch({ file: 'f', records, firstIndex: i * 1000 });
          expect(actual).toEqual(expected);
        }
        expect(await through.processor.flush()).toEqual(await collected.processor.flush());
        expect(new Map(through.store.entries)).toEqual(new Map(collected.store.entries));
        expect(through.processor.summary).toEqual(collected.processor.summary);
      }),
      { numRuns: 60, seed: 7 },
    );
  }, 300_000);
});
