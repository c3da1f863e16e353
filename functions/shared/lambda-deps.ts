import { createRecordProcessor, type RecordProcessor } from '#app/process-records.ts';
import { S3Client } from '@aws-sdk/client-s3';
import { createS3ObjectSource } from '#adapters/aws/s3-object-source.ts';
import { DEFAULT_MAX_FILE_BYTES, parseCloudTrailBuffer } from '#adapters/local/cloudtrail-files.ts';
import { createMemoryStateStore } from '#adapters/memory/memory-state-store.ts';
import type { IngestDeps } from '#app/ingest-log-objects.ts';
import { createEngine } from '#core/engine.ts';
import { DEFAULT_ENGINE_CONFIG } from '#core/engine-config.ts';
import { ALL_RULES } from '#core/rules/registry.ts';
import type { StateStore } from '#core/ports.ts';

/**
 * Composition root for the Lambda functions: adapters are built once per cold start. Until the DynamoDB
 * store and its scheduled flush land (deployment issue), state lives in the container: enough for local
 * runs and tests, not for production (a container's waiting correlation halves are decided only when later
 * events in the same container move the watermark past them).
 */
export const createLambdaDeps = (store: StateStore = createMemoryStateStore()): { processor: RecordProcessor } => ({
  processor: createRecordProcessor({ engine: createEngine({ rules: ALL_RULES, config: DEFAULT_ENGINE_CONFIG }), store, clock: { nowMs: Date.now } }),
});

/** For the S3-notification path: the same processor, plus S3 as the object source and the replay reader. */
export const createLogObjectDeps = (store: StateStore = createMemoryStateStore()): IngestDeps => ({
  processor: createLambdaDeps(store).processor,
  source: createS3ObjectSource(new S3Client({})),
  parse: (file, bytes, maxBytes) => parseCloudTrailBuffer(file, Buffer.from(bytes), { maxFileBytes: maxBytes }),
  maxBytes: DEFAULT_MAX_FILE_BYTES,
});
