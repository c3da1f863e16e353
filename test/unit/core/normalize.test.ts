import { describe, expect, it } from 'vitest';
import { accountOfNamedKey, normalizeRecord, isAwsServiceMarker, dedupeKeyOf } from '#core/events/normalize.ts';
import type { KmsCall, S3ObjectAccess } from '#core/events/types.ts';
import { kmsRecord, networkRecord, s3Record, KEY_ARN, ACCOUNT } from '#core/testing/builders.ts';
import { datasetRecords, datasetFiles, hasDatasets } from '../../helpers/datasets.ts';

const kms = (raw: unknown): KmsCall => {
  const r = normalizeRecord(raw);
  if (!r.ok || r.event.kind !== 'kms') throw new Error(`expected a KMS call, got ${JSON.stringify(r)}`);
  return r.event;
};

describe('normalizeRecord on the AWS-documented S3 SSE-KMS examples (awsdocs-examples)', () => {
  const records = hasDatasets
    ? datasetRecords(datasetFiles().find((f) => f.includes('awsdocs-example-events-kms'))!).filter((r) =>
        JSON.stringify((r as { requestParameters?: unknown }).requestParameters ?? {}).includes('aws:s3:arn'))
    : [];

  it.runIf(hasDatasets)('recognises the GenerateDataKey that S3 made on upload, with the caller folded to its role', () => {
    const raw = records.find((r) => (r as { eventName: string }).eventName === 'GenerateDataKey');

    const e = kms(raw);

    expect(e).toMatchObject({
      eventName: 'GenerateDataKey',
      keyArn: 'arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
      keyAccountId: '111122223333',
      s3Arn: 'arn:aws:s3:::example_bucket/example_object',
      invokedBy: 'internal.amazonaws.com',
      madeByAwsService: true,
      madeByS3: true,
      region: 'us-west-2',
      eventId: '80721262-21a5-49b9-8b63-28740e7ce9c9',
      eventTimeMs: Date.parse('2015-09-10T23:58:18Z'),
      request: { keySpec: 'AES_256' },
    });
    expect(e.principal).toMatchObject({ type: 'AssumedRole', id: 'arn:aws:iam::111122223333:role/Admins', sessionName: 'example-user', accountId: '111122223333' });
  });

  it.runIf(hasDatasets)('recognises the Decrypt that S3 made on download although it names no keyId (key from resources[] without a type)', () => {
    const raw = records.find((r) => (r as { eventName: string }).eventName === 'Decrypt');

    const e = kms(raw);

    expect(e.keyArn).toBe('arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab');
    expect(e.keyIdParameter).toBeUndefined();
    expect(e.madeByS3).toBe(true);
    expect(e.encryptionContext?.['aws:s3:arn']).toBe('arn:aws:s3:::example_bucket/example_object');
  });

  it.runIf(hasDatasets)('reads the Panther S3 Decrypt with "AWS Internal" markers, a bucket context, lower-case arn and a zone-less eventTime as UTC', () => {
    const raw = datasetRecords(datasetFiles().find((f) => f.includes('panther-analysis-test-events-kms'))!).find((r) =>
      JSON.stringify(r).includes('aws:s3:arn'));

    const e = kms(raw);

    expect(e).toMatchObject({ madeByS3: true, invokedBy: 'AWS Internal', s3Arn: 'arn:aws:s3:::1111', keyArn: 'arn:aws:kms:us-west-2:123456789012:key/1111' });
    expect(e.eventTimeMs).toBe(Date.UTC(2021, 9, 19, 0, 56, 5));
  });

  it.runIf(hasDatasets)('treats Secrets Manager Decrypts (Permiso console sessions) as service-made but not S3-made', () => {
    const raw = datasetRecords(datasetFiles().find((f) => f.includes('permiso-console-session-events-kms'))!).find((r) =>
      (r as { eventName: string }).eventName === 'Decrypt');

    const e = kms(raw);

    expect(e.madeByAwsService).toBe(true);
    expect(e.invokedBy).toBe('secretsmanager.amazonaws.com');
    expect(e.madeByS3).toBe(false);
    expect(e.principal.id).toBe('unknown');
  });
});

describe('accountOfNamedKey', () => {
  it('gives an ARN\'s own account, the caller\'s for a key id or an alias name, and none for an ARN of anything else', () => {
    expect(accountOfNamedKey('arn:aws:kms:us-east-1:999988887777:key/3f1c0000-0000-4000-8000-0000000000ff', ACCOUNT)).toBe('999988887777');
    expect(accountOfNamedKey('arn:aws:kms:us-east-1:999988887777:alias/locker', ACCOUNT)).toBe('999988887777');
    expect(accountOfNamedKey('3f1c0000-0000-4000-8000-0000000000ff', ACCOUNT)).toBe(ACCOUNT);
    expect(accountOfNamedKey('alias/uploads', ACCOUNT)).toBe(ACCOUNT);
    expect(accountOfNamedKey('alias/uploads', undefined)).toBeUndefined();
    expect(accountOfNamedKey('arn:aws:s3:::bucket', ACCOUNT)).toBeUndefined();
  });
});

describe('normalizeRecord', () => {
  it('keeps the operations a grant allows, strings only, up to 32 of them', () => {
    const grant = (operations: unknown) => kms(kmsRecord({ eventName: 'CreateGrant', requestParameters: { granteePrincipal: 'arn:aws:iam::999988887777:role/x', operations } })).request;

    expect(grant(['Decrypt', 7, null, 'CreateGrant'])).toMatchObject({ grantee: 'arn:aws:iam::999988887777:role/x', grantOperations: ['Decrypt', 'CreateGrant'] });
    expect(grant(Array.from({ length: 40 }, (_, i) => `Op${i}`)).grantOperations).toHaveLength(32);
    expect(grant('Decrypt').grantOperations).toBeUndefined();
    expect(grant([]).grantOperations).toBeUndefined();
  });

  it('keeps the key a ReEncrypt names as its destination, as named; the call\'s key stays its source', () => {
    const destination = 'arn:aws:kms:us-east-1:999988887777:key/3f1c0000-0000-4000-8000-0000000000ff';
    const e = kms(kmsRecord({ eventName: 'ReEncrypt', requestParameters: { destinationKeyId: destination, destinationEncryptionAlgorithm: 'SYMMETRIC_DEFAULT' } }));

    expect(e.request.destinationKeyId).toBe(destination);
    expect(e.keyArn).toBe(KEY_ARN);
    expect(kms(kmsRecord({ eventName: 'ReEncrypt', requestParameters: { destinationKeyId: 42 } })).request.destinationKeyId).toBeUndefined();
  });

  it('keeps a ReEncrypt\'s destination ARN from its resources, which name the source and then the destination', () => {
    const destination = 'arn:aws:kms:us-east-1:999988887777:key/3f1c0000-0000-4000-8000-0000000000ff';
    const record = kmsRecord({ eventName: 'ReEncrypt', requestParameters: { destinationKeyId: 'alias/locker' } });
    const keys = (arns: readonly string[]) => arns.map((ARN) => ({ accountId: ARN.split(':')[4], type: 'AWS::KMS::Key', ARN }));

    expect(kms({ ...record, resources: keys([KEY_ARN, destination]) }).request).toMatchObject({ destinationKeyId: 'alias/locker', destinationKeyArn: destination });
    expect(kms({ ...record, resources: keys([KEY_ARN, KEY_ARN]) }).request.destinationKeyArn).toBe(KEY_ARN); // re-encrypted under its own key
    expect(kms({ ...record, resources: keys([KEY_ARN]) }).request.destinationKeyArn).toBeUndefined();
    // Only a ReEncrypt's: another call's second key resource is no destination.
    expect(kms({ ...kmsRecord(), resources: keys([KEY_ARN, destination]) }).request.destinationKeyArn).toBeUndefined();
  });

  it('notes a key policy set with the lockout safety check bypassed, only when the record says true', () => {
    const put = (bypassPolicyLockoutSafetyCheck: unknown) => kms(kmsRecord({ eventName: 'PutKeyPolicy', requestParameters: { policyName: 'default', policy: '{}', bypassPolicyLockoutSafetyCheck } })).request;

    expect(put(true).bypassPolicyLockoutSafetyCheck).toBe(true);
    for (const value of [false, 'true', 1, null]) expect(put(value)).not.toHaveProperty('bypassPolicyLockoutSafetyCheck');
  });

  it('folds an assumed-role session to the role ARN and keeps the session name apart', () => {
    const e = kms(kmsRecord({ who: { role: 'Reader', session: 'alice' } }));

    expect(e.principal).toMatchObject({ type: 'AssumedRole', id: `arn:aws:iam::${ACCOUNT}:role/Reader`, sessionName: 'alice', arn: `arn:aws:sts::${ACCOUNT}:assumed-role/Reader/alice` });
  });

  it('folds an assumed-role ARN without sessionContext', () => {
    const raw = kmsRecord({ who: { role: 'Reader', session: 's' } });
    delete (raw['userIdentity'] as Record<string, unknown>)['sessionContext'];

    expect(kms(raw).principal.id).toBe(`arn:aws:iam::${ACCOUNT}:role/Reader`);
  });

  it('marks service-linked roles as AWS service principals', () => {
    const raw = kmsRecord();
    (raw['userIdentity'] as Record<string, unknown>)['sessionContext'] = { sessionIssuer: { arn: `arn:aws:iam::${ACCOUNT}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling` } };

    expect(kms(raw).principal.isAwsService).toBe(true);
  });

  it('recognises the root user', () => {
    expect(kms(kmsRecord({ who: { root: true } })).principal).toMatchObject({ type: 'Root', id: `arn:aws:iam::${ACCOUNT}:root` });
  });

  it.each([
    ['AWS Internal', true],
    ['AWS Internal/3', true],
    ['internal.amazonaws.com', true],
    ['s3.amazonaws.com', true],
    ['fas.s3.amazonaws.com', true],
    ['203.0.113.7', false],
    ['2001:db8::1', false],
    ['aws-cli/2.17 amazonaws.com-agent', false],
  ])('treats sourceIPAddress %s as an AWS service marker: %s', (value, expected) => {
    expect(isAwsServiceMarker(value)).toBe(expected);
  });

  it.each(['AWS Internal', 'internal.amazonaws.com', 'fas.s3.amazonaws.com', 's3.amazonaws.com'])('recognises an S3-made call whatever the marker (%s)', (marker) => {
    const e = kms(kmsRecord({ s3Arn: 'arn:aws:s3:::b/k', viaService: marker }));

    expect(e.madeByS3).toBe(true);
    expect(e.invokedBy).toBe(marker);
  });

  it('does not call a Decrypt S3-made when the aws:s3:arn context comes from a real network address', () => {
    const raw = kmsRecord({ context: { 'aws:s3:arn': 'arn:aws:s3:::b/k' }, sourceIp: '198.51.100.23', userAgent: 'Boto3/1.34' });

    const e = kms(raw);

    expect(e.s3Arn).toBe('arn:aws:s3:::b/k');
    expect(e.madeByAwsService).toBe(false);
    expect(e.madeByS3).toBe(false);
  });

  describe('a directory bucket (S3 Express One Zone), whose calls name the bucket in aws:s3express:arn', () => {
    const bucketArn = 'arn:aws:s3express:us-west-2:111122223333:bucket/trades--usw2-az1--x-s3';

    it('recognises the GenerateDataKey S3 makes for it, named by the bucket', () => {
      const e = kms(kmsRecord({ eventName: 'GenerateDataKey', context: { 'aws:s3express:arn': bucketArn }, viaService: 'AWS Internal' }));

      expect(e).toMatchObject({ s3Arn: bucketArn, madeByAwsService: true, madeByS3: true });
      expect(e.encryptionContext).toEqual({ 'aws:s3express:arn': bucketArn });
    });

    it('reads the value as S3\'s documentation shows it logged, inside an S3 ARN\'s prefix, as the bucket\'s ARN', () => {
      const e = kms(kmsRecord({ context: { 'aws:s3express:arn': `arn:aws:s3:::${bucketArn}` }, viaService: 'AWS Internal' }));

      expect(e.s3Arn).toBe(bucketArn);
      expect(e.encryptionContext?.['aws:s3express:arn']).toBe(`arn:aws:s3:::${bucketArn}`);
    });

    it('keeps the bucket for a Decrypt from a real network address, which S3 did not make', () => {
      const e = kms(kmsRecord({ context: { 'aws:s3express:arn': bucketArn }, sourceIp: '198.51.100.23', userAgent: 'Boto3/1.34' }));

      expect(e).toMatchObject({ s3Arn: bucketArn, madeByAwsService: false, madeByS3: false });
    });

    it('goes by aws:s3:arn when a context holds both, and leaves any other value as logged', () => {
      expect(kms(kmsRecord({ context: { 'aws:s3express:arn': bucketArn, 'aws:s3:arn': 'arn:aws:s3:::b/k' } })).s3Arn).toBe('arn:aws:s3:::b/k');
      expect(kms(kmsRecord({ context: { 'aws:s3express:arn': 'arn:aws:s3:::b' } })).s3Arn).toBe('arn:aws:s3:::b');
    });

    it('calls a service-made call with no S3 context not S3-made, as before', () => {
      const e = kms(kmsRecord({ context: { 'aws:s3express:arnx': bucketArn }, viaService: 'AWS Internal' }));

      expect(e).toMatchObject({ s3Arn: undefined, madeByAwsService: true, madeByS3: false });
    });
  });

  it('recognises the KMS call S3 makes for a table of a table bucket (S3 Tables), whose aws:s3:arn names the table', () => {
    const tableArn = 'arn:aws:s3tables:us-east-1:111122223333:bucket/analytics/table/8f1c2a3b-0000-4000-8000-000000000001';

    expect(kms(kmsRecord({ eventName: 'GenerateDataKey', s3Arn: tableArn }))).toMatchObject({ s3Arn: tableArn, madeByS3: true });
  });

  it('recognises the KMS call S3 Vectors makes for a vector bucket, whose aws:s3vectors:arn names the bucket or an index', () => {
    const indexArn = 'arn:aws:s3vectors:us-east-1:111122223333:bucket/embeddings/index/docs';

    expect(kms(kmsRecord({ context: { 'aws:s3vectors:arn': indexArn, 'aws:s3vectors:resource-id': 'r-1' }, viaService: 's3vectors.amazonaws.com' }))).toMatchObject({ s3Arn: indexArn, madeByS3: true });
    expect(kms(kmsRecord({ context: { 'aws:s3vectors:arn': indexArn }, sourceIp: '198.51.100.23', userAgent: 'Boto3/1.34' }))).toMatchObject({ s3Arn: indexArn, madeByS3: false });
  });

  it('keeps failed calls with their error code', () => {
    const e = kms(kmsRecord({ errorCode: 'AccessDeniedException' }));

    expect(e.errorCode).toBe('AccessDeniedException');
  });

  it('takes the key from an ARN keyId when resources[] is empty, and notes aliases without guessing', () => {
    expect(kms(kmsRecord({ keyArn: null, keyId: KEY_ARN })).keyArn).toBe(KEY_ARN);
    const aliased = kms(kmsRecord({ keyArn: null, keyId: 'alias/app-data' }));
    expect(aliased.keyArn).toBeUndefined();
    expect(aliased.keyAlias).toBe('alias/app-data');
    const both = kms(kmsRecord({ keyId: `arn:aws:kms:us-east-1:${ACCOUNT}:alias/app-data` }));
    expect(both).toMatchObject({ keyArn: KEY_ARN, keyAlias: 'alias/app-data' });
  });

  it('builds the key ARN from a bare key id in the caller account and region', () => {
    const e = kms(kmsRecord({ keyArn: null, keyId: '1234abcd-12ab-34cd-56ef-1234567890ab', region: 'eu-west-1' }));

    expect(e.keyArn).toBe(`arn:aws:kms:eu-west-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`);
  });

  it('keeps __proto__ and constructor context keys as plain data', () => {
    const raw = JSON.parse(JSON.stringify(kmsRecord()).replace('"encryptionAlgorithm"', '"encryptionContext":{"__proto__":"x","constructor":"y","toString":"z"},"encryptionAlgorithm"'));

    const e = kms(raw);

    expect(Object.keys(e.encryptionContext ?? {})).toEqual(['__proto__', 'constructor', 'toString']);
    expect(e.encryptionContext?.['__proto__']).toBe('x');
    expect(({} as Record<string, unknown>)['x']).toBeUndefined();
  });

  it('normalizes an S3 GetObject data event', () => {
    const r = normalizeRecord(s3Record({ bucket: 'b', key: 'a/b c.txt', sourceIp: '203.0.113.7', bytesOut: 42, vpcEndpointId: 'vpce-1' }));

    expect(r.ok && r.event.kind).toBe('s3');
    const e = (r as { event: S3ObjectAccess }).event;
    expect(e).toMatchObject({ bucket: 'b', objectKey: 'a/b c.txt', objectArn: 'arn:aws:s3:::b/a/b c.txt', bucketArn: 'arn:aws:s3:::b', bytesOut: 42, sourceIp: '203.0.113.7', vpcEndpointId: 'vpce-1', isDataEvent: true });
  });

  it('names the object and bucket of an S3 data event in its Region\'s partition when its record gives no resources', () => {
    for (const [region, partition] of [['us-gov-west-1', 'aws-us-gov'], ['cn-northwest-1', 'aws-cn'], ['eu-west-1', 'aws']] as const) {
      const record = { ...s3Record({ bucket: 'b', key: 'k.csv' }), awsRegion: region, resources: undefined };

      const r = normalizeRecord(record);

      expect((r as { event: S3ObjectAccess }).event).toMatchObject({ region, objectArn: `arn:${partition}:s3:::b/k.csv`, bucketArn: `arn:${partition}:s3:::b` });
    }
  });

  it('reads SSEApplied and the requested KMS key of a PutObject', () => {
    const r = normalizeRecord(s3Record({ eventName: 'PutObject', sseApplied: 'SSE_KMS', kmsKeyId: KEY_ARN }));

    expect(r.ok && r.event).toMatchObject({ kind: 's3', sseApplied: 'SSE_KMS', requestedKmsKeyId: KEY_ARN });
  });

  it('tells a request signed ahead of it (a presigned URL\'s QueryString, a POST form\'s HtmlForm) from one signed in its header', () => {
    const presignedOf = (aed: unknown): unknown => {
      const record = s3Record();
      record['additionalEventData'] = aed;
      const r = normalizeRecord(record);
      return r.ok && r.event.kind === 's3' ? r.event.presigned : 'not an S3 access';
    };

    expect(presignedOf({ AuthenticationMethod: 'QueryString', SignatureVersion: 'SigV4' })).toBe(true);
    expect(presignedOf({ AuthenticationMethod: 'HtmlForm' })).toBe(true);
    expect(normalizeRecord(s3Record({ presigned: true }))).toMatchObject({ ok: true, event: { presigned: true } });
    for (const aed of [{ AuthenticationMethod: 'AuthHeader' }, { AuthenticationMethod: 'querystring' }, { AuthenticationMethod: 1 }, {}, undefined, 'QueryString']) expect(presignedOf(aed), JSON.stringify(aed)).toBe(false);
  });

  it('reads a customer-provided key (SSE-C) from the request when the record has no SSEApplied', () => {
    const record = s3Record({ eventName: 'CopyObject' });
    (record['requestParameters'] as Record<string, unknown>)['x-amz-server-side-encryption-customer-algorithm'] = 'AES256';
    const r = normalizeRecord(record);

    expect(r.ok && r.event).toMatchObject({ kind: 's3', sseApplied: 'SSE_C' });
  });

  it('reads the key S3\'s response says it encrypted under, also when the request named an alias or no key', () => {
    const applied = (o: Parameters<typeof s3Record>[0]) => {
      const r = normalizeRecord(s3Record({ eventName: 'PutObject', ...o }));
      return r.ok && r.event.kind === 's3' ? [r.event.requestedKmsKeyId, r.event.appliedKmsKeyId] : 'not an S3 access';
    };

    expect(applied({ kmsKeyId: 'alias/finance', appliedKmsKeyId: KEY_ARN })).toEqual(['alias/finance', KEY_ARN]);
    expect(applied({ sseApplied: 'Default_SSE_KMS', appliedKmsKeyId: KEY_ARN })).toEqual([undefined, KEY_ARN]);
    expect(applied({ sseApplied: 'SSE_S3' })).toEqual([undefined, undefined]);
  });

  it('uses @timestamp when Logstash replaced eventTime', () => {
    const raw = kmsRecord();
    delete raw['eventTime'];
    raw['@timestamp'] = '2020-09-14T01:02:34.000Z';

    expect(kms(raw).eventTimeMs).toBe(Date.parse('2020-09-14T01:02:34.000Z'));
  });

  it.each([
    [null, 'record is null, not a JSON object'],
    [[1], 'record is an array, not a JSON object'],
    ['text', 'record is string, not a JSON object'],
    [{ eventVersion: '2.0', eventSource: 'kms.amazonaws.com' }, 'unsupported eventVersion "2.0"'],
    [{ eventVersion: '1.08' }, 'missing field eventSource'],
    [{ eventSource: 'kms.amazonaws.com', eventName: 'Decrypt' }, 'missing field eventTime'],
    [{ eventSource: 'kms.amazonaws.com', eventName: 'Decrypt', eventTime: 'redacted' }, 'invalid eventTime "redacted"'],
    [{ eventSource: 'kms.amazonaws.com', eventName: 'Decrypt', eventTime: '2026-10-01T00:00:00Z' }, 'missing field eventID'],
  ])('fails %j with a one-line reason', (raw, reason) => {
    expect(normalizeRecord(raw)).toEqual({ ok: false, outcome: 'failed', reason });
  });

  it('skips Insights events with a reason', () => {
    expect(normalizeRecord({ eventVersion: '1.08', eventType: 'AwsCloudTrailInsight', insightDetails: {} })).toEqual({ ok: false, outcome: 'skipped', reason: 'insight-event' });
  });

  // The VPC endpoint owner's record of a call through its endpoint (the AWS CloudTrail guide's network activity
  // example): no requestParameters, no resources, its own eventID and a sharedEventID.
  const networkActivity = {
    eventVersion: '1.09', eventTime: '2024-06-04T23:12:50Z', eventSource: 'kms.amazonaws.com', eventName: 'Decrypt', awsRegion: 'us-east-1',
    userIdentity: { type: 'AssumedRole', principalId: 'AROAEXAMPLE:app', arn: 'arn:aws:sts::123456789012:assumed-role/Admin/app', accountId: '123456789012' },
    sourceIPAddress: '192.0.2.0', requestID: '16bcc089-ac49-43f1-9177-EXAMPLE23731', eventID: '228ca3c8-5f95-4a8a-9732-EXAMPLE60ed9', eventType: 'AwsVpceEvent',
    recipientAccountId: '123456789012', sharedEventID: 'a1f3720c-ef19-47e9-a5d5-EXAMPLE8099f', vpcEndpointId: 'vpce-EXAMPLE08c1b6b9b7', vpcEndpointAccountId: '123456789012',
    eventCategory: 'NetworkActivity',
  };
  it('keeps a network activity event of KMS apart from the calls, as the endpoint owner\'s record of one, not a key use of no key', () => {
    expect(normalizeRecord(networkActivity)).toEqual({
      ok: true,
      event: {
        eventId: '228ca3c8-5f95-4a8a-9732-EXAMPLE60ed9', sharedEventId: 'a1f3720c-ef19-47e9-a5d5-EXAMPLE8099f', eventTimeMs: Date.UTC(2024, 5, 4, 23, 12, 50),
        eventName: 'Decrypt', region: 'us-east-1',
        principal: { type: 'AssumedRole', id: 'arn:aws:iam::123456789012:role/Admin', isAwsService: false, arn: 'arn:aws:sts::123456789012:assumed-role/Admin/app', sessionName: 'app', accountId: '123456789012', accessKeyId: undefined },
        recipientAccountId: '123456789012', sourceIp: '192.0.2.0', userAgent: undefined, vpcEndpointId: 'vpce-EXAMPLE08c1b6b9b7', errorCode: undefined, errorMessage: undefined, readOnly: undefined,
        kind: 'vpce', eventSource: 'kms.amazonaws.com', vpcEndpointAccountId: '123456789012',
      },
    });
  });

  it.each([
    ['denied by the endpoint policy, for a caller of another account', { ...networkActivity, errorCode: 'VpceAccessDenied', userIdentity: { type: 'AWSAccount', principalId: 'AIDAEXAMPLE', accountId: '999988887777' } }],
    ['of S3', { ...networkActivity, eventSource: 's3.amazonaws.com', eventName: 'GetObject' }],
    ['known by its category alone', { ...networkActivity, eventType: undefined }],
    ['known by its type alone', { ...networkActivity, eventCategory: undefined }],
    ['without an eventID (as Panther\'s test records)', { ...networkActivity, eventID: undefined }],
  ])('keeps a network activity event (%s) as such', (_, raw) => {
    const r = normalizeRecord(raw);
    expect(r.ok && r.event.kind).toBe('vpce');
    expect(r.ok && r.event.kind === 'vpce' && r.event.eventSource).toBe(raw.eventSource);
  });

  it.each([
    ['of EC2', { ...networkActivity, eventSource: 'ec2.amazonaws.com', eventName: 'DescribeInstances' }],
    ['of CloudTrail', { ...networkActivity, eventSource: 'cloudtrail.amazonaws.com', eventName: 'UpdateTrail' }],
    ['naming no service', { ...networkActivity, eventSource: undefined }],
  ])('skips a network activity event %s with a reason: no rule reads it', (_, raw) => {
    expect(normalizeRecord(raw)).toEqual({ ok: false, outcome: 'skipped', reason: 'network-activity-event' });
  });

  it.each([
    ['an update of an event (UPDATED_DATA) goes by the eventID of the event it updates', { reason: 'UPDATED_DATA', updatedFields: 'userIdentity', originalRequestID: 'r-1', originalEventID: 'e-original' }, 'e-original'],
    ['a delivery delay leaves the eventID as it is', { reason: 'DELIVERY_DELAY' }, 'e-copy'],
    ['an update that names no original leaves it as it is', { reason: 'UPDATED_DATA', originalEventID: 7 }, 'e-copy'],
    ['an addendum that is not an object leaves it as it is', 'UPDATED_DATA', 'e-copy'],
  ])('%s', (_, addendum, eventId) => {
    for (const raw of [
      { eventSource: 'kms.amazonaws.com', eventName: 'Decrypt', eventTime: '2026-10-01T00:00:00Z', eventID: 'e-copy', addendum },
      { eventSource: 's3.amazonaws.com', eventName: 'GetObject', eventTime: '2026-10-01T00:00:00Z', eventID: 'e-copy', eventCategory: 'Data', requestParameters: { bucketName: 'b', key: 'k' }, addendum },
      { eventSource: 'ec2.amazonaws.com', eventName: 'RunInstances', eventTime: '2026-10-01T00:00:00Z', eventID: 'e-copy', addendum },
    ]) {
      const r = normalizeRecord(raw);
      expect(r.ok && r.event.eventId).toBe(eventId);
    }
  });

  it('counts other API calls as other events', () => {
    const r = normalizeRecord({ eventSource: 'ec2.amazonaws.com', eventName: 'DescribeInstances', eventTime: '2026-10-01T00:00:00Z' });

    expect(r.ok && r.event.kind).toBe('other');
  });

  it('keeps the request parameters of the calls rules read (trail and EventBridge rule changes), and of no other', () => {
    const parameters = (eventSource: string) => {
      const r = normalizeRecord({ eventSource, eventName: 'DisableRule', eventTime: '2026-10-01T00:00:00Z', requestParameters: { name: 'kms-decrypt-monitor-kms-calls' } });
      return r.ok && r.event.kind === 'other' ? r.event.requestParameters : 'not an other event';
    };

    expect(parameters('events.amazonaws.com')).toEqual({ name: 'kms-decrypt-monitor-kms-calls' });
    expect(parameters('cloudtrail.amazonaws.com')).toEqual({ name: 'kms-decrypt-monitor-kms-calls' });
    expect(parameters('ec2.amazonaws.com')).toBeUndefined();
  });

  it('keeps the request parameters of S3\'s default-encryption calls, and of no other S3 bucket call', () => {
    const configuration = { xmlns: 'http://s3.amazonaws.com/doc/2006-03-01/', Rule: { ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: 'arn:aws:kms:us-east-1:999988887777:key/k' } } };
    const parameters = (eventName: string) => {
      const r = normalizeRecord({ eventSource: 's3.amazonaws.com', eventName, eventID: 'e-1', eventTime: '2026-10-01T00:00:00Z', managementEvent: true, eventCategory: 'Management', requestParameters: { bucketName: 'finance', ServerSideEncryptionConfiguration: configuration } });
      return r.ok && r.event.kind === 'other' ? r.event.requestParameters : 'not an other event';
    };

    expect(parameters('PutBucketEncryption')).toEqual({ bucketName: 'finance', ServerSideEncryptionConfiguration: configuration });
    expect(parameters('DeleteBucketEncryption')).toEqual({ bucketName: 'finance', ServerSideEncryptionConfiguration: configuration });
    expect(parameters('PutBucketPolicy')).toBeUndefined();
  });

  it('dedupes cross-account copies on sharedEventID and the rest on eventID', () => {
    expect(dedupeKeyOf({ eventId: 'a', sharedEventId: 's' })).toBe('s:s');
    expect(dedupeKeyOf({ eventId: 'a' })).toBe('e:a');
    expect(dedupeKeyOf({ eventId: '' })).toBeUndefined();
  });

  it('dedupes a network activity event on its own eventID, apart from the calls, whose sharedEventID it may carry', () => {
    expect(dedupeKeyOf({ kind: 'vpce', eventId: 'a', sharedEventId: 's' })).toBe('v:a');
    expect(dedupeKeyOf({ kind: 'vpce', eventId: '', sharedEventId: 's' })).toBeUndefined();
  });

  it('clips huge strings so one record cannot hold megabytes in memory', () => {
    const e = kms(kmsRecord({ userAgent: 'x'.repeat(1_000_000) }));

    expect(e.userAgent?.length).toBeLessThanOrEqual(2048);
    expect(e.userAgent?.endsWith('[truncated]')).toBe(true);
  });

  it('replaces lone surrogates with U+FFFD, so every string it hands on is valid UTF-8', () => {
    const e = kms(kmsRecord({ s3Arn: 'arn:aws:s3:::example-bucket/a\ud800b', context: { ['k\udc00']: 'v\ud83d' }, userAgent: 'ok \ud83d\ude00' }));

    expect(e.s3Arn).toBe('arn:aws:s3:::example-bucket/a\ufffdb');
    expect(e.encryptionContext?.['k\ufffd']).toBe('v\ufffd');
    expect(e.userAgent).toBe('ok \ud83d\ude00'); // a whole pair is kept
  });

  it('leaves no half of a surrogate pair where it clips', () => {
    const e = kms(kmsRecord({ userAgent: `${'x'.repeat(2048 - '…[truncated]'.length - 1)}${'\ud83d\ude00'.repeat(10)}` }));

    expect(e.userAgent?.isWellFormed()).toBe(true);
    expect(e.userAgent?.endsWith('\ufffd…[truncated]')).toBe(true);
  });
});

describe('normalizeRecord builds every event of a kind with the same fields in the same order', () => {
  // What lets the events of a kind share one hidden class in V8: the engine's property reads and copies then stay
  // on fast paths. Checked on every record of the shared datasets and on the builders' varied records.
  it.runIf(hasDatasets)('on the shared datasets, principals and S3 requests included', () => {
    const layouts = new Map<string, Set<string>>();
    const note = (label: string, o: object | undefined): void => {
      if (o === undefined) return;
      const set = layouts.get(label) ?? new Set<string>();
      set.add(Object.keys(o).join(','));
      layouts.set(label, set);
    };
    let events = 0;
    for (const file of datasetFiles()) {
      for (const raw of datasetRecords(file)) {
        const r = normalizeRecord(raw);
        if (!r.ok) continue;
        events++;
        note(r.event.kind, r.event);
        note('principal', r.event.principal);
      }
    }
    const varied = [
      kmsRecord({}),
      kmsRecord({ s3Arn: 'arn:aws:s3:::b/k', errorCode: 'AccessDenied', who: { user: 'u' } }),
      kmsRecord({ eventName: 'ScheduleKeyDeletion', context: null, who: { root: true }, sharedEventId: 'shared' }),
      s3Record({ bucket: 'b', key: 'k' }),
      s3Record({ eventName: 'CopyObject', bucket: 'b', key: 'k', sseApplied: 'SSE_KMS', who: { service: 's3.amazonaws.com' } }),
      networkRecord({}),
      networkRecord({ eventSource: 's3.amazonaws.com', eventName: 'GetObject', who: { outsideAccount: '999988887777' }, denied: true }),
    ];
    for (const raw of varied) {
      const r = normalizeRecord(raw);
      if (r.ok) note(r.event.kind, r.event);
      if (r.ok) note('principal', r.event.principal);
    }

    expect(events).toBeGreaterThan(100);
    expect([...layouts.keys()].sort()).toEqual(['kms', 'other', 'principal', 's3', 'vpce']);
    for (const [label, set] of layouts) expect([label, set.size]).toEqual([label, 1]);
  });
});
