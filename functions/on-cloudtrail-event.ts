import { createCloudTrailEventHandler } from '#adapters/lambda/handlers.ts';
import { createLiveDeps } from './shared/live-deps.ts';

/** SQS batch of EventBridge CloudTrail envelopes → the same engine as `kdm replay`, state in DynamoDB. */
export const handler = createCloudTrailEventHandler(await createLiveDeps());
