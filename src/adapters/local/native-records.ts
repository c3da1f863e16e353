/**
 * The replay readers' native fast path (native/records.cc): a CloudTrail file's bytes as read from disk straight to
 * the normalized encoding the engine's thread decodes, doing in native code what `gunzipSync`, `JSON.parse`,
 * `normalizeRecord` and `NormalizedBatchWriter` do in JavaScript, at about a third of their cost
 * (docs/performance.md). It is exact or it declines: a record it does not normalize exactly as `normalizeRecord`
 * would comes back as its text, holding its place in the batch, and is normalized here, in JavaScript, its result
 * put in that place where the batch is decoded; a file it does
 * not take (another layout, invalid JSON, an EventBridge envelope among the records, gzip it does not inflate) comes
 * back for the JavaScript path, which reads it as before and says what is wrong with it.
 *
 * The addon is built by `npm ci` (scripts/build.mjs) where a C++ compiler is at hand; without it, or with
 * KDM_NATIVE=off in the environment, every file is read in JavaScript, with the same results.
 */
import { createRequire } from 'node:module';
import { MAX_FIELD_CHARS, MAX_MAP_KEY_CHARS } from '#core/events/fields.ts';
import { normalizeRecord, OTHER_SELECTABLE_SOURCES, S3_CALLS_KEEPING_REQUEST_PARAMETERS, S3_OBJECT_OPERATIONS } from '#core/events/normalize.ts';
import { PRINCIPAL_TYPES } from '#core/events/principal.ts';
import type { LastingStringsPart } from './lasting-strings.ts';
import { encodeNormalized } from './normalized-codec.ts';
import type { EncodedValue } from './transfer-codec.ts';

/** One batch as the addon returns it: `count` records from `firstIndex`, the placeholders' records in `pending`. */
interface NativeBatch {
  readonly encoded: EncodedValue;
  readonly firstIndex: number;
  readonly count: number;
  /** For each record left to JavaScript, in turn: its index and its text. */
  readonly pending?: readonly (number | string)[];
  /** When asked to keep lasting strings. */
  readonly lasting?: LastingStringsPart;
}

/** See native/records.cc's encodeFile. */
type NativeFile = { readonly batches: readonly NativeBatch[] } | { readonly text: Buffer } | null;

export interface NativeRecordsAddon {
  /** `lasting`: the batches name the strings this thread's earlier batches sent twice by their place in its list (lasting-strings.ts). */
  encodeFile(file: Buffer, batchSize: number, maxBytes: number, lasting?: boolean): NativeFile;
  /** This thread's lasting strings start again with its next batch (which says so), for a new list on the decoding side. */
  restartLasting(): void;
  /** glibc's `mallopt` of M_ARENA_MAX and M_MMAP_THRESHOLD: whether they were set (false where the C library is another). */
  tuneMalloc(arenaMax: number, mmapThresholdBytes: number): boolean;
  /** The constants of `normalizeRecord` the addon reads by: given once a thread has loaded it (`loadNativeRecords`). */
  configure(vocabulary: {
    readonly s3ObjectOperations: readonly string[];
    readonly principalTypes: readonly string[];
    readonly keepsRequestParameters: readonly string[];
    readonly s3CallsKeepingRequestParameters: readonly string[];
    readonly maxFieldChars: number;
    readonly maxMapKeyChars: number;
  }): void;
}

/**
 * A batch's normalized results as the native reader encodes them, and as a reader thread hands them on to be
 * decoded (`decodeNormalized`): the records the addon left to JavaScript hold their places as PENDING tags, and their
 * results are encoded in `pending`, in turn.
 */
export interface EncodedResults {
  readonly encoded: EncodedValue;
  readonly pending?: EncodedValue;
  /** With `nativeReader({ lasting: true })`: what the batch adds to its reader's lasting strings. */
  readonly lasting?: LastingStringsPart;
}

/** A batch of a file, encoded: `count` records numbered from `firstIndex`. */
export interface EncodedRecords extends EncodedResults {
  readonly firstIndex: number;
  readonly count: number;
}

/**
 * What the native reader made of a file's bytes as read from disk: its records in batches; or its decompressed
 * text, for JavaScript to read (another layout, not JSON, an EventBridge envelope among the records); or undefined,
 * for JavaScript to read from the file's own bytes (plain text in another layout, gzip it does not inflate, a file
 * over `maxBytes`).
 */
export type NativeReading = { readonly batches: readonly EncodedRecords[] } | { readonly text: Buffer } | undefined;

/** Where the addon may be: beside the bundled reader (dist/), or where node-gyp builds it (from src/adapters/local/). */
const ADDON_PLACES = ['./kdm_records.node', '../../../native/build/Release/kdm_records.node'];

/** Whether the environment turns the native reader off (KDM_NATIVE=off, 0 or false). */
export const nativeReaderDisabled = (env: NodeJS.ProcessEnv = process.env): boolean => /^(?:off|0|false)$/i.test(env['KDM_NATIVE'] ?? '');

/**
 * Whether a replay reads through the native reader here: `on`; `off`, turned off (KDM_NATIVE=off); or `absent`,
 * with why (not built, or a build this machine cannot load), for the replay to say before it reads in JavaScript.
 */
export type NativeReaderStatus = { readonly state: 'on' | 'off' } | { readonly state: 'absent'; readonly reason: string };

export const nativeReaderStatus = (env: NodeJS.ProcessEnv = process.env, places: readonly string[] = ADDON_PLACES): NativeReaderStatus => {
  if (nativeReaderDisabled(env)) return { state: 'off' };
  const problems: string[] = [];
  if (loadNativeRecords(env, problems, places) !== undefined) return { state: 'on' };
  // A place that holds a build this machine cannot load (another platform, a damaged file) says more than a missing one.
  const unloadable = problems.find((p) => !/^Cannot find module/.test(p));
  return {
    state: 'absent',
    reason: unloadable !== undefined ? `could not be loaded (${unloadable})` : 'is not built (npm ci builds it where a C++ compiler and make are installed)',
  };
};

/**
 * The addon, or undefined where it was not built (or is turned off): the readers then read in JavaScript. Why each
 * place held none is added to `problems` (the first line of its error), when given. `places` are paths from this
 * module (tests give others).
 */
export const loadNativeRecords = (env: NodeJS.ProcessEnv = process.env, problems?: string[], places: readonly string[] = ADDON_PLACES): NativeRecordsAddon | undefined => {
  if (nativeReaderDisabled(env)) return undefined;
  const require = createRequire(import.meta.url);
  for (const place of places) {
    let addon: NativeRecordsAddon;
    try {
      addon = require(place) as NativeRecordsAddon;
    } catch (error) {
      // Not at this place, or built for another Node.js: the next place, else JavaScript, which gives the same results.
      problems?.push(String(error instanceof Error ? error.message : error).split('\n')[0] ?? '');
      continue;
    }
    // What normalizeRecord reads by, from where it is defined: the addon keeps no copy of its own.
    addon.configure({
      s3ObjectOperations: [...S3_OBJECT_OPERATIONS],
      principalTypes: [...PRINCIPAL_TYPES],
      keepsRequestParameters: [...OTHER_SELECTABLE_SOURCES],
      s3CallsKeepingRequestParameters: [...S3_CALLS_KEEPING_REQUEST_PARAMETERS],
      maxFieldChars: MAX_FIELD_CHARS,
      maxMapKeyChars: MAX_MAP_KEY_CHARS,
    });
    return addon;
  }
  return undefined;
};

/**
 * The native reader as `ReadOptions.native` takes it, or undefined where it is not built or turned off. With
 * `lasting`, its batches name the strings its earlier batches sent by their place in a list the one who decodes
 * them keeps too (lasting-strings.ts): a reader thread's batches, decoded in the order they were made.
 */
export const nativeReader = (env: NodeJS.ProcessEnv = process.env, { lasting = false } = {}): ((file: Buffer, batchSize: number, maxBytes: number) => NativeReading) | undefined => {
  const addon = loadNativeRecords(env);
  return addon === undefined ? undefined : (file, batchSize, maxBytes) => readNatively(addon, file, batchSize, maxBytes, lasting);
};

/** A file's bytes as read from disk, through the native reader: see `NativeReading`. */
export const readNatively = (addon: NativeRecordsAddon, file: Buffer, batchSize: number, maxBytes: number, lasting = false): NativeReading => {
  const reading = addon.encodeFile(file, batchSize, maxBytes, lasting);
  if (reading === null) return undefined;
  if ('text' in reading) return reading;
  return {
    batches: reading.batches.map(({ encoded, firstIndex, count, pending, lasting: part }) => ({
      firstIndex,
      count,
      encoded,
      ...(pending !== undefined ? { pending: pendingResults(pending) } : {}),
      ...(part !== undefined ? { lasting: part } : {}),
    })),
  };
};

/**
 * The records the addon left to JavaScript, parsed and normalized here, encoded in turn: the batch's own encoding is
 * left as the addon made it, and each result is put in its place where the batch is decoded.
 */
const pendingResults = (pending: readonly (number | string)[]): EncodedValue => {
  const results = [];
  for (let i = 1; i < pending.length; i += 2) results.push(normalizeRecord(JSON.parse(pending[i] as string)));
  return encodeNormalized(results);
};

/**
 * glibc's malloc settings kdm's launcher starts node with (scripts/build.mjs): two arenas instead of up to eight a
 * core, and a fixed mmap threshold of 1 MiB. They keep a replay's peak within 300 MB at 5M records.
 */
export const LAUNCHER_MALLOC = { arenaMax: 2, mmapThresholdBytes: 1_048_576 } as const;

/**
 * Gives this process the launcher's malloc settings when it started without them (`node dist/kdm.js`), through the
 * addon's `mallopt`: glibc reads its variables only when a process starts. Arenas made before stay (a few, for the
 * threads node started), but no more are made, and freed blocks of 1 MiB or more go back to the system. Over 5M
 * records, `node dist/kdm.js` peaked at 280-288 MB so against 295-313 MB without (docs/performance.md). Returns
 * `set`; `kept` where the environment names either variable (the launcher's, or the user's: theirs stand); or
 * `unavailable` where the addon is not at hand or the C library is not glibc.
 */
export const tuneMallocLikeTheLauncher = (env: NodeJS.ProcessEnv = process.env): 'set' | 'kept' | 'unavailable' => {
  // Through the launcher (every `npx kdm`) the variables are set: the addon is not loaded for nothing.
  if (env['MALLOC_ARENA_MAX'] !== undefined || env['MALLOC_MMAP_THRESHOLD_'] !== undefined) return 'kept';
  return loadNativeRecords(env)?.tuneMalloc(LAUNCHER_MALLOC.arenaMax, LAUNCHER_MALLOC.mmapThresholdBytes) === true ? 'set' : 'unavailable';
};
