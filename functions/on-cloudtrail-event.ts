import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createLambdaDeps } from './shared/lambda-deps.ts';

const deps = createLambdaDeps();

/** SQS batch of EventBridge "AWS API Call via CloudTrail" envelopes → the same engine as `kdm replay`. */
export const handler = async (event: SQSEvent): Promise<SQSBatchResponse> => {
  const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
  const records: unknown[] = [];
  for (const message of event.Records) {
    try {
      const envelope = JSON.parse(message.body) as { detail?: unknown };
      records.push(envelope.detail ?? envelope);
    } catch {
      batchItemFailures.push({ itemIdentifier: message.messageId });
    }
  }
  await deps.processor.processBatch({ file: 'sqs', records, firstIndex: 0 });
  return { batchItemFailures };
};
