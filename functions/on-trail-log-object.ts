import { objectsInNotification } from '#adapters/aws/s3-notifications.ts';
import { createTrailLogObjectHandler } from '#adapters/lambda/handlers.ts';
import { mapStackTracesToSources } from '#adapters/lambda/source-mapped-stacks.ts';
import { createLiveDeps } from './shared/live-deps.ts';

mapStackTracesToSources(); // before anything can fail: a cold start's own errors name their sources too

/** SQS batch of S3 ObjectCreated notifications for CloudTrail log files → the replay reader and the engine. */
export const handler = createTrailLogObjectHandler(await createLiveDeps(), objectsInNotification);
