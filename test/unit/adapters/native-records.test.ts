// The readers' native fast path (native/records.cc) against the JavaScript it stands in for: the same batches of the
// same results, record for record, for every dataset record, the simulation's records, and records made to reach
// each case where the native path declines a record or a file and JavaScript reads it.
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LastingStringsReceiver } from '#adapters/local/lasting-strings.ts';
import { LAUNCHER_MALLOC, loadNativeRecords, nativeReaderDisabled, nativeReaderStatus, tuneMallocLikeTheLauncher } from '#adapters/local/native-records.ts';
import { datasetFiles, datasetRecords, hasDatasets } from '../../helpers/datasets.ts';
import { nativeAddon as native, nativelyNormalized, readingOf } from '../../helpers/native-reader.ts';
import { simulate } from '../../../src/sim/simulate.ts';

const gz = (text: string): Buffer => gzipSync(text);
const file = (records: readonly unknown[]): Buffer => gz(JSON.stringify({ Records: records }));
/** A file of records given as JSON text, written as CloudTrail writes them: one line. */
const fileOfTexts = (texts: readonly string[]): Buffer => gz(`{"Records":[${texts.join(',')}]}`);

const expectSameReading = (bytes: Buffer, options: { batchSize?: number; maxFileBytes?: number } = {}): void => {
  expect(readingOf(bytes, { ...options, natively: true })).toStrictEqual(readingOf(bytes, { ...options, natively: false }));
};

const decrypt = {
  eventVersion: '1.11',
  userIdentity: {
    type: 'AssumedRole',
    principalId: 'AROAEXAMPLE:bob@example.com',
    arn: 'arn:aws:sts::111122223333:assumed-role/FinanceAnalyst/bob@example.com',
    accountId: '111122223333',
    accessKeyId: 'ASIAEXAMPLE',
    sessionContext: { sessionIssuer: { type: 'Role', principalId: 'AROAEXAMPLE', arn: 'arn:aws:iam::111122223333:role/FinanceAnalyst', accountId: '111122223333', userName: 'FinanceAnalyst' } },
    invokedBy: 'AWS Internal',
  },
  eventTime: '2026-10-03T06:53:52.306Z',
  eventSource: 'kms.amazonaws.com',
  eventName: 'Decrypt',
  awsRegion: 'us-east-1',
  sourceIPAddress: 'AWS Internal',
  userAgent: 'AWS Internal',
  requestParameters: { encryptionAlgorithm: 'SYMMETRIC_DEFAULT', encryptionContext: { 'aws:s3:arn': 'arn:aws:s3:::reports/finance/q3.pdf' } },
  responseElements: null,
  requestID: '7eda5724-f23a-4f18-ae1b-00000005497c',
  eventID: '5e4aea7a-a5a4-4bf2-add0-00000005497d',
  readOnly: true,
  resources: [{ accountId: '111122223333', type: 'AWS::KMS::Key', ARN: 'arn:aws:kms:us-east-1:111122223333:key/1a2b3c4d-0000-4000-8000-00000000b002' }],
  eventType: 'AwsApiCall',
  managementEvent: true,
  recipientAccountId: '111122223333',
  eventCategory: 'Management',
};

const getObject = {
  eventVersion: '1.10',
  userIdentity: { type: 'IAMUser', principalId: 'AIDAEXAMPLE', arn: 'arn:aws:iam::111122223333:user/alice', accountId: '111122223333', userName: 'alice' },
  eventTime: '2026-10-03T06:53:52Z',
  eventSource: 's3.amazonaws.com',
  eventName: 'GetObject',
  awsRegion: 'us-east-1',
  sourceIPAddress: '203.0.113.7',
  userAgent: '[aws-cli/2.15.0]',
  requestParameters: { bucketName: 'reports', Host: 'reports.s3.us-east-1.amazonaws.com', key: 'finance/q3.pdf' },
  additionalEventData: { bytesTransferredIn: 0, bytesTransferredOut: 1024, SSEApplied: 'SSE_KMS', 'x-amz-id-2': 'abc' },
  eventID: 'b1f5a9f0-0000-4000-8000-000000000001',
  readOnly: true,
  resources: [
    { type: 'AWS::S3::Object', ARN: 'arn:aws:s3:::reports/finance/q3.pdf' },
    { accountId: '111122223333', type: 'AWS::S3::Bucket', ARN: 'arn:aws:s3:::reports' },
  ],
  eventType: 'AwsApiCall',
  managementEvent: false,
  recipientAccountId: '111122223333',
  eventCategory: 'Data',
};

/** `base` with `changes` applied at the top level and in `userIdentity` / `requestParameters` (`undefined` removes). */
const variant = (base: Record<string, unknown>, changes: Record<string, unknown>, identity?: Record<string, unknown>, request?: Record<string, unknown>): Record<string, unknown> => {
  const out: Record<string, unknown> = { ...base, ...changes };
  if (identity !== undefined) out['userIdentity'] = { ...(base['userIdentity'] as object), ...identity };
  if (request !== undefined) out['requestParameters'] = { ...(base['requestParameters'] as object), ...request };
  return JSON.parse(JSON.stringify(out)) as Record<string, unknown>;
};

describe('the native reader', () => {
  it('is built here, and KMS_NATIVE=off turns it off', () => {
    expect(native()).toBeDefined();
    expect(loadNativeRecords({ KDM_NATIVE: 'off' })).toBeUndefined();
    expect(nativeReaderDisabled({ KDM_NATIVE: '0' })).toBe(true);
    expect(nativeReaderDisabled({ KDM_NATIVE: 'on' })).toBe(false);
  });

  it('tells a replay why it is not at hand: not built, or a build this machine cannot load', () => {
    expect(nativeReaderStatus({})).toEqual({ state: 'on' });
    expect(nativeReaderStatus({ KDM_NATIVE: 'off' })).toEqual({ state: 'off' });
    expect(nativeReaderStatus({}, ['./no-such-addon.node'])).toEqual({ state: 'absent', reason: 'is not built (npm ci builds it where a C++ compiler and make are installed)' });
    // What a package built elsewhere would hold for this machine: a file the loader refuses.
    const dir = mkdtempSync(join(tmpdir(), 'kdm-addon-'));
    try {
      const foreign = join(dir, 'kdm_records.node');
      writeFileSync(foreign, 'not a shared object');
      const status = nativeReaderStatus({}, ['./no-such-addon.node', foreign]);
      expect(status.state).toBe('absent');
      expect(status.state === 'absent' ? status.reason : '').toMatch(/^could not be loaded \(.*kdm_records\.node.*\)$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("gives a process started without the launcher the launcher's malloc settings, unless the environment names them", () => {
    const glibc = (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header?.glibcVersionRuntime !== undefined;
    expect(tuneMallocLikeTheLauncher({})).toBe(glibc ? 'set' : 'unavailable');
    // The launcher's, or the user's own, even empty: theirs stand.
    expect(tuneMallocLikeTheLauncher({ MALLOC_ARENA_MAX: '' })).toBe('kept');
    expect(tuneMallocLikeTheLauncher({ MALLOC_MMAP_THRESHOLD_: '262144' })).toBe('kept');
    expect(tuneMallocLikeTheLauncher({ KDM_NATIVE: 'off' })).toBe('unavailable');
    expect(LAUNCHER_MALLOC).toEqual({ arenaMax: 2, mmapThresholdBytes: 1_048_576 });
    for (const [arenaMax, threshold] of [[0, LAUNCHER_MALLOC.mmapThresholdBytes], [2, 2 ** 31], [2.5, 1024]] as const) {
      expect(() => native().tuneMalloc(arenaMax, threshold)).toThrow('tuneMalloc(arenaMax, mmapThreshold): two whole numbers above 0');
    }
  });

  it.runIf(hasDatasets)('reads every dataset record as JavaScript does', () => {
    let records = 0;
    let normalizedNatively = 0;
    for (const path of datasetFiles()) {
      // The datasets are written over many lines: as CloudTrail writes them, on one, they reach the native path.
      const Records = datasetRecords(path);
      const bytes = file(Records);
      expectSameReading(bytes);
      records += Records.length;
      normalizedNatively += nativelyNormalized(bytes) ?? 0;
    }
    expect(records).toBeGreaterThan(9_000);
    // Most of them natively; the rest (calls of CloudTrail itself, escaped text ...) in JavaScript.
    expect(normalizedNatively / records).toBeGreaterThan(0.9);
  });

  it("reads the simulation's records as JavaScript does, nearly all of them natively but the network activity events, which it leaves to JavaScript", () => {
    const sim = simulate({ events: 20_000, seed: 7, anomalies: true });
    let records = 0;
    let network = 0;
    let normalizedNatively = 0;
    for (const f of sim.files) {
      const bytes = file(f.records);
      expectSameReading(bytes);
      records += f.records.length;
      network += f.records.filter((r) => r['eventCategory'] === 'NetworkActivity').length;
      normalizedNatively += nativelyNormalized(bytes) ?? 0;
    }
    expect(records).toBe(sim.recordCount);
    expect(network).toBe(30);
    expect(normalizedNatively / (records - network)).toBeGreaterThan(0.999);
  });

  it('cuts batches where JavaScript does, with declined records in their places', () => {
    const records = Array.from({ length: 11 }, (_, i) => (i % 4 === 1 ? variant(decrypt, { eventVersion: '2.0' }) : variant(decrypt, { eventID: `id-${i}` })));
    const bytes = file(records);
    expectSameReading(bytes, { batchSize: 3 });
    expect(readingOf(bytes, { natively: true, batchSize: 3 }).map((r) => (r as { indexes?: number[] }).indexes)).toStrictEqual([
      [0, 1, 2],
      [3, 4, 5],
      [6, 7, 8],
      [9, 10],
    ]);
    expect(nativelyNormalized(bytes, 3)).toBe(8);
  });

  const cases: [string, Record<string, unknown>, boolean][] = [
    ['an AssumedRole session with its issuer', decrypt, true],
    ['an AssumedRole session without its issuer (the role folded from the ARN)', variant(decrypt, {}, { sessionContext: undefined }), true],
    ['an AssumedRole session ARN ending in a slash', variant(decrypt, {}, { sessionContext: undefined, arn: 'arn:aws:sts::111122223333:assumed-role/R/' }), true],
    ['an AssumedRole session with no ARN', variant(decrypt, {}, { sessionContext: undefined, arn: undefined }), true],
    ['an AssumedRole with no principal id nor ARN', variant(decrypt, {}, { sessionContext: undefined, arn: undefined, principalId: undefined }), true],
    ['a service-linked role', variant(decrypt, {}, { sessionContext: { sessionIssuer: { arn: 'arn:aws:iam::111122223333:role/aws-service-role/x/AWSServiceRoleForX' } } }), true],
    ['a role named AWSServiceRoleFor…', variant(decrypt, {}, { sessionContext: { sessionIssuer: { arn: 'arn:aws:iam::111122223333:role/AWSServiceRoleForY' } } }), true],
    ['an IAM user without an ARN', variant(getObject, {}, { arn: undefined }), true],
    ['an IAM user without an ARN or a name', variant(getObject, {}, { arn: undefined, userName: undefined }), true],
    ['the root user without an ARN', variant(decrypt, {}, { type: 'Root', arn: undefined }), true],
    ['a federated user', variant(decrypt, {}, { type: 'FederatedUser' }), true],
    ['a federated user without issuer or ARN', variant(decrypt, {}, { type: 'FederatedUser', sessionContext: {}, arn: undefined }), true],
    ['an AWS service', variant(decrypt, {}, { type: 'AWSService', invokedBy: 's3.amazonaws.com' }), true],
    ['an AWS service that does not say which', variant(decrypt, {}, { type: 'AWSService', invokedBy: undefined }), true],
    ['an AWS service event, whose identity has no type', variant(decrypt, {}, { type: undefined, arn: undefined, principalId: undefined, accessKeyId: undefined, sessionContext: undefined, invokedBy: 'AWS Internal' }), true],
    ['an identity with no type, an invokedBy and an ARN', variant(decrypt, {}, { type: undefined, invokedBy: 'AWS Internal' }), true],
    ['an identity with no type and an invokedBy that is not a string', variant(decrypt, {}, { type: undefined, arn: undefined, principalId: undefined, invokedBy: 5 }), true],
    ['an AWS account', variant(decrypt, {}, { type: 'AWSAccount', principalId: 'AIDA:x:y' }), true],
    ['an Identity Center user', variant(decrypt, {}, { type: 'IdentityCenterUser', onBehalfOf: { userId: 'u-1', identityStoreArn: 'arn:x' } }), true],
    ['an Identity Center user without onBehalfOf', variant(decrypt, {}, { type: 'IdentityCenterUser' }), true],
    ['an anonymous principal', variant(getObject, {}, { type: 'Unknown', principalId: 'anonymous', arn: undefined }), true],
    ['a principal type kdm does not know', variant(getObject, {}, { type: 'SAMLUser' }), true],
    ['no userIdentity', variant(getObject, { userIdentity: undefined }), true],
    ['a userIdentity that is a list', variant(getObject, { userIdentity: [1] }), true],
    ['a key named by an alias ARN', variant(decrypt, { resources: undefined }, undefined, { keyId: 'arn:aws:kms:us-east-1:111122223333:alias/reports' }), true],
    ['a key named by an alias', variant(decrypt, {}, undefined, { keyId: 'alias/reports' }), true],
    ['a key named by its ARN alone', variant(decrypt, { resources: undefined }, undefined, { keyId: 'arn:aws:kms:us-east-1:111122223333:key/k-1' }), true],
    ['a bare key id', variant(decrypt, { resources: undefined }, undefined, { keyId: '1a2b3c4d-0000-4000-8000-00000000b002' }), true],
    ['a multi-Region key id in a China Region', variant(decrypt, { resources: undefined, awsRegion: 'cn-north-1' }, undefined, { keyId: `mrk-${'a'.repeat(32)}` }), true],
    ['a bare key id in GovCloud', variant(decrypt, { resources: undefined, awsRegion: 'us-gov-west-1' }, undefined, { keyId: '1a2b3c4d-0000-4000-8000-00000000b002' }), true],
    ['a key ARN with a space', variant(decrypt, { resources: [{ ARN: 'arn:aws:kms:us-east-1:111122223333:key/a b' }] }), true],
    ['resources given as arn, and not objects', variant(decrypt, { resources: [5, { arn: 'arn:aws:kms:us-east-1:111122223333:key/lower' }] }), true],
    ['a source key and context (ReEncrypt)', variant(decrypt, { eventName: 'ReEncrypt' }, undefined, { encryptionContext: undefined, sourceKeyId: 'alias/a', sourceEncryptionContext: { a: 'b' } }), true],
    ['an empty encryption context', variant(decrypt, {}, undefined, { encryptionContext: {} }), true],
    ['an encryption context that is a list', variant(decrypt, {}, undefined, { encryptionContext: ['x'], destinationEncryptionContext: { d: '' } }), true],
    ['GenerateDataKey by bytes', variant(decrypt, { eventName: 'GenerateDataKey' }, undefined, { numberOfBytes: 32 }), true],
    ['a key spec and a deletion window', variant(decrypt, { eventName: 'ScheduleKeyDeletion' }, undefined, { keySpec: 'AES_256', pendingWindowInDays: 7 }), true],
    ['alias and grant parameters', variant(decrypt, { eventName: 'CreateAlias' }, undefined, { aliasName: 'alias/x', targetKeyId: 'k', granteePrincipal: 'p' }), true],
    ['a grant with the operations it allows (a list, left to JavaScript)', variant(decrypt, { eventName: 'CreateGrant' }, undefined, { granteePrincipal: 'arn:aws:iam::999988887777:role/x', operations: ['Decrypt', 5, 'CreateGrant'] }), false],
    ['an errored call', variant(decrypt, { errorCode: 'AccessDenied', errorMessage: 'User: x is not authorized', readOnly: 'false' }), true],
    ['readOnly as the string "true"', variant(decrypt, { readOnly: 'true' }), true],
    ['readOnly of another kind', variant(decrypt, { readOnly: 1 }), true],
    ['a call through a VPC endpoint, shared across accounts', variant(decrypt, { vpcEndpointId: 'vpce-1', sharedEventID: 'shared-1' }), true],
    ['no source address, a service as user agent', variant(decrypt, { sourceIPAddress: undefined, userAgent: 'kms.amazonaws.com' }, { invokedBy: undefined }), true],
    ['no Region', variant(decrypt, { awsRegion: undefined }), true],
    ['no eventVersion', variant(decrypt, { eventVersion: undefined }), true],
    ['an S3 object named only by its resources', variant(getObject, {}, undefined, { bucketName: undefined, key: undefined }), true],
    ['an S3 bucket named only by its resources', variant(getObject, { resources: [{ ARN: 'arn:aws:s3:::reports' }] }, undefined, { bucketName: undefined }), true],
    ['an S3 object read in GovCloud, its record giving no resources', variant(getObject, { awsRegion: 'us-gov-west-1', resources: undefined }), true],
    ['an S3 object read in a China Region, named by its resources', variant(getObject, { awsRegion: 'cn-north-1', resources: [{ ARN: 'arn:aws-cn:s3:::reports/q3.pdf' }, { ARN: 'arn:aws-cn:s3:::reports' }] }), true],
    ['an S3 request with encryption headers', variant(getObject, { eventName: 'PutObject', additionalEventData: { bytesTransferredIn: 5 } }, undefined, { 'x-amz-server-side-encryption': 'aws:kms', 'x-amz-server-side-encryption-aws-kms-key-id': 'k', 'x-amz-copy-source': 'b/k' }), true],
    ['each server-side encryption header', variant(getObject, { additionalEventData: undefined }, undefined, { 'x-amz-server-side-encryption': 'AES256', SSEKMSKeyId: 'k2' }), true],
    ['a dual-layer header', variant(getObject, { additionalEventData: {} }, undefined, { 'x-amz-server-side-encryption': 'aws:kms:dsse' }), true],
    ['a presigned URL\'s request (AuthenticationMethod QueryString)', variant(getObject, { additionalEventData: { SignatureVersion: 'SigV4', AuthenticationMethod: 'QueryString', bytesTransferredOut: 9 } }), true],
    ['a request signed in its header (AuthenticationMethod AuthHeader)', variant(getObject, { additionalEventData: { AuthenticationMethod: 'AuthHeader' } }), true],
    ['a POST form\'s upload (AuthenticationMethod HtmlForm)', variant(getObject, { eventName: 'PutObject', additionalEventData: { AuthenticationMethod: 'HtmlForm' } }), true],
    ['an AuthenticationMethod that is not a string', variant(getObject, { additionalEventData: { AuthenticationMethod: 1 } }), true],
    ['an AuthenticationMethod with an escape (left to JavaScript)', variant(getObject, { additionalEventData: { AuthenticationMethod: 'Query\\u0053tring' } }), false],
    ['a customer-provided key (SSE-C)', variant(getObject, { eventName: 'CopyObject', additionalEventData: undefined }, undefined, { 'x-amz-server-side-encryption-customer-algorithm': 'AES256' }), true],
    ['a customer-provided key beside another encryption header', variant(getObject, { eventName: 'PutObject', additionalEventData: {} }, undefined, { 'x-amz-server-side-encryption': 'AES256', 'x-amz-server-side-encryption-customer-algorithm': 'AES256' }), true],
    ['the key S3 says it encrypted under', variant(getObject, { eventName: 'PutObject', responseElements: { 'x-amz-version-id': 'v1', 'x-amz-server-side-encryption-aws-kms-key-id': 'arn:aws:kms:us-east-1:999988887777:key/k' } }), true],
    ['a response that is a list', variant(getObject, { eventName: 'PutObject', responseElements: [{ 'x-amz-server-side-encryption-aws-kms-key-id': 'k' }] }), true],
    ['a response key that is a number', variant(getObject, { eventName: 'PutObject', responseElements: { 'x-amz-server-side-encryption-aws-kms-key-id': 7 } }), true],
    ['an S3 data event of a bucket operation', variant(getObject, { eventName: 'ListObjects' }), true],
    ['an S3 management event', variant(getObject, { eventName: 'PutBucketPolicy', managementEvent: true, eventCategory: 'Management' }), true],
    ['an S3 object operation naming no bucket', variant(getObject, { resources: undefined }, undefined, { bucketName: undefined }), true],
    ['an S3 object key in Unicode', variant(getObject, { resources: undefined }, undefined, { key: 'rapports/été/café ☕.pdf' }), true],
    ['bytes given as a float, a huge number and minus zero', variant(getObject, { additionalEventData: { bytesTransferredIn: 1.5e3, bytesTransferredOut: -0 } }), true],
    ['a call of another service', variant(getObject, { eventSource: 'ec2.amazonaws.com', eventName: 'RunInstances', eventID: undefined }), true],
    ['an Insights event', variant(decrypt, { eventType: 'AwsCloudTrailInsight', insightDetails: { state: 'Start' } }), true],
    ['an event with insightDetails of null', variant(decrypt, { insightDetails: null }), true],
    ['an eventCategory that is not text', variant(decrypt, { eventCategory: 5 }), true],
    // Left to JavaScript, one by one:
    ['a network activity event', variant(decrypt, { eventType: 'AwsVpceEvent', eventCategory: 'NetworkActivity', requestParameters: undefined, resources: undefined, vpcEndpointAccountId: '111122223333' }), false],
    ['a network activity event known by its category alone', variant(getObject, { eventType: undefined, eventCategory: 'NetworkActivity', errorCode: 'VpceAccessDenied' }), false],
    ['a network activity event known by its type alone', variant(decrypt, { eventType: 'AwsVpceEvent', eventCategory: undefined }), false],
    ['a network activity event of a service no rule reads', variant(decrypt, { eventSource: 'ec2.amazonaws.com', eventName: 'DescribeInstances', eventType: 'AwsVpceEvent', eventCategory: 'NetworkActivity' }), false],
    ['an unsupported eventVersion', variant(decrypt, { eventVersion: '2.0' }), false],
    ['no eventSource', variant(decrypt, { eventSource: undefined }), false],
    ['a time CloudTrail does not write', variant(decrypt, { eventTime: '2026-10-03 06:53:52' }), false],
    ['a day the month does not have', variant(decrypt, { eventTime: '2026-02-30T06:53:52Z' }), false],
    ['a year before 100 (Date.UTC reads 0099 as 1999)', variant(decrypt, { eventTime: '0099-10-03T06:53:52Z' }), false],
    ['a KMS call without an eventID', variant(decrypt, { eventID: undefined }), false],
    ['a call of CloudTrail itself (its parameters are kept)', variant(getObject, { eventSource: 'cloudtrail.amazonaws.com', eventName: 'StopLogging' }), false],
    [
      'a bucket default encryption set (its parameters are kept)',
      variant(getObject, { eventName: 'PutBucketEncryption', managementEvent: true, eventCategory: 'Management', resources: undefined }, undefined, {
        bucketName: 'reports',
        ServerSideEncryptionConfiguration: { Rule: { ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: 'arn:aws:kms:us-east-1:999988887777:key/k' } } },
      }),
      false,
    ],
    ['a bucket default encryption removed (its parameters are kept)', variant(getObject, { eventName: 'DeleteBucketEncryption', managementEvent: true, eventCategory: 'Management' }), false],
    ['a key policy', variant(decrypt, { eventName: 'PutKeyPolicy' }, undefined, { policy: '{"Version":"2012-10-17"}' }), false],
    ['an update of an event, which goes by its original\'s eventID', variant(decrypt, { addendum: { reason: 'UPDATED_DATA', updatedFields: 'userIdentity', originalEventID: 'e-original' } }), false],
    ['an event delivered late, with an addendum that says so', variant(getObject, { addendum: { reason: 'DELIVERY_DELAY' } }), false],
    ['bytes as text', variant(getObject, { additionalEventData: { bytesTransferredOut: '1024' } }), false],
    ['a deletion window as text', variant(decrypt, {}, undefined, { pendingWindowInDays: '7' }), false],
    ['a directory bucket\'s context (aws:s3express:arn)', variant(decrypt, {}, undefined, { encryptionContext: { 'aws:s3express:arn': 'arn:aws:s3express:us-east-1:111122223333:bucket/t--use1-az4--x-s3' } }), false],
    ['a directory bucket\'s context as S3\'s documentation shows it', variant(decrypt, {}, undefined, { encryptionContext: { 'aws:s3express:arn': 'arn:aws:s3:::arn:aws:s3express:us-east-1:111122223333:bucket/t--use1-az4--x-s3' } }), false],
    ['a vector bucket\'s context (aws:s3vectors:arn)', variant(decrypt, {}, undefined, { encryptionContext: { 'aws:s3vectors:arn': 'arn:aws:s3vectors:us-east-1:111122223333:bucket/embeddings/index/docs' } }), false],
    ['an encryption context value that is not text', variant(decrypt, {}, undefined, { encryptionContext: { n: 5 } }), false],
    ['an encryption context key that is a number', variant(decrypt, {}, undefined, { encryptionContext: { b: 'x', 7: 'y' } }), false],
    ['a field over 2,048 characters', variant(getObject, { userAgent: 'x'.repeat(2049) }), false],
    ['a principal ARN in Unicode', variant(decrypt, {}, { arn: 'arn:aws:sts::111122223333:assumed-role/R/é' }), false],
  ];
  it.each(cases)('reads %s as JavaScript does', (_, record, natively) => {
    const bytes = file([decrypt, record, getObject]);
    expectSameReading(bytes);
    expect(nativelyNormalized(bytes)).toBe(natively ? 3 : 2);
  });

  it.each([
    ['bytes past the largest double', JSON.stringify(getObject).replace('"bytesTransferredOut":1024', '"bytesTransferredOut":1e400')],
    ['bytes below the smallest double', JSON.stringify(getObject).replace('"bytesTransferredOut":1024', '"bytesTransferredOut":-1e-400')],
    ['an escaped quote in a field', `{"eventVersion":"1.08","eventSource":"kms.amazonaws.com","eventName":"Decrypt","eventTime":"2026-10-03T06:53:52Z","eventID":"e1","userAgent":"a \\"quoted\\" agent"}`],
    ['an escaped key', `{"eventVersion":"1.08","event\\u0053ource":"kms.amazonaws.com","eventName":"Decrypt","eventTime":"2026-10-03T06:53:52Z","eventID":"e1"}`],
    ['a key given twice', `{"eventVersion":"1.08","eventSource":"kms.amazonaws.com","eventName":"Decrypt","eventName":"Encrypt","eventTime":"2026-10-03T06:53:52Z","eventID":"e1"}`],
    ['a lone surrogate', `{"eventSource":"kms.amazonaws.com","eventName":"Decrypt","eventTime":"2026-10-03T06:53:52Z","eventID":"e1","userAgent":"\\ud800"}`],
    ['a response key given twice', JSON.stringify(getObject).replace(/\}$/, ',"responseElements":{"x-amz-server-side-encryption-aws-kms-key-id":"a","x-amz-server-side-encryption-aws-kms-key-id":"b"}}')],
    ['an escaped response key', JSON.stringify(getObject).replace(/\}$/, ',"responseElements":{"x-amz-server-side-encryption-aws-kms-key-\\u0069d":"a"}}')],
    ['an encryption context key given twice', `{"eventSource":"kms.amazonaws.com","eventName":"Decrypt","eventTime":"2026-10-03T06:53:52Z","eventID":"e1","requestParameters":{"encryptionContext":{"a":"1","a":"2"}}}`],
    ['an escaped eventCategory', `{"eventVersion":"1.08","eventSource":"kms.amazonaws.com","eventName":"Decrypt","eventTime":"2026-10-03T06:53:52Z","eventID":"e1","eventCategory":"Network\\u0041ctivity"}`],
    ['a record that is not an object', `null`],
    ['a record that is a list', `[1,2]`],
  ])('leaves a record with %s to JavaScript', (_, text) => {
    const bytes = fileOfTexts([JSON.stringify(decrypt), text]);
    expectSameReading(bytes);
    expect(nativelyNormalized(bytes)).toBe(1);
  });

  it.each([
    ['invalid JSON', gz('{"Records":[{"eventSource":"kms.amazonaws.com",}]}')],
    ['a truncated document', gz('{"Records":[{"eventSource":"kms.amazonaws.com"}')],
    ['a number JSON does not write', gz('{"Records":[{"eventSource":"kms.amazonaws.com","n":01}]}')],
    ['a control character in a string', gz('{"Records":[{"eventSource":"kms.\u0001amazonaws.com"}]}')],
    ['invalid UTF-8', gzipSync(Buffer.concat([Buffer.from('{"Records":[{"userAgent":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}]}')]))],
    ['an overlong UTF-8 form', gzipSync(Buffer.concat([Buffer.from('{"Records":[{"userAgent":"'), Buffer.from([0xc0, 0xaf]), Buffer.from('"}]}')]))],
    ['a UTF-8 surrogate', gzipSync(Buffer.concat([Buffer.from('{"Records":[{"userAgent":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}]}')]))],
    ['"Records" given twice', gz('{"Records":[{"eventID":"a"}],"Records":[]}')],
    ['an EventBridge envelope among the records', fileOfTexts([JSON.stringify(decrypt), JSON.stringify({ 'detail-type': 'AWS API Call via CloudTrail', detail: decrypt })])],
    ['records over several lines', gz(`{"Records":[\n${JSON.stringify(decrypt)}\n]}`)],
    ['another layout (a bare record)', gz(JSON.stringify(decrypt))],
    ['a digest file', gz(JSON.stringify({ digestStartTime: 'a', digestEndTime: 'b', logFiles: [] }))],
    ['NDJSON', gz(`${JSON.stringify(decrypt)}\n${JSON.stringify(getObject)}\n`)],
    ['an empty list of records', gz('{"Records":[]}')],
    ['an empty file', gz('')],
    ['a corrupt gzip file', Buffer.concat([gz(JSON.stringify({ Records: [decrypt] })).subarray(0, 30), Buffer.alloc(20)])],
    ['two gzip members', Buffer.concat([gz('{"Records":['), gz(`${JSON.stringify(decrypt)}]}`)])],
    ['a file that is not gzip', Buffer.from(JSON.stringify({ Records: [decrypt, getObject] }))],
  ])('reads a file with %s as JavaScript does', (_, bytes) => {
    expectSameReading(bytes);
  });

  it('leaves a file over the size cap to JavaScript, which refuses it', () => {
    const bytes = file([decrypt, getObject]);
    const js = readingOf(bytes, { natively: false, maxFileBytes: 100 });
    expect(js).toStrictEqual(readingOf(bytes, { natively: true, maxFileBytes: 100 }));
    expect(JSON.stringify(js)).toMatch(/cap/);
  });

  it('reads a string whatever the place of what ends, escapes or breaks it, across the widths it scans at (16 and 8 bytes)', () => {
    // Each kind of byte the string scan stops at, at each offset of a field's text from 0 to 40: the scan reads 16
    // bytes at a time, then 8, then one, and must stop at that byte whichever of them finds it.
    // How many of the file's two records the native reader normalizes itself: both (plain UTF-8), the other one (a
    // record with an escaped string goes to JavaScript; the file is still read natively), or none (it declines a file
    // that is not JSON, and JavaScript says why). A scan that missed where a string ends could not give these.
    const stops: readonly (readonly [string, Buffer, number | undefined])[] = [
      ['an escaped quote', Buffer.from('\\"'), 1],
      ['an escaped backslash', Buffer.from('\\\\'), 1],
      ['a \\u escape', Buffer.from('\\u00e9'), 1],
      ['a two-byte UTF-8 character', Buffer.from('é'), 2],
      ['a four-byte UTF-8 character', Buffer.from('😀'), 2],
      ['a raw control character (not JSON)', Buffer.from([0x01]), undefined],
      ['a byte that starts no UTF-8 sequence', Buffer.from([0xff]), undefined],
      ['a truncated UTF-8 sequence', Buffer.from([0xe2, 0x82]), undefined],
    ];
    for (const [what, stop, natively] of stops) {
      for (let at = 0; at <= 40; at++) {
        const agent = Buffer.concat([Buffer.from('a'.repeat(at)), stop, Buffer.from('z'.repeat(40 - at))]);
        const record = Buffer.from(JSON.stringify({ ...decrypt, userAgent: '@' }));
        const withAgent = Buffer.concat([record.subarray(0, record.indexOf('"@"') + 1), agent, record.subarray(record.indexOf('"@"') + 2)]);
        const bytes = gzipSync(Buffer.concat([Buffer.from('{"Records":['), withAgent, Buffer.from(`,${JSON.stringify(getObject)}]}`)]));
        expect(() => expectSameReading(bytes), `${what} at ${at}`).not.toThrow();
        expect(nativelyNormalized(bytes), `${what} at ${at}`).toBe(natively);
      }
    }
  });

  it('reads records from a document whose other keys come first', () => {
    expectSameReading(gz(`{"Records":[${JSON.stringify(getObject)}]}`));
    // recordsArrayOf's layout only: a key before "Records" is read by JavaScript whole.
    const before = gz(`{"x":1,"Records":[${JSON.stringify(getObject)}]}`);
    expectSameReading(before);
    expect(nativelyNormalized(before)).toBeUndefined();
  });
});

describe("the native reader's lasting strings", () => {
  /** What the batches of `files`, read one after the other with lasting strings, add to the list and hold in their tables. */
  const lastingOf = (files: readonly Buffer[], batchSize = 200) => {
    native().restartLasting();
    // restartedAt: each batch that started the list again, as `file:batch` (the first, after restartLasting).
    const seen = { batches: 0, added: 0, restartedAt: [] as string[], tableStrings: 0, namedLasting: 0 };
    for (const [f, bytes] of files.entries()) {
      const reading = native().encodeFile(bytes, batchSize, 256 * 1024 * 1024, true);
      if (reading === null || 'text' in reading) continue;
      for (const [i, b] of reading.batches.entries()) {
        seen.batches++;
        seen.added += b.lasting?.added.length ?? 0;
        if (b.lasting?.restarted === true) seen.restartedAt.push(`${f}:${i}`);
        seen.tableStrings += b.encoded.strings.length;
        seen.namedLasting += b.encoded.tokens.filter((t) => t < 0).length;
      }
    }
    return seen;
  };
  /** Each file read natively with lasting strings, its batches decoded in turn with one list, as a reader thread's are, against JavaScript. */
  const expectSameReadingInTurn = (files: readonly Buffer[], batchSize?: number): void => {
    native().restartLasting();
    const lasting = new LastingStringsReceiver();
    files.forEach((bytes, i) => {
      const options = batchSize === undefined ? {} : { batchSize };
      expect(readingOf(bytes, { ...options, natively: true, lasting }), `file ${i}`).toStrictEqual(readingOf(bytes, { ...options, natively: false }));
    });
  };

  it("names what batches repeat by its place in the list, with the same results, over the simulation's records and every dataset record", () => {
    const sim = simulate({ events: 20_000, seed: 11, anomalies: true }).files.map((f) => file(f.records));
    expectSameReadingInTurn(sim);
    const seen = lastingOf(sim);
    // Principals, keys, buckets, regions, agents: sent once, then named (a batch of 200 records names hundreds of them).
    expect(seen.added).toBeGreaterThan(50);
    expect(seen.added).toBeLessThan(seen.tableStrings / 10);
    expect(seen.namedLasting / seen.batches).toBeGreaterThan(500);
    native().restartLasting();
    const without = sim.map((bytes) => native().encodeFile(bytes, 200, 256 * 1024 * 1024)).reduce((n, r) => n + (r !== null && 'batches' in r ? r.batches.reduce((m, b) => m + b.encoded.strings.length, 0) : 0), 0);
    expect(seen.tableStrings).toBeLessThan(without * 0.8);
    if (hasDatasets) expectSameReadingInTurn(datasetFiles().map((path) => file(datasetRecords(path))));
  });

  it('starts the list again past its bound, and says so with the batch that does', () => {
    // A batch of one record each, two in a row with the same 1,000-character agent: each agent joins the list, and
    // 2 MiB of them pass its bound.
    const records = Array.from({ length: 4_600 }, (_, i) => variant(decrypt, { eventID: `id-${i}`, userAgent: `agent-${Math.floor(i / 2)}-${'x'.repeat(1_000)}` }));
    const files = [file(records.slice(0, 2_300)), file(records.slice(2_300))];
    const restartedAt = lastingOf(files, 1).restartedAt;
    expect(restartedAt).toHaveLength(2);
    expect(restartedAt[0]).toBe('0:0');
    expectSameReadingInTurn(files, 1);
  });

  it('starts the list again after a file it left to JavaScript once its batches had begun', () => {
    const records = Array.from({ length: 6 }, (_, i) => variant(decrypt, { eventID: `id-${i}`, userAgent: `agent-${i % 3}` }));
    // Valid to its last record, which is not JSON: the native reader has read two batches when it gives the file up.
    const broken = fileOfTexts([...records.slice(0, 5).map((r) => JSON.stringify(r)), '{"eventID": tru}']);
    const files = [file(records), broken, file(records), file(records)];
    // The broken file gives no batches, and the one after it starts the list again.
    expect(lastingOf(files, 2).restartedAt).toStrictEqual(['0:0', '2:0']);
    expectSameReadingInTurn(files, 2);
  });
});
