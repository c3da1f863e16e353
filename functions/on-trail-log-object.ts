import { objectsInNotification } from '#adapters/aws/s3-notifications.ts';
import { createTrailLogObjectHandler } from '#adapters/lambda/handlers.ts';
import { createLiveDeps } from './shared/live-deps.ts';

/** SQS batch of S3 ObjectCreated notifications for CloudTrail log files → the replay reader and the engine. */
export const handler = createTrailLogObjectHandler(await createLiveDeps(), objectsInNotification);
