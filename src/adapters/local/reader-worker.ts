// The replay's reader thread: reads, decompresses, parses and normalizes CloudTrail files while the main
// thread runs the engine, so a replay uses both cores. Files are handled one at a time, in the order asked.
import { parentPort } from 'node:worker_threads';
import { normalizeRecord } from '#core/events/normalize.ts';
import { readCloudTrailFile, type InputFile, type ReadOptions } from './cloudtrail-files.ts';
import { encodeNormalized } from './normalized-codec.ts';
import type { ReaderMessage } from './threaded-reader.ts';

if (parentPort === null) throw new Error('reader-worker runs as a worker thread');
const port = parentPort;
let queue = Promise.resolve();

port.on('message', (request: { input: InputFile; options: Pick<ReadOptions, 'maxFileBytes' | 'batchSize'> }) => {
  queue = queue.then(async () => {
    for await (const item of readCloudTrailFile(request.input, request.options)) {
      if (item.type === 'batch') {
        const { records, ...rest } = item.batch;
        const encoded = encodeNormalized(records.map((r) => normalizeRecord(r)));
        port.postMessage({ type: 'normalized', batch: rest, encoded } satisfies ReaderMessage, [encoded.tokens.buffer, encoded.numbers.buffer]);
      } else port.postMessage(item satisfies ReaderMessage);
    }
  });
});
