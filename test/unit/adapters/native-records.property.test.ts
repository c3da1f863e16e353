import fc from 'fast-check';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { nativeAddon as native, readingOf } from '../../helpers/native-reader.ts';

/**
 * The native reader reads any file as the JavaScript path does: records whose every field `normalizeRecord` reads may
 * hold any JSON (text with escapes and any Unicode, numbers of every size, the other kinds), with keys given twice,
 * and files cut or with bytes changed anywhere. Where it cannot be exact it must decline; it must never differ, nor
 * crash on what it is given.
 */

/** Text that reaches every branch: ARNs of each kind, service names, times, escapes, Unicode, the markers the reader looks for. */
const text = fc.oneof(
  fc.constantFrom(
    'arn:aws:kms:us-east-1:111122223333:key/1a2b3c4d-0000-4000-8000-00000000b002',
    'arn:aws-cn:kms:cn-north-1:111122223333:alias/a',
    'arn:aws:sts::111122223333:assumed-role/Role/session',
    'arn:aws:sts::111122223333:assumed-role/Role',
    'arn:aws:iam::111122223333:role/aws-service-role/x/AWSServiceRoleForX',
    'arn:aws:s3:::bucket/key/é',
    'arn:aws:s3:::bucket',
    'arn:aws:s3:::/x',
    'alias/a',
    '1a2b3c4d-0000-4000-8000-00000000b002',
    `mrk-${'0'.repeat(32)}`,
    'AWS Internal',
    's3.amazonaws.com',
    'kms.amazonaws.com',
    's3.amazonaws.com ',
    '2026-10-03T06:53:52Z',
    '2026-10-03T06:53:52.123Z',
    '2026-02-29T00:00:00Z',
    '0099-01-01T00:00:00Z',
    '1.08',
    '1.123',
    'true',
    'false',
    'Data',
    'AwsCloudTrailInsight',
    'AES256',
    'aws:kms',
    'aws:kms:dsse',
    '',
  ),
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 8 }),
);

const value: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: text },
  { weight: 2, arbitrary: fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom(-0, 1e308, 5e-324)) },
  { weight: 1, arbitrary: fc.constantFrom(null, true, false) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }) },
);

/** Mostly `usual`, now and then any value: a record whose every field may go wrong goes wrong in nearly every field. */
const mostly = <T>(usual: fc.Arbitrary<T>): fc.Arbitrary<unknown> => fc.oneof({ weight: 30, arbitrary: usual }, { weight: 1, arbitrary: value });
const usualText = fc.oneof(
  { weight: 20, arbitrary: fc.constantFrom('a', 'us-east-1', 'AWS Internal', '203.0.113.7', 'aws-cli/2', 'arn:aws:sts::111122223333:assumed-role/R/s', 'arn:aws:s3:::b/k') },
  { weight: 1, arbitrary: fc.constantFrom('é☕', 'a"b', 'a\\b') },
  { weight: 2, arbitrary: text },
);

/** A small object of fields a nested object of a record may have. */
const objectOf = (keys: readonly string[]): fc.Arbitrary<unknown> =>
  mostly(fc.dictionary(fc.constantFrom(...keys), mostly(usualText), { maxKeys: 5 }));

const identity = mostly(
  fc.record({
    type: mostly(fc.constantFrom('AssumedRole', 'IAMUser', 'Root', 'FederatedUser', 'AWSService', 'AWSAccount', 'IdentityCenterUser', 'Unknown', 'Other')),
    principalId: mostly(fc.oneof(usualText, fc.constantFrom('AROA:session', 'AIDA:a:b', 'anonymous', ':x'))),
    arn: mostly(usualText),
    accountId: mostly(fc.constantFrom('111122223333', 'ANONYMOUS_PRINCIPAL', 'x')),
    accessKeyId: mostly(usualText),
    invokedBy: mostly(usualText),
    userName: mostly(usualText),
    sessionContext: mostly(fc.record({ sessionIssuer: objectOf(['arn', 'type']) })),
    onBehalfOf: objectOf(['userId']),
  }, { requiredKeys: ['type'] }),
);

const request = objectOf([
  'keyId', 'sourceKeyId', 'encryptionContext', 'sourceEncryptionContext', 'destinationEncryptionContext', 'keySpec', 'numberOfBytes',
  'encryptionAlgorithm', 'pendingWindowInDays', 'policy', 'aliasName', 'targetKeyId', 'granteePrincipal', 'bucketName', 'key',
  'x-amz-server-side-encryption', 'x-amz-server-side-encryption-aws-kms-key-id', 'SSEKMSKeyId', 'x-amz-copy-source',
]).chain((rp) =>
  typeof rp === 'object' && rp !== null && !Array.isArray(rp)
    ? fc.record({ encryptionContext: fc.dictionary(fc.oneof(usualText, fc.constantFrom('aws:s3:arn', '7')), mostly(usualText), { maxKeys: 3 }) }, { requiredKeys: [] }).map((extra) => ({ ...rp, ...extra }))
    : fc.constant(rp),
);

const record = fc.record({
  eventVersion: mostly(fc.constantFrom('1.08', '1.11')),
  eventSource: mostly(fc.constantFrom('kms.amazonaws.com', 'kms.amazonaws.com', 's3.amazonaws.com', 's3.amazonaws.com', 'cloudtrail.amazonaws.com', 'ec2.amazonaws.com')),
  eventName: mostly(fc.constantFrom('Decrypt', 'GenerateDataKey', 'GetObject', 'PutObject', 'ListObjects')),
  eventTime: mostly(fc.constantFrom('2026-10-03T06:53:52Z', '2026-10-03T06:53:52.306Z')),
  eventID: mostly(fc.uuid()),
  awsRegion: mostly(fc.constantFrom('us-east-1', 'cn-north-1', 'us-gov-west-1')),
  userIdentity: identity,
  sourceIPAddress: mostly(usualText),
  userAgent: mostly(usualText),
  recipientAccountId: mostly(fc.constantFrom('111122223333', '444455556666')),
  sharedEventID: mostly(fc.uuid()),
  vpcEndpointId: mostly(usualText),
  errorCode: mostly(usualText),
  readOnly: mostly(fc.boolean()),
  eventCategory: mostly(fc.constantFrom('Data', 'Management')),
  managementEvent: mostly(fc.boolean()),
  eventType: mostly(fc.constantFrom('AwsApiCall', 'AwsServiceEvent')),
  requestParameters: request,
  resources: mostly(fc.array(objectOf(['ARN', 'arn', 'type']), { maxLength: 3 })),
  additionalEventData: objectOf(['bytesTransferredIn', 'bytesTransferredOut', 'SSEApplied']),
}, { requiredKeys: ['eventSource', 'eventName', 'eventTime', 'eventID'] });

/** A record's text, now and then with one of its keys given again (JSON.stringify never writes that). */
const recordText = fc.tuple(record, fc.oneof({ weight: 9, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom('eventName', 'eventSource', 'readOnly', 'userIdentity') }), value).map(([r, repeated, again]) => {
  const json = JSON.stringify(r);
  return repeated === undefined ? json : `${json.slice(0, -1)}${json.length > 2 ? ',' : ''}${JSON.stringify(repeated)}:${JSON.stringify(again ?? null)}}`;
});

describe('the native reader, over generated records', () => {
  it('reads any records as JavaScript does, normalizing many of them itself', () => {
    let records = 0;
    let normalizedNatively = 0;
    fc.assert(
      fc.property(fc.array(recordText, { minLength: 1, maxLength: 7 }), (texts) => {
        const bytes = gzipSync(`{"Records":[${texts.join(',')}]}`);
        expect(readingOf(bytes, { natively: true, batchSize: 3 })).toStrictEqual(readingOf(bytes, { natively: false, batchSize: 3 }));
        const reading = native().encodeFile(bytes, 3, 1 << 20);
        records += texts.length;
        if (reading !== null && 'batches' in reading) normalizedNatively += reading.batches.reduce((n, b) => n + b.count - (b.pending?.length ?? 0) / 2, 0);
      }),
      { numRuns: 400 },
    );
    // Not only the records it declines: the comparison reaches its own normalization.
    expect(normalizedNatively / records).toBeGreaterThan(0.2);
  });

  it('reads a file with bytes cut, changed or added anywhere as JavaScript does', () => {
    fc.assert(
      fc.property(fc.array(recordText, { minLength: 1, maxLength: 3 }), fc.nat(), fc.nat(255), fc.constantFrom('cut', 'change', 'add'), (texts, at, byte, how) => {
        const plain = Buffer.from(`{"Records":[${texts.join(',')}]}`);
        const i = at % plain.length;
        const changed = how === 'cut' ? plain.subarray(0, i) : how === 'change' ? Buffer.concat([plain.subarray(0, i), Buffer.from([byte]), plain.subarray(i + 1)]) : Buffer.concat([plain.subarray(0, i), Buffer.from([byte]), plain.subarray(i)]);
        const bytes = gzipSync(changed);
        expect(readingOf(bytes, { natively: true, batchSize: 3 })).toStrictEqual(readingOf(bytes, { natively: false, batchSize: 3 }));
      }),
      { numRuns: 400 },
    );
  });
});
