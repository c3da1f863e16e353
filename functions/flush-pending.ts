import { createFlushHandler } from '#app/live.ts';
import { createLiveDeps } from './shared/live-deps.ts';

/** Every few minutes: decides KMS calls that waited past the lateness allowance, publishes the outbox. */
export const handler = createFlushHandler(createLiveDeps());
