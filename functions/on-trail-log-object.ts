import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { objectsInNotification } from '#adapters/aws/s3-object-source.ts';
import { ingestLogObject } from '#app/ingest-log-objects.ts';
import { createLogObjectDeps } from './shared/lambda-deps.ts';

const deps = createLogObjectDeps();

/** SQS batch of S3 ObjectCreated notifications for CloudTrail log files → the same reader and engine as `kdm replay`. */
export const handler = async (event: SQSEvent): Promise<SQSBatchResponse> => {
  const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
  for (const message of event.Records) {
    try {
      for (const object of objectsInNotification(message.body)) await ingestLogObject(object, deps);
    } catch {
      batchItemFailures.push({ itemIdentifier: message.messageId });
    }
  }
  return { batchItemFailures };
};
