import { createRecordProcessor, type RecordProcessor } from '#app/process-records.ts';
import { createMemoryStateStore } from '#adapters/memory/memory-state-store.ts';
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
