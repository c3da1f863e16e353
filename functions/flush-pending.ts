import { createFlushHandler } from '#adapters/lambda/handlers.ts';
import { mapStackTracesToSources } from '#adapters/lambda/source-mapped-stacks.ts';
import { createLiveDeps } from './shared/live-deps.ts';

mapStackTracesToSources(); // before anything can fail: a cold start's own errors name their sources too

/** Every few minutes: decides KMS calls that waited past the lateness allowance, publishes the outbox. */
export const handler = createFlushHandler(await createLiveDeps());
