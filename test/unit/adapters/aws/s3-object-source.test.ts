import { gzipSync } from 'node:zlib';
import { S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { objectsInNotification } from '#adapters/aws/s3-notifications.ts';
import { createS3ObjectSource } from '#adapters/aws/s3-object-source.ts';
import { DEFAULT_MAX_FILE_BYTES, parseCloudTrailBuffer } from '#adapters/local/cloudtrail-files.ts';
import { createMemoryStateStore } from '#adapters/memory/memory-state-store.ts';
import { ingestLogObject } from '#app/ingest-log-objects.ts';
import { createRecordProcessor } from '#app/process-records.ts';
import { createEngine } from '#core/engine.ts';
import { InputError } from '#core/errors.ts';
import { ALL_RULES } from '#core/rules/registry.ts';
import { kmsRecord } from '#core/testing/builders.ts';
import { scriptedHttp, TEST_CREDENTIALS } from '../../../helpers/fake-http.ts';

const notification = (key: string, eventName = 'ObjectCreated:Put') =>
  JSON.stringify({ Records: [{ eventVersion: '2.1', eventSource: 'aws:s3', eventName, s3: { bucket: { name: 'org-trail' }, object: { key, size: 100 } } }] });

describe('S3 ObjectCreated notifications', () => {
  it('names the created objects, decoding keys as S3 encodes them', () => {
    expect(objectsInNotification(notification('AWSLogs/111122223333/CloudTrail/us-east-1/2026/10/01/a+b%3Dc.json.gz'))).toEqual([
      { bucket: 'org-trail', key: 'AWSLogs/111122223333/CloudTrail/us-east-1/2026/10/01/a b=c.json.gz' },
    ]);
  });

  it('reads the same notification in an SNS envelope, and CloudTrail\'s own SNS notification of delivered log files', () => {
    const key = 'AWSLogs/111122223333/CloudTrail/us-east-1/2026/10/01/111122223333_CloudTrail_us-east-1_20261001T0000Z_a.json.gz';
    const envelope = (message: string) => JSON.stringify({ Type: 'Notification', MessageId: 'x', TopicArn: 'arn:aws:sns:us-east-1:111122223333:trail-files', Message: message });
    const cloudTrailNotification = JSON.stringify({ s3Bucket: 'org-trail', s3ObjectKey: [key, 'AWSLogs/b c.json.gz'] });

    expect(objectsInNotification(envelope(notification(encodeURIComponent(key))))).toEqual([{ bucket: 'org-trail', key }]);
    // CloudTrail writes the keys as they are, not URL-encoded.
    expect(objectsInNotification(envelope(cloudTrailNotification))).toEqual([{ bucket: 'org-trail', key }, { bucket: 'org-trail', key: 'AWSLogs/b c.json.gz' }]);
    expect(objectsInNotification(cloudTrailNotification)).toHaveLength(2);
  });

  it('refuses a message that names no log file, so it is retried and kept instead of consumed unread', () => {
    for (const body of ['{"hello":"world"}', 'not json', '[]', JSON.stringify({ Type: 'Notification', Message: '{"nested":true}' }), JSON.stringify({ Type: 'Notification', Message: '<xml/>' })]) {
      expect(() => objectsInNotification(body)).toThrow(InputError);
    }
    expect(() => objectsInNotification('{"hello":"world"}')).toThrow(/^SQS message: names no log file \(expected an S3 event notification, the same in an SNS envelope, or CloudTrail's SNS notification/);
  });

  it('skips test events and other event kinds', () => {
    expect(objectsInNotification(JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent', Bucket: 'org-trail' }))).toEqual([]);
    expect(objectsInNotification(notification('x.json.gz', 'ObjectRemoved:Delete'))).toEqual([]);
  });
});

describe('S3ObjectSource and ingestLogObject (real S3Client, scripted HTTP)', () => {
  const records = [kmsRecord({ eventId: 's3-a', who: { root: true } }), kmsRecord({ eventId: 's3-b' })];
  const gz = gzipSync(JSON.stringify({ Records: records }));

  const setup = (reply: { status: number; headers?: Record<string, string>; body: unknown }) => {
    const http = scriptedHttp([reply]);
    const client = new S3Client({ region: 'us-east-1', credentials: TEST_CREDENTIALS, requestHandler: http.handler, maxAttempts: 1 });
    return { http, source: createS3ObjectSource(client) };
  };

  it('reads a CloudTrail log file and runs it through the replay reader and engine', async () => {
    const { http, source } = setup({ status: 200, headers: { 'content-type': 'application/octet-stream', 'content-length': String(gz.length) }, body: gz });
    const processor = createRecordProcessor({ engine: createEngine({ rules: ALL_RULES }), store: createMemoryStateStore(), clock: { nowMs: () => 0 } });

    const outcome = await ingestLogObject({ bucket: 'org-trail', key: 'AWSLogs/111122223333/CloudTrail/us-east-1/2026/10/01/f.json.gz' }, {
      source,
      processor,
      parse: (file, bytes, maxBytes) => parseCloudTrailBuffer(file, Buffer.from(bytes), { maxFileBytes: maxBytes }),
      maxBytes: DEFAULT_MAX_FILE_BYTES,
    });

    expect(http.requests[0]).toMatchObject({ method: 'GET', path: '/AWSLogs/111122223333/CloudTrail/us-east-1/2026/10/01/f.json.gz' });
    expect(outcome.records).toBe(2);
    expect(outcome.findings.map((f) => f.ruleId)).toEqual(['kms-root-usage']);
    expect(processor.summary.records).toMatchObject({ read: 2, processed: 2 });
  });

  it('refuses an object over the size cap before reading it, naming it', async () => {
    const { source } = setup({ status: 200, headers: { 'content-length': '999999999' }, body: '' });

    const error = await source.read('org-trail', 'AWSLogs/big.json.gz', 1024).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toBe('s3://org-trail/AWSLogs/big.json.gz: object is 999999999 bytes, over the 1024-byte cap');
  });
});
