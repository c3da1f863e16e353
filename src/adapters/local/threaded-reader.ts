import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import type { NormalizeResult } from '#core/events/types.ts';
import type { RecordBatch, SourceItem } from '#core/ports.ts';
import { readCloudTrailFile, type InputFile, type ReadOptions } from './cloudtrail-files.ts';
import { decodeNormalized } from './normalized-codec.ts';
import type { EncodedValue } from './transfer-codec.ts';

/** What the reader thread sends back: the reader's own items, with batches already normalized (and encoded). */
export type ReaderMessage =
  | Exclude<SourceItem, { type: 'batch' }>
  | { readonly type: 'normalized'; readonly batch: Omit<RecordBatch, 'records'>; readonly encoded: EncodedValue };

/** What `readInputs` yields: the reader's items, with batches normalized. */
export type ReadItem =
  | Exclude<SourceItem, { type: 'batch' }>
  | { readonly type: 'normalized'; readonly batch: Omit<RecordBatch, 'records'>; readonly results: readonly NormalizeResult[] };

/** Files read ahead of the engine at most: bounds the memory the queue can hold. */
const READ_AHEAD_FILES = 3;

/**
 * Reads the inputs in order on a worker thread (read + gunzip + JSON.parse + normalize), a few files ahead
 * of the caller. Falls back to reading on this thread when no worker script is available (running from
 * sources), for standard input, or when asked for one thread.
 */
export async function* readInputs(inputs: readonly InputFile[], options: ReadOptions & { readonly workerScript?: URL; readonly threads?: number }): AsyncGenerator<ReadItem | SourceItem> {
  const script = options.workerScript;
  const threaded = (options.threads ?? 2) > 1 && script !== undefined && existsSync(script) && inputs.every((i) => i.path !== '-');
  if (!threaded) {
    for (const input of inputs) yield* readCloudTrailFile(input, options);
    return;
  }
  const worker = new Worker(script);
  const waiting: ReaderMessage[] = [];
  let wake: (() => void) | undefined;
  let failure: Error | undefined;
  worker.on('message', (m: ReaderMessage) => {
    waiting.push(m);
    wake?.();
  });
  worker.on('error', (e) => {
    failure = e;
    wake?.();
  });
  const readOptions = { ...(options.maxFileBytes !== undefined ? { maxFileBytes: options.maxFileBytes } : {}), ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}) };
  let asked = 0;
  const ask = (): void => {
    if (asked < inputs.length) worker.postMessage({ input: inputs[asked++], options: readOptions });
  };
  try {
    for (let i = 0; i < READ_AHEAD_FILES; i++) ask();
    let done = 0;
    while (done < inputs.length) {
      while (waiting.length === 0 && failure === undefined) await new Promise<void>((r) => (wake = r));
      if (failure !== undefined) throw failure;
      const m = waiting.shift() as ReaderMessage;
      if (m.type === 'file-done') {
        done++;
        ask();
      }
      yield m.type === 'normalized' ? { type: 'normalized', batch: m.batch, results: decodeNormalized(m.encoded) } : m;
    }
  } finally {
    await worker.terminate();
  }
}
