import { parseCloudTrailPieces } from '#adapters/local/cloudtrail-files.ts';
import type { LastingStringsReceiver } from '#adapters/local/lasting-strings.ts';
import { loadNativeRecords, readNatively, type NativeRecordsAddon } from '#adapters/local/native-records.ts';
import { decodeNormalized } from '#adapters/local/normalized-codec.ts';
import { normalizeRecord } from '#core/events/normalize.ts';
import { gatherPieces } from './pieces.ts';

const loaded = loadNativeRecords({});

/** The native reader, which `npm ci` and the test run's build (scripts/build.mjs) make: this machine has a C++ compiler. */
export const nativeAddon = (): NativeRecordsAddon => {
  if (loaded === undefined) throw new Error('the native reader was not built: run `npm run build` (it needs a C++ compiler)');
  return loaded;
};

/**
 * What a reader thread hands the engine for one file's bytes, read natively or in JavaScript: each batch's file,
 * indexes and normalized results, and the issues, in that order (batches read in JavaScript first).
 */
export const readingOf = (
  bytes: Buffer,
  options: { readonly natively: boolean; readonly batchSize?: number; readonly maxFileBytes?: number; readonly lasting?: LastingStringsReceiver },
): unknown[] => {
  const { natively, lasting, ...rest } = options;
  const addon = natively ? nativeAddon() : undefined;
  const items = [...parseCloudTrailPieces('f.json.gz', bytes, addon === undefined ? rest : { ...rest, native: (file, size, max) => readNatively(addon, file, size, max, lasting !== undefined) })];
  return [
    ...gatherPieces(items.filter((i) => i.type !== 'encoded-batch')).map((i) => (i.type === 'batch' ? { file: i.batch.file, indexes: i.batch.indexes, results: i.batch.records.map(normalizeRecord) } : i)),
    ...items.flatMap((i) => {
      if (i.type !== 'encoded-batch') return [];
      if (lasting !== undefined && i.lasting === undefined) throw new Error('a batch read with lasting strings says nothing of them');
      return [{ file: i.batch.file, indexes: i.batch.indexes, results: decodeNormalized(i.encoded, i.pending, lasting?.take(i.lasting)) }];
    }),
  ];
};

/** How many of a file's records the native reader normalized itself (the rest it left to JavaScript); undefined if it did not take the file. */
export const nativelyNormalized = (bytes: Buffer, batchSize = 5_000): number | undefined => {
  const reading = nativeAddon().encodeFile(bytes, batchSize, 256 * 1024 * 1024);
  if (reading === null || 'text' in reading) return undefined;
  return reading.batches.reduce((n, b) => n + b.count - (b.pending?.length ?? 0) / 2, 0);
};
