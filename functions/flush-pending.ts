import { createFlushHandler } from '#adapters/lambda/handlers.ts';
import { createLiveDeps } from './shared/live-deps.ts';

/** Every few minutes: decides KMS calls that waited past the lateness allowance, publishes the outbox. */
export const handler = createFlushHandler(await createLiveDeps());
