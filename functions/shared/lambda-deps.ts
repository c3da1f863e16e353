import { createRecordProcessor, type RecordProcessor } from '#app/process-records.ts';
import { createMemoryStateStore } from '#adapters/memory/memory-state-store.ts';
import { createEngine } from '#core/engine.ts';
import { DEFAULT_ENGINE_CONFIG } from '#core/engine-config.ts';
import { ALL_RULES } from '#core/rules/registry.ts';
import type { StateStore } from '#core/ports.ts';

/**
 * Composition root for the Lambda functions: adapters are built once per cold start. Until the DynamoDB
 * store lands (deployment issue), state lives in the container, which is enough for local runs and tests.
 */
export const createLambdaDeps = (store: StateStore = createMemoryStateStore()): { processor: RecordProcessor } => ({
  processor: createRecordProcessor({ engine: createEngine({ rules: ALL_RULES, config: DEFAULT_ENGINE_CONFIG }), store, clock: { nowMs: Date.now } }),
});
