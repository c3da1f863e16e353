// The replay's reader thread: reads, decompresses, parses and normalizes CloudTrail files while the main
// thread runs the engine, so a replay uses both cores. Files are handled one at a time, in the order asked.
import { parentPort } from 'node:worker_threads';
import { normalizeRecord } from '#core/events/normalize.ts';
import type { RecordBatch } from '#core/ports.ts';
import { readCloudTrailFileInPieces, type InputFile, type ReadOptions } from './cloudtrail-files.ts';
import { nativeReader } from './native-records.ts';
import { NormalizedBatchWriter } from './normalized-codec.ts';
import { lowerThisThreadsPriority, READER_NICENESS } from './thread-priority.ts';
import type { ReaderMessage } from './threaded-reader.ts';

if (parentPort === null) throw new Error('reader-worker runs as a worker thread');
const port = parentPort;
// Below the engine's thread, which waits for nothing else (see READER_NICENESS).
lowerThisThreadsPriority(READER_NICENESS);
let queue = Promise.resolve();
// Its batches name the strings it sent before by their place in a list the engine's thread keeps too (lasting-strings.ts).
const native = nativeReader(process.env, { lasting: true });

const send = (batch: Omit<RecordBatch, 'records'>, writer: NormalizedBatchWriter): void => {
  const encoded = writer.finish();
  port.postMessage({ type: 'normalized', batch, encoded } satisfies ReaderMessage, [encoded.tokens.buffer, encoded.numbers.buffer]);
};

port.on('message', (request: { input: InputFile; options: Pick<ReadOptions, 'maxFileBytes' | 'batchSize'> }) => {
  queue = queue.then(async () => {
    // The batch whose pieces have come so far: each piece's records are normalized and encoded as it comes, so
    // they die young whatever the size of the file. A whole batch is one piece that ends it.
    let open: { readonly writer: NormalizedBatchWriter; readonly indexes: number[] } | undefined;
    for await (const item of readCloudTrailFileInPieces(request.input, native === undefined ? request.options : { ...request.options, native })) {
      switch (item.type) {
        case 'encoded-batch': {
          const { type: _, batch, ...results } = item;
          const { encoded, pending } = results;
          const buffers = [encoded.tokens.buffer, encoded.numbers.buffer, ...(pending !== undefined ? [pending.tokens.buffer, pending.numbers.buffer] : [])];
          port.postMessage({ type: 'normalized', batch, ...results } satisfies ReaderMessage, buffers);
          break;
        }
        case 'batch':
        case 'batch-piece': {
          open ??= { writer: new NormalizedBatchWriter(), indexes: [] };
          const { records, indexes, firstIndex, file } = item.batch;
          for (let i = 0; i < records.length; i++) {
            open.writer.add(normalizeRecord(records[i]));
            open.indexes.push(indexes?.[i] ?? firstIndex + i);
          }
          if (item.type === 'batch' || !item.more) {
            send({ file, indexes: open.indexes, firstIndex: open.indexes[0] ?? firstIndex }, open.writer);
            open = undefined;
          }
          break;
        }
        default:
          if (item.type === 'issue' && item.issue.kind === 'file-failed') open = undefined;
          port.postMessage(item satisfies ReaderMessage);
      }
    }
  });
});
