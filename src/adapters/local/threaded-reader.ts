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

/** Files each reader thread reads ahead of the engine at most: bounds the memory the queues can hold. */
const READ_AHEAD_FILES = 3;
/**
 * A reader thread's young generation (MB): a file's records live until they are normalized and sent, so a small
 * one only moves them to the old generation sooner. With 6 MB (2 MB semi-spaces) each reader's heap was 13–15 MB
 * instead of 24 and a 1M-record replay peaked 25–30 MB lower, for 3–4% more CPU; 3 MB took 15% more.
 */
const READER_YOUNG_GENERATION_MB = 6;

/**
 * Reads the inputs in order on `readers` worker threads (read + gunzip + JSON.parse + normalize), a few files
 * ahead of the caller: file i goes to reader i mod `readers`, and items come back in input order. Falls back to
 * reading on this thread when no worker script is available (running from sources), for standard input, or
 * when asked for no reader thread.
 */
export async function* readInputs(inputs: readonly InputFile[], options: ReadOptions & { readonly workerScript?: URL; readonly readers?: number }): AsyncGenerator<ReadItem | SourceItem> {
  const script = options.workerScript;
  const count = Math.min(options.readers ?? 1, inputs.length);
  if (count < 1 || script === undefined || !existsSync(script) || inputs.some((i) => i.path === '-')) {
    for (const input of inputs) yield* readCloudTrailFile(input, options);
    return;
  }
  const readOptions = { ...(options.maxFileBytes !== undefined ? { maxFileBytes: options.maxFileBytes } : {}), ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}) };
  let wake: (() => void) | undefined;
  let failure: Error | undefined;
  const readers = Array.from({ length: count }, (_, r) => {
    const worker = new Worker(script, { resourceLimits: { maxYoungGenerationSizeMb: READER_YOUNG_GENERATION_MB } });
    const waiting: ReaderMessage[] = [];
    worker.on('message', (m: ReaderMessage) => {
      waiting.push(m);
      wake?.();
    });
    worker.on('error', (e) => {
      failure = e;
      wake?.();
    });
    // The next input this reader is to read: its files are r, r + count, r + 2 count, ...
    let next = r;
    const ask = (): void => {
      if (next < inputs.length) worker.postMessage({ input: inputs[next], options: readOptions });
      next += count;
    };
    return { worker, waiting, ask };
  });
  try {
    for (const reader of readers) for (let i = 0; i < READ_AHEAD_FILES; i++) reader.ask();
    for (let done = 0; done < inputs.length; ) {
      const reader = readers[done % count] as (typeof readers)[number];
      while (reader.waiting.length === 0 && failure === undefined) await new Promise<void>((r) => (wake = r));
      if (failure !== undefined) throw failure;
      const m = reader.waiting.shift() as ReaderMessage;
      if (m.type === 'file-done') {
        done++;
        reader.ask();
      }
      yield m.type === 'normalized' ? { type: 'normalized', batch: m.batch, results: decodeNormalized(m.encoded) } : m;
    }
  } finally {
    await Promise.all(readers.map((r) => r.worker.terminate()));
  }
}
