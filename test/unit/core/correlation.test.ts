import { describe, expect, it } from 'vitest';
import { createRecordProcessor, type RecordProcessor } from '#app/process-records.ts';
import { createMemoryStateStore, type MemoryStateStore } from '#adapters/memory/memory-state-store.ts';
import { copySourceArn, createWatermarks, s3Targets } from '#core/correlation/correlate.ts';
import { createEngine } from '#core/engine.ts';
import { DEFAULT_ENGINE_CONFIG } from '#core/engine-config.ts';
import type { KmsCall } from '#core/events/types.ts';
import { ALL_RULES } from '#core/rules/registry.ts';
import { ACCOUNT, BASE_TIME_MS, kmsEvent, kmsRecord, minutes, s3Record } from '#core/testing/builders.ts';
import { createWorkingState, stateKey, type StateEntry } from '#core/state.ts';
import { normalizeRecord } from '#core/events/normalize.ts';

const analyst = { role: 'Analyst', session: 'alice' } as const;
const OBJECT = 'arn:aws:s3:::reports/q3.pdf';

const decrypt = (atMs: number, o: Partial<Parameters<typeof kmsRecord>[0]> = {}) => kmsRecord({ who: analyst, s3Arn: OBJECT, atMs, ...o });
const getObject = (atMs: number, o: Partial<Parameters<typeof s3Record>[0]> = {}) => s3Record({ who: analyst, bucket: 'reports', key: 'q3.pdf', sourceIp: '203.0.113.7', vpcEndpointId: 'vpce-9', bytesOut: 4096, atMs, ...o });

interface Run {
  readonly processor: RecordProcessor;
  readonly store: MemoryStateStore;
  readonly decided: KmsCall[];
  batch(records: readonly unknown[]): Promise<void>;
  flush(): Promise<void>;
}

const pipeline = (eventTimes?: { readonly fromMs: number; readonly toMs: number }): Run => {
  const store = createMemoryStateStore();
  const processor = createRecordProcessor({ engine: createEngine({ rules: ALL_RULES, config: DEFAULT_ENGINE_CONFIG }), store, clock: { nowMs: () => Date.UTC(2026, 10, 22) }, checkStatePlanning: true, ...(eventTimes !== undefined ? { eventTimes } : {}) });
  const decided: KmsCall[] = [];
  return {
    processor,
    store,
    decided,
    async batch(records) {
      decided.push(...(await processor.processBatch({ file: 'f', records, firstIndex: 0 })).decidedKmsCalls);
      expect([...processor.unplannedStateReads]).toEqual([]);
    },
    async flush() {
      decided.push(...(await processor.flush()).decidedKmsCalls);
      expect([...processor.unplannedStateReads]).toEqual([]);
    },
  };
};

const only = (run: Run): KmsCall => {
  expect(run.decided).toHaveLength(1);
  return run.decided[0] as KmsCall;
};

describe('KMS ↔ S3 correlation', () => {
  it('matches a same-second Decrypt and GetObject on principal session and object, carrying the real request', async () => {
    const run = pipeline();

    await run.batch([decrypt(BASE_TIME_MS), getObject(BASE_TIME_MS)]);

    const call = only(run);
    expect(call.correlation).toBe('object');
    expect(call.s3Request).toMatchObject({ operation: 'GetObject', sourceIp: '203.0.113.7', vpcEndpointId: 'vpce-9', bytesOut: 4096, bucket: 'reports', objectKey: 'q3.pdf' });
    expect(run.processor.summary.correlations).toEqual({ object: 1, bucket: 0, none: 0 });
  });

  it('matches a pair skewed within the window, and not one skewed beyond it', async () => {
    const within = pipeline();
    await within.batch([decrypt(BASE_TIME_MS), getObject(BASE_TIME_MS + 40_000)]);
    expect(only(within).correlation).toBe('object');

    const beyond = pipeline();
    await beyond.batch([decrypt(BASE_TIME_MS), getObject(BASE_TIME_MS + minutes(3))]);
    await beyond.flush();
    expect(only(beyond).correlation).toBe('none');
  });

  it('matches when the GetObject is delivered before the Decrypt', async () => {
    const run = pipeline();

    await run.batch([getObject(BASE_TIME_MS + 1_000)]);
    await run.batch([decrypt(BASE_TIME_MS)]);

    expect(only(run).correlation).toBe('object');
  });

  it('matches halves that arrive in different batches (files or Lambda invocations)', async () => {
    const run = pipeline();

    await run.batch([decrypt(BASE_TIME_MS)]);
    expect(run.decided).toHaveLength(0);
    await run.batch([getObject(BASE_TIME_MS + 2_000)]);

    expect(only(run).s3Request?.sourceIp).toBe('203.0.113.7');
  });

  it('decides each KMS call once when both halves are delivered twice', async () => {
    const run = pipeline();
    const k = decrypt(BASE_TIME_MS, { eventId: 'k1' });
    const g = getObject(BASE_TIME_MS, { eventId: 'g1' });

    await run.batch([k, g, k]);
    await run.batch([g, k]);
    await run.flush();

    expect(only(run).correlation).toBe('object');
    expect(run.processor.summary.records.skippedByReason.get('duplicate')).toBe(3);
  });

  it('pairs repeated reads of one object one to one, nearest first', async () => {
    const run = pipeline();

    await run.batch([decrypt(BASE_TIME_MS), decrypt(BASE_TIME_MS + 10_000), getObject(BASE_TIME_MS + 10_500, { eventId: 'second' }), getObject(BASE_TIME_MS + 200, { eventId: 'first' })]);

    expect(run.decided.map((c) => [c.eventTimeMs - BASE_TIME_MS, c.s3Request?.eventId])).toEqual([[0, 'first'], [10_000, 'second']]);
  });

  it('does not match another session of the same role', async () => {
    const run = pipeline();

    await run.batch([decrypt(BASE_TIME_MS), getObject(BASE_TIME_MS, { who: { role: 'Analyst', session: 'mallory' } })]);
    await run.flush();

    expect(only(run).correlation).toBe('none');
  });

  it('matches an S3 Bucket Key decrypt at bucket level and says so; later reads are covered without waiting', async () => {
    const run = pipeline();

    await run.batch([decrypt(BASE_TIME_MS, { s3Arn: 'arn:aws:s3:::reports' }), getObject(BASE_TIME_MS + 300), getObject(BASE_TIME_MS + minutes(2), { key: 'later.pdf' })]);
    await run.flush();

    const call = only(run);
    expect(call.correlation).toBe('bucket');
    expect(call.s3Request?.objectKey).toBe('q3.pdf');
    expect(run.processor.summary.buckets.get('reports')).toMatchObject({ bucketKeyCalls: 1, dataEvents: 2 });
  });

  it('matches CopyObject to the Decrypt of its source and the GenerateDataKey of its destination', async () => {
    const run = pipeline();
    const copy = s3Record({ who: analyst, eventName: 'CopyObject', bucket: 'archive', key: 'copy/q3.pdf', copySource: 'reports/q3.pdf?versionId=abc', atMs: BASE_TIME_MS });

    await run.batch([decrypt(BASE_TIME_MS), kmsRecord({ who: analyst, eventName: 'GenerateDataKey', s3Arn: 'arn:aws:s3:::archive/copy/q3.pdf', atMs: BASE_TIME_MS }), copy]);

    expect(run.decided.map((c) => [c.eventName, c.correlation, c.s3Request?.operation]).sort()).toEqual([
      ['Decrypt', 'object', 'CopyObject'],
      ['GenerateDataKey', 'object', 'CopyObject'],
    ]);
  });

  it('matches a multipart upload: GenerateDataKey with CreateMultipartUpload, Decrypt with each UploadPart', async () => {
    const run = pipeline();
    const target = 'arn:aws:s3:::reports/big.bin';
    const s3 = (eventName: string, atMs: number) => s3Record({ who: analyst, eventName, bucket: 'reports', key: 'big.bin', atMs });

    await run.batch([
      kmsRecord({ who: analyst, eventName: 'GenerateDataKey', s3Arn: target, atMs: BASE_TIME_MS }),
      s3('CreateMultipartUpload', BASE_TIME_MS),
      kmsRecord({ who: analyst, s3Arn: target, atMs: BASE_TIME_MS + 5_000 }),
      s3('UploadPart', BASE_TIME_MS + 5_000),
      kmsRecord({ who: analyst, s3Arn: target, atMs: BASE_TIME_MS + 9_000 }),
      s3('UploadPart', BASE_TIME_MS + 9_000),
    ]);

    expect(run.decided.map((c) => [c.eventName, c.correlation, c.s3Request?.operation])).toEqual([
      ['GenerateDataKey', 'object', 'CreateMultipartUpload'],
      ['Decrypt', 'object', 'UploadPart'],
      ['Decrypt', 'object', 'UploadPart'],
    ]);
  });

  it('decides a waiting call as unmatched once the stream has moved past its deadline, without a flush', async () => {
    const run = pipeline();

    await run.batch([decrypt(BASE_TIME_MS)]);
    await run.batch([kmsRecord({ who: { role: 'App' }, context: { app: 'x' }, atMs: BASE_TIME_MS + minutes(30) })]);
    await run.batch([kmsRecord({ who: { role: 'App' }, context: { app: 'x' }, atMs: BASE_TIME_MS + minutes(31) })]);

    expect(only(run).correlation).toBe('none');
  });

  it('decides calls that fall due together in event-time order, whatever order their slots were written in', async () => {
    const run = pipeline();
    // The later call's slot is written first (an S3 read parks there), the earlier call's slot after it.
    await run.batch([getObject(BASE_TIME_MS - minutes(5), { key: 'b.pdf' }), decrypt(BASE_TIME_MS + 2_000, { s3Arn: 'arn:aws:s3:::reports/b.pdf', eventId: 'late' }), decrypt(BASE_TIME_MS, { s3Arn: 'arn:aws:s3:::reports/a.pdf', eventId: 'early' })]);
    await run.flush();

    expect(run.decided.map((e) => [e.eventId, e.correlation])).toEqual([['early', 'none'], ['late', 'none']]);
  });

  it('raises s3-decrypt-without-object-access only in a bucket whose reads are logged', async () => {
    const logged = pipeline();
    await logged.batch([getObject(BASE_TIME_MS - minutes(60), { key: 'other.pdf' }), decrypt(BASE_TIME_MS)]);
    const findings = (await logged.processor.flush()).findings;
    expect(findings.map((f) => f.ruleId)).toEqual(['s3-decrypt-without-object-access']);

    const unlogged = pipeline();
    await unlogged.batch([decrypt(BASE_TIME_MS)]);
    expect((await unlogged.processor.flush()).findings).toEqual([]);
  });

  it('keeps state bounded: waiting halves and slots go once decided and past the watermark', async () => {
    const run = pipeline();
    for (let b = 0; b < 40; b++) {
      const t = BASE_TIME_MS + minutes(b * 10);
      await run.batch(Array.from({ length: 50 }, (_, i) => [decrypt(t + i * 1_000, { s3Arn: `arn:aws:s3:::reports/o-${b}-${i}` }), getObject(t + i * 1_000 + 500, { key: `o-${b}-${i}` })]).flat());
    }
    await run.flush();

    const slots = [...run.store.entries.keys()].filter((k) => k.startsWith('corr#'));
    expect(run.decided).toHaveLength(2_000);
    expect(slots.length).toBeLessThan(300);
  });
});

describe('correlation at the edges of a replay\'s window of time (--from, --to)', () => {
  const WINDOW_MS = DEFAULT_ENGINE_CONFIG.correlation.windowMs;

  it('matches a call just inside --to with its S3 request just after it, and counts the request as skipped', async () => {
    const run = pipeline({ fromMs: BASE_TIME_MS - minutes(120), toMs: BASE_TIME_MS + 100 });
    // A read of another object an hour before: the bucket's reads are logged, so an unmatched call would be a finding.
    const batch = await run.processor.processBatch({ file: 'f', records: [getObject(BASE_TIME_MS - minutes(60), { key: 'other.pdf' }), decrypt(BASE_TIME_MS)], firstIndex: 0 });
    const next = await run.processor.processBatch({ file: 'g', records: [getObject(BASE_TIME_MS + 500, { eventId: 'after-to' })], firstIndex: 0 });
    const flushed = await run.processor.flush();
    run.decided.push(...batch.decidedKmsCalls, ...next.decidedKmsCalls, ...flushed.decidedKmsCalls);

    expect(only(run)).toMatchObject({ correlation: 'object', s3Request: { eventId: 'after-to', sourceIp: '203.0.113.7' } });
    expect([...batch.findings, ...next.findings, ...flushed.findings]).toEqual([]);
    const { summary } = run.processor;
    expect(summary.records).toMatchObject({ read: 3, processed: 2, skipped: 1 });
    expect(summary.records.skippedByReason.get('outside-time-range')).toBe(1);
    // Only the read inside the window counts as one of the bucket's data events.
    expect(summary.buckets.get('reports')).toMatchObject({ dataEvents: 1 });
  });

  it('matches a call just inside --from with its S3 request just before it, delivered in a later file', async () => {
    const run = pipeline({ fromMs: BASE_TIME_MS, toMs: BASE_TIME_MS + minutes(120) });

    await run.batch([decrypt(BASE_TIME_MS + 200)]);
    await run.batch([getObject(BASE_TIME_MS - 800, { eventId: 'before-from' })]);

    expect(only(run)).toMatchObject({ correlation: 'object', s3Request: { eventId: 'before-from' } });
    expect(run.processor.summary.records.skippedByReason.get('outside-time-range')).toBe(1);
  });

  it('leaves out S3 requests farther from the window than the correlation window', async () => {
    const run = pipeline({ fromMs: BASE_TIME_MS - minutes(120), toMs: BASE_TIME_MS });

    // Within the correlation window of the call, but beyond that of the window's edge.
    await run.batch([decrypt(BASE_TIME_MS - 30_000), getObject(BASE_TIME_MS + WINDOW_MS + 1)]);
    await run.flush();

    expect(only(run).correlation).toBe('none');
  });

  it('matches one call with an S3 request outside the window delivered twice, and counts neither copy a duplicate', async () => {
    const run = pipeline({ fromMs: BASE_TIME_MS - minutes(120), toMs: BASE_TIME_MS + 100 });
    const after = getObject(BASE_TIME_MS + 500, { eventId: 'after-to' });

    await run.batch([decrypt(BASE_TIME_MS, { eventId: 'first' }), decrypt(BASE_TIME_MS + 50, { eventId: 'second' }), after]);
    await run.batch([after]);
    await run.flush();

    expect(run.decided.map((c) => [c.eventId, c.correlation]).sort()).toEqual([['first', 'none'], ['second', 'object']]);
    expect(run.processor.summary.records.skippedByReason.get('outside-time-range')).toBe(2);
    expect(run.processor.summary.records.skippedByReason.get('duplicate')).toBeUndefined();
  });

  it('judges no event outside the window, S3 requests near its edges included', async () => {
    // A write under a key its writer provided (SSE-C): a finding wherever it is judged.
    const put = s3Record({ who: analyst, eventName: 'PutObject', bucket: 'reports', key: 'ransom.txt', sseApplied: 'SSE_C', atMs: BASE_TIME_MS - 1_000 });
    const findingsOf = async (run: Run): Promise<string[]> => [...(await run.processor.processBatch({ file: 'f', records: [put], firstIndex: 0 })).findings, ...(await run.processor.flush()).findings].map((f) => f.ruleId);
    expect(await findingsOf(pipeline({ fromMs: BASE_TIME_MS - 2_000, toMs: BASE_TIME_MS + minutes(120) }))).toEqual(['s3-put-without-required-kms']);

    const justOutside = pipeline({ fromMs: BASE_TIME_MS, toMs: BASE_TIME_MS + minutes(120) });

    expect(await findingsOf(justOutside)).toEqual([]);
    expect(justOutside.processor.summary.records).toMatchObject({ read: 1, processed: 0, skipped: 1 });
  });
});

describe('correlation helpers', () => {
  it('reads CopyObject sources in their logged forms', () => {
    expect(copySourceArn('reports/q3.pdf')).toBe('arn:aws:s3:::reports/q3.pdf');
    expect(copySourceArn('/reports/a%20b.pdf?versionId=1')).toBe('arn:aws:s3:::reports/a b.pdf');
    expect(copySourceArn('%E0%A4%A')).toBeUndefined();
    expect(copySourceArn('bucket-only')).toBeUndefined();
  });

  it('maps S3 operations to the KMS calls S3 makes for them', () => {
    const targets = (eventName: string) => {
      const r = normalizeRecord(s3Record({ eventName, bucket: 'b', key: 'k' }));
      return r.ok && r.event.kind === 's3' ? s3Targets(r.event).map((t) => t.family) : [];
    };

    expect(targets('GetObject')).toEqual(['decrypt']);
    expect(targets('PutObject')).toEqual(['generate']);
    expect(targets('HeadObject')).toEqual([]);
    expect(targets('DeleteObject')).toEqual([]);
  });

  it("moves each stream's watermark forward only, streams interleaved, reading a stream's stored watermark once in a run", () => {
    const stored = new Map<string, StateEntry>([[stateKey.watermark(`${ACCOUNT}|us-east-1`), { kind: 'watermark', maxEventTimeMs: BASE_TIME_MS + minutes(5) }]]);
    const inner = createWorkingState(stored);
    let reads = 0;
    const state = { ...inner, get: (key: string) => (reads++, inner.get(key)) };
    const watermarks = createWatermarks(state, minutes(2));
    const at = (m: number, region = 'us-east-1') => kmsEvent({ atMs: BASE_TIME_MS + minutes(m), region });

    // Late: more than the 2 minutes behind its stream (4 behind the stored 5 minutes, then 3 behind 6; 1 is not).
    expect([at(1), at(6), at(2, 'eu-west-1'), at(3), at(1, 'eu-west-1')].map((e) => watermarks.advance(e))).toEqual([true, false, false, true, false]);

    expect(inner.get(stateKey.watermark(`${ACCOUNT}|us-east-1`))).toEqual({ kind: 'watermark', maxEventTimeMs: BASE_TIME_MS + minutes(6) });
    expect(inner.get(stateKey.watermark(`${ACCOUNT}|eu-west-1`))).toEqual({ kind: 'watermark', maxEventTimeMs: BASE_TIME_MS + minutes(2) });
    expect(reads).toBe(4); // one per change of stream
  });
});
