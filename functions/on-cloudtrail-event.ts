import { createCloudTrailEventHandler } from '#adapters/lambda/handlers.ts';
import { mapStackTracesToSources } from '#adapters/lambda/source-mapped-stacks.ts';
import { createLiveDeps } from './shared/live-deps.ts';

mapStackTracesToSources(); // before anything can fail: a cold start's own errors name their sources too

/** SQS batch of EventBridge CloudTrail envelopes → the same engine as `kdm replay`, state in DynamoDB. */
export const handler = createCloudTrailEventHandler(await createLiveDeps());
