import { join } from 'node:path';
import type { SQSEvent } from 'aws-lambda';
import { expandInputs, readCloudTrailFile } from '#adapters/local/cloudtrail-files.ts';
import { REPO } from './cli.ts';

/** An SQS batch as the event source mapping hands it to a function: one message a body, ids from `m-<offset>`. */
export const sqsEvent = (bodies: readonly string[], offset = 0): SQSEvent => ({
  Records: bodies.map((body, i) => ({
    messageId: `m-${offset + i}`,
    receiptHandle: 'r',
    body,
    attributes: { ApproximateReceiveCount: '1', SentTimestamp: '0', SenderId: 's', ApproximateFirstReceiveTimestamp: '0' },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:111122223333:kdm-events',
    awsRegion: 'us-east-1',
  })),
});

/** Every record the replay reader finds in events/, as EventBridge delivers it: one envelope per record. */
export const envelopesFromEvents = async (): Promise<string[]> => {
  const out: string[] = [];
  for (const input of await expandInputs([join(REPO, 'events')], () => undefined)) {
    for await (const item of readCloudTrailFile(input)) {
      if (item.type !== 'batch') continue;
      for (const record of item.batch.records) out.push(JSON.stringify({ version: '0', id: 'e', 'detail-type': 'AWS API Call via CloudTrail', source: 'aws.kms', account: '111122223333', time: '2026-01-01T00:00:00Z', region: 'us-east-1', resources: [], detail: record }));
    }
  }
  return out;
};
