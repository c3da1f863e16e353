import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import type { NormalizeResult } from '#core/events/types.ts';
import type { RecordBatch, SourceItem } from '#core/ports.ts';
import { decompressedSize, readCloudTrailFileInBatches, type InputFile, type ReadOptions } from './cloudtrail-files.ts';
import { LastingStringsReceiver } from './lasting-strings.ts';
import { nativeReader, type EncodedResults } from './native-records.ts';
import { decodeNormalized } from './normalized-codec.ts';

/** What the reader thread sends back: the reader's own items, with batches already normalized (and encoded). */
export type ReaderMessage =
  | Exclude<SourceItem, { type: 'batch' }>
  | ({ readonly type: 'normalized'; readonly batch: Omit<RecordBatch, 'records'> } & EncodedResults);

/** What `readInputs` yields: the reader's items, with batches normalized. */
export type ReadItem =
  | Exclude<SourceItem, { type: 'batch' }>
  | { readonly type: 'normalized'; readonly batch: Omit<RecordBatch, 'records'>; readonly results: readonly NormalizeResult[] };

/**
 * How far each reader thread reads ahead of the engine: the files it was asked for and the engine has not taken
 * yet, at most READ_AHEAD_FILES of them and READ_AHEAD_BYTES of their size on disk. The engine takes files in
 * order, so it waits for one reader's next file even while the other has files ready; a deeper queue covers a
 * reader that fell behind for a moment. Over 1M records with the ledger, three files ahead gave 24.3-24.7 s and a
 * 336-357 MB peak (six runs), the engine waiting for its readers 16.5% of the time; 16 files (256 KiB) gave
 * 23.2-23.5 s and 345-350 MB (three runs), waiting 11.5%; 32 files (512 KiB), 22.6-23.0 s but 349-368 MB (six).
 */
const READ_AHEAD_FILES = 16;
const READ_AHEAD_BYTES = 256 * 1024;

/** The files one reader was asked for and has not finished, oldest first, bounded in number and size on disk. */
export class ReadAheadWindow {
  readonly #sizes: number[] = [];
  #bytes = 0;

  constructor(
    readonly maxFiles: number,
    readonly maxBytes: number,
  ) {}

  /** Whether a file of `bytes` may be asked for now: always when none is, so a file larger than the budget is read too. */
  admits(bytes: number): boolean {
    return this.#sizes.length === 0 || (this.#sizes.length < this.maxFiles && this.#bytes + bytes <= this.maxBytes);
  }

  add(bytes: number): void {
    this.#sizes.push(bytes);
    this.#bytes += bytes;
  }

  /** The oldest file asked for was taken whole by the engine. */
  finishOldest(): void {
    this.#bytes -= this.#sizes.shift() ?? 0;
  }

  get files(): number {
    return this.#sizes.length;
  }

  get bytes(): number {
    return this.#bytes;
  }
}

/**
 * A reader thread's young generation (MB) for files of `typicalFileBytes` decompressed. A file's records live
 * until they are normalized and sent, so a young generation that cannot hold them moves all of them to the old
 * generation (V8's helper threads, which collect garbage, used 13 s of CPU in a 1M replay of 1,000-record files
 * with 6 MB, against 6 s with 200-record ones). With 200-record files (0.3 MB), 6 MB (2 MB semi-spaces)
 * kept each reader's heap at 13–15 MB instead of 24 and a 1M-record replay 25–30 MB lower, for 3–4% more CPU (3 MB
 * took 15% more). Larger files need more. Over 1M records with the ledger: 1,000-record files (1.35 MB) took
 * 28.3–29.0 s with 6 MB and 21.3–22.0 s with 16 (370–383 against 384–398 MB peak); 2,500-record files (3.4 MB)
 * 29.3 s with 16 and 25.5 s with 32 (415 against 465 MB); 5,000-record files (6.8 MB) 32.0 s with 6, 31.3 s
 * with 16 and 26.4 s with 32 (455, 466 and 465 MB), 26.5 s with 48. The 2 MiB step between 1.35 and 3.4 MB is
 * not measured. Since the readers parse a file as CloudTrail writes it in pieces (`parseCloudTrailPieces`), its
 * raw records no longer live together, but its batch's encoding grows to the end of the file, and the larger
 * young generation still pays in files of 1,000 records: 6 MB took 1.12x the time of 16 (1.14x the CPU) at
 * 273-279 against 291-304 MB, in three alternating 1M rounds on 2026-12-04.
 */
export const readerYoungGenerationMb = (typicalFileBytes: number): number => (typicalFileBytes < 1024 * 1024 ? 6 : typicalFileBytes < 2 * 1024 * 1024 ? 16 : 32);

/** Files whose decompressed size `typicalFileBytes` looks at: evenly spread over the input. */
const SIZE_SAMPLE_FILES = 31;

/**
 * The median decompressed size (`decompressedSize`) of a sample of the input's files. A file that cannot be read
 * is left out here; its reader reports it.
 */
export const typicalFileBytes = (inputs: readonly (InputFile | undefined)[]): number => {
  const step = Math.max(1, Math.floor(inputs.length / SIZE_SAMPLE_FILES));
  const sizes: number[] = [];
  for (let i = 0; i < inputs.length && sizes.length < SIZE_SAMPLE_FILES; i += step) {
    const input = inputs[i];
    const size = input === undefined ? undefined : decompressedSize(input);
    if (size !== undefined) sizes.push(size);
  }
  sizes.sort((a, b) => a - b);
  return sizes[Math.floor(sizes.length / 2)] ?? 0;
};

/** One reader thread, with the messages it sent that the engine has not taken yet. */
interface ReaderThread {
  readonly worker: Worker;
  readonly waiting: ReaderMessage[];
  // Taken as its messages are, in the order it sent them.
  readonly lasting: LastingStringsReceiver;
}

/**
 * Reader threads, started before they are given files. A reader takes 60–80 ms from its start to its first batch
 * (loading its script and the native reader), which a replay can spend opening its database and planning its
 * input instead of waiting for them (see `startReaderThreads` and runReplay). Until the first file is asked for, a
 * thread that fails is noted, not thrown: `readInputs` throws it once it reads from the threads.
 */
export class ReaderThreads {
  readonly #threads: ReaderThread[];
  #wake: (() => void) | undefined;
  #failure: Error | undefined;

  constructor(script: URL, count: number, youngGenerationMb: number) {
    this.#threads = Array.from({ length: count }, () => {
      const thread: ReaderThread = { worker: new Worker(script, { resourceLimits: { maxYoungGenerationSizeMb: youngGenerationMb } }), waiting: [], lasting: new LastingStringsReceiver() };
      thread.worker.on('message', (m: ReaderMessage) => {
        thread.waiting.push(m);
        this.#wake?.();
      });
      thread.worker.on('error', (e) => {
        this.#failure ??= e;
        this.#wake?.();
      });
      return thread;
    });
  }

  get size(): number {
    return this.#threads.length;
  }

  /** Thread `r`, for `readInputs`. */
  thread(r: number): ReaderThread {
    return this.#threads[r] as ReaderThread;
  }

  /** Thread `r`'s oldest message not taken yet, if it sent one; the first failure of any thread, thrown. */
  take(r: number): ReaderMessage | undefined {
    if (this.#failure !== undefined) throw this.#failure;
    return this.thread(r).waiting.shift();
  }

  /** Resolves when any thread next sends a message or fails. */
  wait(): Promise<void> {
    return new Promise<void>((wake) => (this.#wake = wake));
  }

  /** Ends the threads after the first `count` (fewer files to read than threads started). */
  async keep(count: number): Promise<void> {
    await Promise.all(this.#threads.splice(count).map((t) => t.worker.terminate()));
  }

  /** Ends every thread; again does nothing. */
  async terminate(): Promise<void> {
    await this.keep(0);
  }
}

/**
 * Starts the reader threads for `inputs`: at most `readers`, no more than there are files, each with the young
 * generation their size needs (`readerYoungGenerationMb`). Undefined where they would not be used: no reader
 * asked for, no worker script (running from sources), or standard input among the inputs.
 */
export const startReaderThreads = (inputs: readonly (InputFile | undefined)[], options: { readonly workerScript?: URL | undefined; readonly readers?: number | undefined }): ReaderThreads | undefined => {
  const script = options.workerScript;
  const count = Math.min(options.readers ?? 1, inputs.length);
  if (count < 1 || script === undefined || !existsSync(script) || inputs.some((i) => i?.path === '-')) return undefined;
  return new ReaderThreads(script, count, readerYoungGenerationMb(typicalFileBytes(inputs)));
};

/**
 * Reads the inputs in order on `readers` worker threads (read + gunzip + JSON.parse + normalize), a few files
 * ahead of the caller: file i goes to reader i mod `readers`, and items come back in input order. Falls back to
 * reading on this thread when no worker script is available (running from sources), for standard input, or
 * when asked for no reader thread; there too through the native reader where it is built (a machine of one core
 * gains the most from it). Threads started already (`options.started`, from `startReaderThreads` for a list these
 * inputs are part of) are used instead of new ones, as many as there are files and no more than `readers`, and
 * ended with the rest.
 *
 * The list is the reader's from the call on: each entry is let go (set to undefined) once the file was handed to
 * a reader, so a replay holds the paths still to read, not all of them. At 25,000 files the paths were 4 MB of a
 * 33 MB heap at the end of a run: live data that grew with the number of files (its effect on the peak is within
 * the runs' spread, see docs/performance.md).
 */
export async function* readInputs(
  inputs: (InputFile | undefined)[],
  options: ReadOptions & { readonly workerScript?: URL; readonly readers?: number; readonly started?: ReaderThreads | undefined },
): AsyncGenerator<ReadItem | SourceItem> {
  const files = inputs.length;
  const threads = options.started ?? startReaderThreads(inputs, options);
  try {
    const count = Math.min(threads?.size ?? 0, options.readers ?? Number.POSITIVE_INFINITY, files);
    if (threads === undefined || count < 1 || inputs.some((i) => i?.path === '-')) {
      await threads?.terminate();
      yield* readOnThisThread(inputs, options);
      return;
    }
    await threads.keep(count);
    const readOptions = { ...(options.maxFileBytes !== undefined ? { maxFileBytes: options.maxFileBytes } : {}), ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}) };
    const readers = Array.from({ length: count }, (_, r) => {
      const { worker, lasting } = threads.thread(r);
      // The next input this reader is to read: its files are r, r + count, r + 2 count, ...
      let next = r;
      const ahead = new ReadAheadWindow(READ_AHEAD_FILES, READ_AHEAD_BYTES);
      const ask = (): void => {
        for (let input = inputs[next]; input !== undefined && ahead.admits(input.bytes); input = inputs[next]) {
          worker.postMessage({ input, options: readOptions });
          ahead.add(input.bytes);
          inputs[next] = undefined;
          next += count;
        }
      };
      /** The engine took this reader's oldest file whole: room for the next. */
      const fileTaken = (): void => {
        ahead.finishOldest();
        ask();
      };
      return { lasting, ask, fileTaken };
    });
    for (const reader of readers) reader.ask();
    for (let done = 0; done < files; ) {
      const r = done % count;
      const reader = readers[r] as (typeof readers)[number];
      let m: ReaderMessage | undefined;
      while ((m = threads.take(r)) === undefined) await threads.wait();
      if (m.type === 'file-done') {
        done++;
        reader.fileTaken();
      }
      yield m.type === 'normalized' ? { type: 'normalized', batch: m.batch, results: decodeNormalized(m.encoded, m.pending, reader.lasting.take(m.lasting)) } : m;
    }
  } finally {
    await threads?.terminate();
  }
}

/** `readInputs` without reader threads: as a reader thread reads, through the native reader where it is built, the batches it made decoded here. */
async function* readOnThisThread(inputs: (InputFile | undefined)[], options: ReadOptions): AsyncGenerator<ReadItem | SourceItem> {
  const native = nativeReader();
  const optionsHere = native === undefined ? options : { ...options, native };
  for (let i = 0; i < inputs.length; i++) {
    const input = inputs[i];
    inputs[i] = undefined;
    if (input === undefined) continue;
    for await (const item of readCloudTrailFileInBatches(input, optionsHere)) {
      yield item.type === 'encoded-batch' ? { type: 'normalized', batch: item.batch, results: decodeNormalized(item.encoded, item.pending) } : item;
    }
  }
}
