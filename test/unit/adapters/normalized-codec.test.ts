import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeNormalized, encodeNormalized } from '#adapters/local/normalized-codec.ts';
import { TransferCodecError } from '#adapters/local/transfer-codec.ts';
import { normalizeRecord } from '#core/events/normalize.ts';
import type { KmsCall, NormalizeResult, OtherApiCall, Principal, S3ObjectAccess } from '#core/events/types.ts';
import { kmsRecord, s3Record } from '#core/testing/builders.ts';
import { allDatasetRecords, hasDatasets } from '../../helpers/datasets.ts';

const roundTrip = (results: readonly NormalizeResult[]): NormalizeResult[] => decodeNormalized(encodeNormalized(results));

// Every field drawn on its own, so a field written in one place and read back in another cannot go unseen.
const text = fc.string({ maxLength: 12 });
const maybe = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
// fc.record makes null-prototype objects; events and their fixed-shape parts are plain ones.
const plain = <T extends object>(a: fc.Arbitrary<T>): fc.Arbitrary<T> => a.map((o) => ({ ...o }));
const principal: fc.Arbitrary<Principal> = plain(fc.record({
  type: fc.constantFrom('Root', 'IAMUser', 'AssumedRole', 'AWSService', 'Unknown'),
  id: text,
  isAwsService: fc.boolean(),
  arn: maybe(text),
  sessionName: maybe(text),
  accountId: maybe(text),
  accessKeyId: maybe(text),
}));
const base = {
  eventId: text,
  sharedEventId: maybe(text),
  eventTimeMs: fc.integer({ min: 0, max: 2 ** 45 }),
  eventName: text,
  region: text,
  principal,
  recipientAccountId: maybe(text),
  sourceIp: maybe(text),
  userAgent: maybe(text),
  vpcEndpointId: maybe(text),
  errorCode: maybe(text),
  errorMessage: maybe(text),
  readOnly: maybe(fc.boolean()),
};
const context = fc.dictionary(text, text, { maxKeys: 3 }).map((d) => Object.assign(Object.create(null) as Record<string, string>, d));
const kms: fc.Arbitrary<KmsCall> = plain(fc.record({
  ...base,
  kind: fc.constant('kms' as const),
  keyArn: maybe(text),
  keyAccountId: maybe(text),
  keyAlias: maybe(text),
  keyIdParameter: maybe(text),
  encryptionContext: maybe(context),
  s3Arn: maybe(text),
  invokedBy: maybe(text),
  madeByAwsService: fc.boolean(),
  madeByS3: fc.boolean(),
  request: plain(fc.record({ keySpec: text, encryptionAlgorithm: text }, { requiredKeys: [] })),
  correlation: maybe(fc.constantFrom('object' as const, 'bucket' as const, 'none' as const)),
  s3Request: maybe(plain(fc.record({ operation: text, eventId: text, eventTimeMs: fc.nat(), bucket: text, sourceIp: maybe(text) }))),
}));
const s3: fc.Arbitrary<S3ObjectAccess> = plain(fc.record({
  ...base,
  kind: fc.constant('s3' as const),
  bucket: text,
  objectKey: maybe(text),
  objectArn: maybe(text),
  bucketArn: text,
  bytesIn: maybe(fc.double({ noNaN: true })),
  bytesOut: maybe(fc.nat()),
  sseApplied: maybe(text),
  requestedKmsKeyId: maybe(text),
  appliedKmsKeyId: maybe(text),
  copySource: maybe(text),
  isDataEvent: fc.boolean(),
  presigned: fc.boolean(),
}));
const other: fc.Arbitrary<OtherApiCall> = plain(fc.record({
  ...base,
  kind: fc.constant('other' as const),
  eventSource: text,
  requestParameters: maybe(fc.dictionary(text, fc.jsonValue({ maxDepth: 2 }))),
}));
const result: fc.Arbitrary<NormalizeResult> = fc.oneof(
  kms.map((event) => ({ ok: true as const, event })),
  s3.map((event) => ({ ok: true as const, event })),
  other.map((event) => ({ ok: true as const, event })),
  fc.constantFrom(...(['insight-event', 'network-activity-event'] as const).map((reason) => ({ ok: false as const, outcome: 'skipped' as const, reason }))),
  text.map((reason) => ({ ok: false as const, outcome: 'failed' as const, reason })),
);

describe('normalized batch codec (reader thread → engine thread)', () => {
  it.skipIf(!hasDatasets)('gives back every normalized dataset record exactly, fields in the order normalizeRecord sets them', () => {
    const results = allDatasetRecords().map((r) => normalizeRecord(r));

    const decoded = roundTrip(results);

    expect(results.length).toBeGreaterThan(100);
    expect(decoded).toStrictEqual(results);
    decoded.forEach((d, i) => {
      const r = results[i] as NormalizeResult;
      if (d.ok && r.ok) {
        expect(Object.keys(d.event)).toEqual(Object.keys(r.event));
        expect(Object.keys(d.event.principal)).toEqual(Object.keys(r.event.principal));
      }
    });
  });

  it('gives back any event exactly, each field where it was (property)', () => {
    fc.assert(
      fc.property(fc.array(result, { maxLength: 20 }), (results) => {
        expect(roundTrip(results)).toStrictEqual(results);
      }),
      { numRuns: 300, seed: 11 },
    );
  });

  it('keeps a null-prototype encryption context null-prototype, `__proto__` a plain key', () => {
    const r = normalizeRecord(kmsRecord({ context: { __proto__: 'x', constructor: 'y' } as Record<string, string> }));
    const [decoded] = roundTrip([r, normalizeRecord(s3Record({}))]);

    expect(decoded).toStrictEqual(r);
    const contextOf = decoded?.ok && decoded.event.kind === 'kms' ? decoded.event.encryptionContext : undefined;
    expect(contextOf === undefined ? 'absent' : Object.getPrototypeOf(contextOf)).toBeNull();
    expect(({} as Record<string, unknown>)['x']).toBeUndefined();
  });

  it('refuses a damaged encoding with a typed error', () => {
    const encoded = encodeNormalized([normalizeRecord(kmsRecord({}))]);

    expect(() => decodeNormalized({ ...encoded, tokens: Int32Array.from([1, 7]) })).toThrow(/result 0 has tag 7/);
    expect(() => decodeNormalized({ ...encoded, tokens: encoded.tokens.slice(0, 20) })).toThrow(TransferCodecError);
    expect(() => decodeNormalized({ ...encoded, tokens: Int32Array.from([...encoded.tokens, 0]) })).toThrow(/1 tokens and 0 numbers left over/);
  });

  it("puts the results of the records the native reader left to JavaScript in their places, and refuses a tag or a result without the other", () => {
    const kms = normalizeRecord(kmsRecord({}));
    const s3 = normalizeRecord(s3Record({}));
    // As the native reader leaves them: three records, the first and the third held by PENDING tags (5).
    const withPlaces = encodeNormalized([s3]);
    const tokens = Int32Array.from([3, 5, ...withPlaces.tokens.slice(1), 5]);
    const batch = { ...withPlaces, tokens };

    expect(decodeNormalized(batch, encodeNormalized([kms, s3]))).toStrictEqual([kms, s3, s3]);
    expect(() => decodeNormalized(batch)).toThrow(/result 0 is a record left to be normalized, and no result is given for it/);
    expect(() => decodeNormalized(batch, encodeNormalized([kms]))).toThrow(/result 2 is a record left to be normalized/);
    expect(() => decodeNormalized(batch, encodeNormalized([kms, s3, kms]))).toThrow(/1 result\(s\) given for records no PENDING tag holds/);
  });
});
