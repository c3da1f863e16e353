import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SQSEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { REPO } from '../helpers/cli.ts';

const sqsEvent = (bodies: readonly string[]): SQSEvent => ({
  Records: bodies.map((body, i) => ({
    messageId: `m-${i}`,
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

describe('functions/on-cloudtrail-event handler', () => {
  it('processes an SQS batch of EventBridge envelopes from events/ and reports unparseable messages as item failures', async () => {
    const { handler } = await import('../../functions/on-cloudtrail-event.ts');
    const envelopes = [
      readFileSync(join(REPO, 'events/eventbridge/kms-decrypt.json'), 'utf8'),
      ...readFileSync(join(REPO, 'events/eventbridge/s3-read.ndjson'), 'utf8').split('\n').filter(Boolean),
      '{not json',
    ];

    const response = await handler(sqsEvent(envelopes));

    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm-3' }]);
  });
});
