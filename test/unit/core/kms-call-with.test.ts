import { setFlagsFromString } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { createRecordProcessor } from '#app/process-records.ts';
import { createMemoryStateStore } from '#adapters/memory/memory-state-store.ts';
import { withCorrelation } from '#core/correlation/correlate.ts';
import { createEngine } from '#core/engine.ts';
import { DEFAULT_ENGINE_CONFIG } from '#core/engine-config.ts';
import { kmsCallWith } from '#core/events/kms-call-with.ts';
import type { KmsCall } from '#core/events/types.ts';
import { ALL_RULES } from '#core/rules/registry.ts';
import { createWorkingState } from '#core/state.ts';
import { BASE_TIME_MS, KEY_ARN, kmsEvent, kmsRecord, s3Record } from '#core/testing/builders.ts';

// V8's own answer to "do these two objects share a hidden class?", which is what the copies are for.
setFlagsFromString('--allow-natives-syntax');
const sameHiddenClass = new Function('a', 'b', 'return %HaveSameMap(a, b)') as (a: object, b: object) => boolean;

describe('kmsCallWith', () => {
  it('copies every field in the order normalizeRecord sets them, with the changes made', () => {
    const e = kmsEvent({ keyArn: null, keyId: 'alias/app', s3Arn: 'arn:aws:s3:::b/k' });

    const copy = kmsCallWith(e, { keyArn: KEY_ARN, keyAccountId: '111122223333' });

    expect(Object.keys(copy)).toEqual(Object.keys(e));
    expect(copy).toEqual({ ...e, keyArn: KEY_ARN, keyAccountId: '111122223333' });
    expect(copy).not.toBe(e);
  });

  it('leaves a field as it was when its change is undefined', () => {
    const matched = withCorrelation(kmsEvent({ s3Arn: 'arn:aws:s3:::b/k' }), 'object', { operation: 'GetObject', eventId: 'g', eventTimeMs: BASE_TIME_MS, bucket: 'b' });

    const again = kmsCallWith(matched, { correlation: 'none', s3Request: undefined });

    expect(again.correlation).toBe('none');
    expect(again.s3Request).toBe(matched.s3Request);
    expect(again.keyAlias).toBe(matched.keyAlias);
  });

  it('keeps the normalized call’s hidden class, where Node.js 20’s spread made another', () => {
    const e = kmsEvent();

    expect(sameHiddenClass(e, kmsCallWith(e, { keyAlias: 'alias/app' }))).toBe(true);
    expect(sameHiddenClass(e, kmsCallWith(kmsCallWith(e, { keyAlias: 'alias/app' }), { correlation: 'none' }))).toBe(true);
    // What the engine did before: on Node.js 20's V8 (11.3) each spread of a spread was a class of its own. V8 12.4
    // (Node.js 22, Lambda's nodejs22.x) and later keep the class for a spread too.
    const v8Major = Number(process.versions.v8.split('.')[0]);
    expect(sameHiddenClass(e, { ...e, keyAlias: 'alias/app' })).toBe(v8Major >= 12);
  });
});

describe('the KMS calls the engine hands on', () => {
  const who = { role: 'Analyst', session: 'alice' } as const;
  const normalized = kmsEvent();

  it('share the normalized calls’ hidden class once an alias is resolved or filled in', () => {
    const engine = createEngine({ rules: ALL_RULES, config: DEFAULT_ENGINE_CONFIG });
    const state = createWorkingState(new Map());
    // The first call names the key and its alias, so the engine learns both.
    engine.evaluate([kmsEvent({ keyId: 'alias/app', who })], state);

    const { accepted } = engine.evaluate([kmsEvent({ keyArn: null, keyId: 'alias/app', who, atMs: BASE_TIME_MS + 1_000 }), kmsEvent({ who, atMs: BASE_TIME_MS + 2_000 })], state);

    expect(accepted.map((e) => [e.kind === 'kms' && e.keyAlias, e.kind === 'kms' && e.keyArn])).toEqual([
      ['alias/app', KEY_ARN],
      ['alias/app', KEY_ARN],
    ]);
    for (const e of accepted) expect(sameHiddenClass(normalized, e)).toBe(true);
  });

  it('share it once correlation has matched them, or decided them unmatched', async () => {
    const processor = createRecordProcessor({ engine: createEngine({ rules: ALL_RULES, config: DEFAULT_ENGINE_CONFIG }), store: createMemoryStateStore(), clock: { nowMs: () => Date.UTC(2026, 10, 22) } });

    const batch = await processor.processBatch({
      file: 'a',
      firstIndex: 0,
      records: [
        kmsRecord({ keyId: 'alias/app', who, s3Arn: 'arn:aws:s3:::reports/q3.pdf' }),
        s3Record({ who, bucket: 'reports', key: 'q3.pdf' }),
        kmsRecord({ who, s3Arn: 'arn:aws:s3:::reports/never-read.pdf', atMs: BASE_TIME_MS + 1_000 }),
      ],
    });
    const decided: KmsCall[] = [...batch.decidedKmsCalls, ...(await processor.flush()).decidedKmsCalls];

    expect(decided.map((e) => [e.keyAlias, e.correlation])).toEqual([
      ['alias/app', 'object'],
      ['alias/app', 'none'],
    ]);
    for (const e of decided) expect(sameHiddenClass(normalized, e)).toBe(true);
  });
});
