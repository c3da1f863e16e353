import { constants as bufferConstants, isUtf8 } from 'node:buffer';
import { closeSync, openSync, readFileSync, readSync, type Dirent, type Stats } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { constants as zlibConstants, gunzipSync } from 'node:zlib';
import type { ReadIssue, RecordBatch, SourceItem } from '#core/ports.ts';
import { systemErrorText } from '../system-error.ts';
import { firstParses, isSeveral, isUtf16, isWhitespace, jsonValuesOf, utf8OfUtf16, type JsonValues } from './json-text.ts';
import type { EncodedRecords, EncodedResults, NativeReading } from './native-records.ts';

/** Default cap on one file's decompressed size: a gzip bomb stops here with a clear error. */
export const DEFAULT_MAX_FILE_BYTES = 256 * 1024 * 1024;
/**
 * The largest cap there can be: a file may have to be parsed as one text (any layout but CloudTrail's own, or
 * pieces that do not parse), and V8's strings end at 2^29 - 24 characters
 * (511 MiB). Past it `toString` fails and the file would be told as invalid JSON; a larger gzip cap than a
 * Buffer can hold made zlib refuse every file as a bomb.
 */
export const MAX_FILE_BYTES_LIMIT = bufferConstants.MAX_STRING_LENGTH;
/** The cap a read applies: `maxFileBytes` (or the default), never more than MAX_FILE_BYTES_LIMIT. */
const capOf = (options: ReadOptions): number => Math.min(options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES, MAX_FILE_BYTES_LIMIT);
/**
 * The most bytes a file can hold on disk and still be within a cap of `maxBytes` once read: a plain file is its
 * size, and deflate never makes data larger by more than 5 bytes in 16 KiB (stored blocks), plus gzip's header.
 * A larger file is refused without being read into memory.
 */
const mostBytesWithin = (maxBytes: number): number => maxBytes + Math.ceil(maxBytes / 1024) + 1024;
const mib = (bytes: number): number => Math.round(bytes / 1048576);
/** A file that could not be read as a whole, with why. */
const fileFailed = (file: string, message: string): SourceItem => ({ type: 'issue', issue: { kind: 'file-failed', origin: { file }, message } });
/** Records per batch handed to the engine (big delivery files are split). */
export const DEFAULT_BATCH_SIZE = 5_000;

const CLOUDTRAIL_FILE = /\.(?:json|jsonl|ndjson)(?:\.gz)?$/i;
const CLOUDTRAIL_DETAIL_TYPES = /via CloudTrail$/;

export interface ReadOptions {
  readonly maxFileBytes?: number;
  readonly batchSize?: number;
  /** About how much of a file's text is parsed at a time (RECORDS_PIECE_BYTES; tests cut smaller pieces). */
  readonly pieceBytes?: number;
  /** Reads standard input for `-` (tests pass a buffer). */
  readonly readStdin?: () => Promise<Buffer>;
  /**
   * The native reader (`nativeReader` in native-records.ts), for `readCloudTrailFileInPieces`: files laid out as
   * CloudTrail writes them then come as `encoded-batch` items, already normalized, unless it declines them. Given as
   * a function, so that what reads files without it (the Lambda functions) does not load it.
   */
  readonly native?: (file: Buffer, batchSize: number, maxBytes: number) => NativeReading;
  /**
   * Batches hold a file's items as it gives them (Event history events, EventBridge envelopes, records), their
   * records not yet taken out (`recordsOfItems` does that later), for a reader that holds many before it hands them
   * on: a record parsed out of an event's `CloudTrailEvent` takes several times that text in memory. Event history's
   * events stay in the file's order too: that reader puts them in the order of their times, with other files'.
   */
  readonly itemsAsGiven?: boolean;
}

export interface InputFile {
  readonly path: string;
  /** Size on disk, for progress; 0 for stdin. */
  readonly bytes: number;
}

/** Directory entries whose `stat` is asked at once while expanding the inputs (see `expandInputs`). */
const ENTRIES_LOOKED_AT_ONCE = 32;

/** What a directory entry is, as `expandInputs` handles it: for a symbolic link, what it leads to. */
type Look =
  | { readonly kind: 'directory' }
  | { readonly kind: 'log'; readonly bytes: number }
  | { readonly kind: 'other-file' }
  | { readonly kind: 'special' }
  | { readonly kind: 'failed'; readonly cause: unknown };

const DIRECTORY: Look = { kind: 'directory' };
const OTHER_FILE: Look = { kind: 'other-file' };
const SPECIAL: Look = { kind: 'special' };

/** Asks `stat` only where the entry cannot tell: what a link leads to, and a CloudTrail file's size. */
const lookAt = async (full: string, entry: Dirent): Promise<Look> => {
  const isLog = CLOUDTRAIL_FILE.test(entry.name);
  if (!entry.isSymbolicLink()) {
    if (entry.isDirectory()) return DIRECTORY;
    if (!entry.isFile()) return SPECIAL;
    if (!isLog) return OTHER_FILE;
  }
  let stats: Stats;
  try {
    stats = await stat(full);
  } catch (cause) {
    return { kind: 'failed', cause };
  }
  if (stats.isDirectory()) return DIRECTORY;
  if (!stats.isFile()) return SPECIAL;
  return isLog ? { kind: 'log', bytes: stats.size } : OTHER_FILE;
};

/**
 * Expands the command-line paths: files as given, directories recursively (sorted, so an AWSLogs tree
 * replays in date order), `-` for standard input. Symbolic links are followed, to files and directories alike
 * (a directory reached twice, through a link or a loop, is read once). Directory entries that are not
 * CloudTrail file names are reported as skipped files, and links that lead nowhere or directories that cannot be
 * listed as failed ones: never silently ignored, and never the end of the run. An S3 URL fails with how to copy its
 * logs: `s3SyncCommand`'s command (the caller knows which days it needs), else a plain `aws s3 sync`.
 */
export const expandInputs = async (paths: readonly string[], onIssue: (issue: ReadIssue) => void, options: { readonly s3SyncCommand?: (url: string) => string } = {}): Promise<InputFile[]> => {
  const out: InputFile[] = [];
  const cannotOpen = (file: string, cause: unknown, why = ''): void =>
    onIssue({ kind: 'file-failed', origin: { file }, message: `cannot open: ${systemErrorText(cause)}${why}` });
  const walked = new Set<string>();
  const walk = async (dir: string): Promise<void> => {
    let entries: Dirent[];
    try {
      const real = await realpath(dir);
      if (walked.has(real)) return;
      walked.add(real);
      entries = await readdir(dir, { withFileTypes: true });
    } catch (cause) {
      // A directory that refuses to be listed (permissions) is one failed path: the rest of the tree is still read.
      onIssue({ kind: 'file-failed', origin: { file: dir }, message: `cannot list the directory: ${systemErrorText(cause)}` });
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    // The entries are looked at (stat) a slice at a time, the slice's all at once, and then handled in order: one
    // stat after another took most of a replay's start (356 ms of 760 for 5,000 files, see docs/performance.md).
    for (let from = 0; from < entries.length; from += ENTRIES_LOOKED_AT_ONCE) {
      const slice = entries.slice(from, from + ENTRIES_LOOKED_AT_ONCE).map((entry) => ({ entry, full: join(dir, entry.name) }));
      const looks = await Promise.all(slice.map(({ entry, full }) => lookAt(full, entry)));
      for (let i = 0; i < slice.length; i++) {
        const { entry, full } = slice[i] as (typeof slice)[number];
        const look = looks[i] as Look;
        switch (look.kind) {
          case 'failed':
            // A link that leads nowhere; or a file gone, or refused, between listing and looking.
            cannotOpen(full, look.cause, entry.isSymbolicLink() ? '; it is a symbolic link to what is not there' : '');
            break;
          case 'directory':
            await walk(full);
            break;
          case 'log':
            out.push({ path: full, bytes: look.bytes });
            break;
          case 'other-file':
            onIssue({ kind: 'file-skipped', origin: { file: full }, message: 'not a CloudTrail file name (.json, .jsonl, .ndjson, optionally .gz)', reason: 'not-a-log-file' });
            break;
          case 'special':
            onIssue({ kind: 'file-skipped', origin: { file: full }, message: 'not a regular file or directory', reason: 'not-a-regular-file' });
        }
      }
    }
  };
  for (const p of paths) {
    if (p === '-') {
      out.push({ path: '-', bytes: 0 });
      continue;
    }
    let info;
    try {
      info = await stat(p);
    } catch (cause) {
      // An S3 URL given as a path: kdm reads local copies, and says how to make one.
      const bucketPath = /^s3:\/\/(.+)$/i.exec(p)?.[1];
      const url = `s3://${bucketPath ?? ''}`;
      cannotOpen(p, cause, bucketPath !== undefined && (cause as NodeJS.ErrnoException).code === 'ENOENT' ? `; kdm reads local files: copy the logs first (${options.s3SyncCommand?.(url) ?? `aws s3 sync ${url} ./logs`}), then replay ./logs` : '');
      continue;
    }
    if (info.isDirectory()) await walk(p);
    else out.push({ path: p, bytes: info.size });
  }
  return out;
};

export const isGzip = (buf: Buffer): boolean => buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b;
/** A gzip header and trailer with nothing between them: a shorter gzip file has no trailer to read a size from. */
const SMALLEST_GZIP_BYTES = 18;

/**
 * A file's decompressed size, without decompressing it: a gzip file's trailer holds it (ISIZE, the last four bytes,
 * modulo 4 GiB), any other file is its size on disk. Undefined for standard input or a file that cannot be read.
 */
export const decompressedSize = (input: InputFile): number | undefined => {
  if (input.path === '-') return undefined;
  let fd: number | undefined;
  try {
    fd = openSync(input.path, 'r');
    const magic = Buffer.alloc(2);
    if (input.bytes < SMALLEST_GZIP_BYTES || readSync(fd, magic, 0, 2, 0) < 2 || !isGzip(magic)) return input.bytes;
    const trailer = Buffer.alloc(4);
    return readSync(fd, trailer, 0, 4, input.bytes - 4) === 4 ? trailer.readUInt32LE(0) : input.bytes;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
};

/** The largest output buffer asked for up front: a trailer's size is the file's word, not a fact. */
const MAX_GUNZIP_CHUNK = 32 * 1024 * 1024;

/**
 * zlib's output buffer for a gzip file: one piece of the size its trailer gives (plus one byte, so the inflate
 * ends with room to spare and zlib keeps that piece as the result), instead of 16 KiB pieces that are then
 * copied into one. Over 1,500 files of the bench (300,000 records) gunzip took 420-470 ms of CPU this way
 * against 600-740 ms. A wrong trailer (another member after the first, a hostile file) costs nothing but the
 * guess: the output grows by further pieces as before, and the cap on the output is enforced as before.
 */
const gunzipChunkSize = (gzip: Buffer, maxBytes: number): number => {
  // A shorter file is truncated, and zlib says so.
  if (gzip.length < SMALLEST_GZIP_BYTES) return zlibConstants.Z_DEFAULT_CHUNK;
  const declared = gzip.readUInt32LE(gzip.length - 4);
  return Math.max(zlibConstants.Z_DEFAULT_CHUNK, Math.min(declared + 1, maxBytes + 1, MAX_GUNZIP_CHUNK));
};

const describeGzipError = (cause: unknown, maxBytes: number): string => {
  const e = cause as NodeJS.ErrnoException;
  if (e instanceof RangeError || e.code === 'ERR_BUFFER_TOO_LARGE') return `decompressed size exceeds the ${mib(maxBytes)} MiB cap (--max-file-mb); possible gzip bomb`;
  if (e.code === 'Z_BUF_ERROR') return 'gzip data is truncated (unexpected end of file)';
  return `gzip data is corrupt (${e.code ?? e.message})`;
};

type Unwrapped = { record: unknown } | { skip: string } | { fail: string };

/**
 * An EventBridge envelope yields its CloudTrail record, and an event of CloudTrail's Event history (an item of
 * LookupEvents' `Events`, as `aws cloudtrail lookup-events` prints it) the record in its `CloudTrailEvent`; any
 * other object is taken as a bare record.
 */
const unwrap = (item: unknown): Unwrapped => {
  if (typeof item === 'object' && item !== null && !Array.isArray(item)) {
    const o = item as Record<string, unknown>;
    const detailType = o['detail-type'];
    if (typeof detailType === 'string' && 'detail' in o) {
      if (!CLOUDTRAIL_DETAIL_TYPES.test(detailType)) return { skip: 'not-cloudtrail' };
      return { record: o['detail'] };
    }
    if ('CloudTrailEvent' in o || isEventHistorySummary(o)) return eventHistoryRecord(o);
  }
  return { record: item };
};

/** An Event history event's own fields (`EventId`, `EventName`) with none of a CloudTrail record's: a summary without its record. */
const isEventHistorySummary = (o: Record<string, unknown>): boolean => 'EventId' in o && 'EventName' in o && !looksLikeRecord(o);

/**
 * The CloudTrail record of an Event history event: its `CloudTrailEvent`, the record as JSON text (or, from a tool
 * that parsed it already, the record itself). The event's other fields (`EventId`, `EventTime`, `Username`...) are a
 * summary of the same record, which kdm does not need.
 */
const eventHistoryRecord = (o: Record<string, unknown>): Unwrapped => {
  const text = o['CloudTrailEvent'];
  if (text === undefined) return { fail: `${EVENT_HISTORY_EVENT} without its CloudTrailEvent, the record itself: kdm reads the record, not the summary beside it (keep CloudTrailEvent in the output, e.g. no --query that leaves it out)` };
  if (typeof text === 'object' && text !== null && !Array.isArray(text)) return { record: text };
  if (typeof text !== 'string') return { fail: `${EVENT_HISTORY_EVENT} whose CloudTrailEvent is ${text === null ? 'null' : Array.isArray(text) ? 'an array' : typeof text}, not the record's JSON text` };
  try {
    return { record: JSON.parse(text) };
  } catch (cause) {
    return { fail: `${EVENT_HISTORY_EVENT} whose CloudTrailEvent is not valid JSON: ${(cause as Error).message}` };
  }
};

const EVENT_HISTORY_EVENT = 'an Event history event (aws cloudtrail lookup-events)';

const isDigest = (o: Record<string, unknown>): boolean =>
  'digestStartTime' in o && 'digestEndTime' in o && ('logFiles' in o || 'digestPublicKeyFingerprint' in o);

const looksLikeRecord = (o: Record<string, unknown>): boolean =>
  'eventVersion' in o || 'eventSource' in o || 'eventName' in o || 'eventID' in o;

/** A part of a batch from a file read in pieces: `more` while the batch goes on in a later piece. */
export interface BatchPiece {
  readonly type: 'batch-piece';
  readonly batch: RecordBatch;
  readonly more: boolean;
}

/**
 * What `parseCloudTrailPieces` yields: a reader's items, where the batches of a file read in pieces come piece by
 * piece. A consumer gathers a batch's pieces until one comes with `more` false. A `file-failed` issue while a
 * batch is open voids the pieces it has: the file turned out not to be valid JSON after all.
 */
export type PieceItem = SourceItem | BatchPiece | EncodedBatch;

/** A batch the native reader normalized and encoded (`ReadOptions.native`): its records numbered from `firstIndex`. */
export interface EncodedBatch extends EncodedResults {
  readonly type: 'encoded-batch';
  readonly batch: Omit<RecordBatch, 'records'>;
}

/**
 * Parses one file's bytes into batches of raw records. Pure over its input (no IO), so workers and
 * tests can call it directly. Shapes: `{"Records":[...]}`, one EventBridge envelope or bare record,
 * a JSON array of either, NDJSON of either, or Event history's `{"Events":[...]}` (`aws cloudtrail lookup-events`,
 * whose events can also stand alone, in an array or as NDJSON); digest files are skipped with a reason.
 */
export function* parseCloudTrailBuffer(file: string, input: Buffer, options: ReadOptions = {}): Generator<SourceItem> {
  for (const item of parseItems(file, input, options, false)) {
    if (item.type === 'batch-piece' || item.type === 'encoded-batch') throw new Error(`internal: a ${item.type} where whole batches were asked for`);
    yield item;
  }
}

/**
 * Parses one file's bytes as `parseCloudTrailBuffer` does, into the same batches and issues, but yields the batches
 * of a file as CloudTrail writes it in pieces of about RECORDS_PIECE_BYTES, as they are parsed: a consumer that
 * handles each piece's records at once (the replay's readers normalize and encode them) never holds more than a
 * piece of raw records, however large the file.
 */
export function* parseCloudTrailPieces(file: string, input: Buffer, options: ReadOptions = {}): Generator<PieceItem> {
  yield* parseItems(file, input, options, true);
}

function* parseItems(file: string, input: Buffer, options: ReadOptions, pieces: boolean): Generator<PieceItem> {
  const maxBytes = capOf(options);
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  const asGiven = options.itemsAsGiven === true;
  const fail = (message: string): SourceItem => fileFailed(file, message);

  let buf = input;
  const native = pieces && options.native !== undefined ? options.native(input, batchSize, maxBytes) : undefined;
  if (native !== undefined && 'batches' in native) {
    yield* fromEncodedRecords(file, native.batches);
    return;
  }
  // The native reader decompressed it already, and left the rest to this function.
  if (native !== undefined) buf = native.text;
  else if (isGzip(buf)) {
    try {
      buf = gunzipSync(buf, { maxOutputLength: maxBytes, chunkSize: gunzipChunkSize(buf, maxBytes) });
    } catch (cause) {
      yield fail(describeGzipError(cause, maxBytes));
      return;
    }
  } else if (buf.length > maxBytes) {
    yield fail(`file exceeds the ${mib(maxBytes)} MiB cap (--max-file-mb)`);
    return;
  }

  // Text saved as UTF-16 with a byte-order mark (what Windows PowerShell's `>` writes) is read as the text it holds.
  if (isUtf16(buf)) {
    if (buf.length % 2 !== 0) {
      yield fail('UTF-16 text (by its byte-order mark) of an odd number of bytes: the file is truncated');
      return;
    }
    buf = utf8OfUtf16(buf);
  }

  let start = 0;
  while (start < buf.length && isWhitespace(buf[start])) start++;
  if (start === buf.length) {
    yield { type: 'issue', issue: { kind: 'file-skipped', origin: { file }, message: 'empty file, no records', reason: 'empty-file' } };
    return;
  }
  // A UTF-8 byte-order mark is tolerated.
  if (buf[start] === 0xef && buf[start + 1] === 0xbb && buf[start + 2] === 0xbf) start += 3;
  const first = buf[start];

  if (first === 0x7b /* { */ || first === 0x5b /* [ */) {
    if (isUtf8(buf)) {
      const array = recordsArrayOf(buf, start);
      // Only a file parsed in pieces comes in pieces: others are parsed whole, and come in whole batches.
      if (array !== undefined) yield* fromRecordPieces(file, buf, start, array, options.pieceBytes ?? RECORDS_PIECE_BYTES, new BatchAssembler(file, batchSize, pieces, asGiven));
      else yield* fromDocumentText(file, buf, start, new BatchAssembler(file, batchSize, false, asGiven));
      return;
    }
    if (!hasNewlineSeparatedDocuments(buf, start)) {
      yield fail(`invalid UTF-8 (byte ${firstInvalidUtf8(buf)})`);
      return;
    }
    yield* fromNdjson(file, buf, start, new BatchAssembler(file, batchSize, false, asGiven));
    return;
  }
  yield fail(`not JSON (starts with byte 0x${(first ?? 0).toString(16).padStart(2, '0')}); expected CloudTrail JSON, NDJSON or gzip`);
}

/** The native reader's batches, each numbered as a batch read here would be. */
function* fromEncodedRecords(file: string, batches: readonly EncodedRecords[]): Generator<PieceItem> {
  for (const { firstIndex, count, ...results } of batches) {
    const batch = { file, indexes: Array.from({ length: count }, (_, i) => firstIndex + i), firstIndex };
    yield { type: 'encoded-batch', batch, ...results };
  }
}

/** Why a text is not JSON, in JSON.parse's words. */
const invalidJsonMessage = (cause: unknown): string => `invalid JSON: ${(cause as Error).message}`;

/**
 * One JSON document (parsed whole); or, when the text is not one, NDJSON (one value a line), or documents one after
 * another (`cat *.json.gz | kdm replay -`, or `aws cloudtrail lookup-events >> file` region after region).
 */
function* fromDocumentText(file: string, buf: Buffer, start: number, batches: BatchAssembler): Generator<PieceItem> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(buf.toString('utf8', start));
  } catch (cause) {
    // (The text is decoded again to say why, rather than kept while the document's records are read: it may be
    // hundreds of MB.)
    const lines = hasNewlineSeparatedDocuments(buf, start);
    if (lines && ndjsonBy(buf, start, 1)) {
      yield* fromNdjson(file, buf, start, batches);
      return;
    }
    const documents = jsonValuesOf(buf, start);
    if (isSeveral(documents) && (firstParses(buf, documents) || laterIsDocumentOfRecords(buf, documents))) {
      yield* fromJoinedDocuments(file, buf, documents, batches, 0);
      return;
    }
    // NDJSON whose first line is bad: a line after it is a record by itself.
    if (lines && ndjsonBy(buf, start, LINES_TO_TELL_NDJSON)) {
      yield* fromNdjson(file, buf, start, batches);
      return;
    }
    yield fileFailed(file, invalidJsonMessage(cause));
    return;
  }
  yield* fromParsedDocument(file, parsed, batches);
}

/** How many of a text's first lines tell NDJSON whose first line is bad from a document that is not JSON. */
const LINES_TO_TELL_NDJSON = 8;

/**
 * Whether a text that is not one JSON document is NDJSON, by its first `lines` lines that are not blank: one is an
 * object by itself, and not a whole document of records (those are documents one after another, one a line). A
 * pretty-printed document has no line that is an object by itself (JSON.stringify and the AWS CLI print `{}` alone
 * only when empty).
 */
const ndjsonBy = (buf: Buffer, start: number, lines: number): boolean => {
  let from = start;
  for (let seen = 0; seen < lines && from < buf.length; ) {
    let end = buf.indexOf(0x0a, from);
    if (end === -1) end = buf.length;
    const line = buf.toString('utf8', from, end).trim();
    from = end + 1;
    if (line === '') continue;
    seen++;
    if (!line.startsWith('{') || !line.endsWith('}')) continue;
    try {
      const value: unknown = JSON.parse(line);
      return !isDocumentOfRecords(value);
    } catch {
      // Not a value by itself: a line of a document, or a bad line of NDJSON; the next lines tell.
    }
  }
  return false;
};

/** A document that holds records rather than being one: a delivery file, or lookup-events output. */
const isDocumentOfRecords = (value: unknown): boolean =>
  typeof value === 'object' && value !== null && (Array.isArray((value as Record<string, unknown>)['Records']) || Array.isArray((value as Record<string, unknown>)['Events']));

/**
 * Whether a value after the first of several is a whole document of records: documents joined whose first is
 * damaged, not one damaged document (whose pieces, cut where its brackets no longer pair, are records or parts of
 * them, never a document of records). Error path only: parses the values after the first until one is.
 */
const laterIsDocumentOfRecords = (buf: Buffer, documents: JsonValues): boolean =>
  documents.ranges.slice(1).some(([from, to]) => {
    try {
      return isDocumentOfRecords(JSON.parse(buf.toString('utf8', from, to)));
    } catch {
      return false;
    }
  });

/**
 * Documents one after another in one text, read in turn: their records numbered on from one document to the next.
 * A document that is not JSON or not CloudTrail fails as one record, named by its place and byte; a digest is passed
 * over, and so is, when the text was read in pieces, the first `alreadyRead` records of the first document.
 * When every document is Event history (lookups joined: `cat history-*.json`), their events are read together in
 * the order of their times, as one lookup's are; other documents are read each in its own order.
 * A text that ends inside a document, or goes on with what is not JSON, fails as a file after the records before.
 */
function* fromJoinedDocuments(file: string, buf: Buffer, documents: JsonValues, batches: BatchAssembler, alreadyRead: number): Generator<PieceItem> {
  type Part = { readonly content: DocumentContent; readonly index: number } | { readonly failed: string; readonly index: number };
  const parts: Part[] = [];
  let index = alreadyRead;
  for (const [k, [from, to]] of documents.ranges.entries()) {
    const where = `document ${k + 1} (at byte ${from})`;
    let content: DocumentContent;
    try {
      content = contentOf(JSON.parse(buf.toString('utf8', from, to)));
    } catch (cause) {
      parts.push({ failed: `${where}: ${invalidJsonMessage(cause)}`, index: index++ });
      continue;
    }
    if ('fail' in content) {
      parts.push({ failed: `${where}: ${content.fail}`, index: index++ });
      continue;
    }
    const skip = k === 0 ? alreadyRead : 0;
    const read = 'items' in content ? { ...content, items: skip > 0 ? content.items.slice(skip) : content.items } : content;
    parts.push({ content: read, index });
    if ('items' in read) index += read.items.length;
  }

  const contents = parts.flatMap((p) => ('content' in p && 'items' in p.content ? [{ ...p.content, index: p.index }] : []));
  for (const p of parts) if ('failed' in p) yield { type: 'issue', issue: { kind: 'record-failed', origin: { file, index: p.index }, message: p.failed } };
  if (contents.length > 0 && contents.every((c) => c.history !== undefined)) {
    const all = contents.flatMap((c) => c.items);
    const indexes = contents.flatMap((c) => c.items.map((_, i) => c.index + i));
    yield* takeEventHistory(batches, all, indexes);
  } else {
    for (const c of contents) {
      if (c.history !== undefined) yield* takeEventHistory(batches, c.items, c.items.map((_, i) => c.index + i));
      else yield* batches.take(c.items, c.index);
    }
  }
  yield* batches.end();

  const digests = parts.filter((p) => 'content' in p && 'digest' in p.content).length;
  const pages = contents.filter((c) => c.history?.onePage === true).length;
  if (digests > 0) yield { type: 'issue', issue: { kind: 'file-note', origin: { file }, message: `${digests} of its documents ${digests === 1 ? 'is a CloudTrail digest' : 'are CloudTrail digests'} (integrity data, no events), passed over` } };
  if (pages > 0) yield { type: 'issue', issue: { kind: 'file-note', origin: { file }, message: `${pages === 1 ? 'a document' : `${pages} documents`} of it ${ONE_PAGE_OF_A_LOOKUP}` } };
  const { trouble } = documents;
  if (trouble !== undefined) {
    const what = trouble.why === 'truncated' ? 'the text ends inside it (truncated)' : `not JSON (byte 0x${(buf[trouble.at] ?? 0).toString(16).padStart(2, '0')})`;
    yield fileFailed(file, `document ${documents.ranges.length + 1} (at byte ${trouble.at}): ${what} (after ${documents.ranges.length} whole documents, which were read)`);
  }
}

/**
 * Event history's events, each keeping its index (its place in the text): in the order of their times, oldest first,
 * unless the items are held as given (`itemsAsGiven`), whose reader puts them in that order itself, with other
 * files' (readEventHistoryTogether). LookupEvents returns the newest first, and lookups by event source or region
 * each cover the whole period: read as they come, most events would be far behind those read before them, which
 * matching, windows and baselines take as late. The order is stable: events of one time keep theirs.
 */
function* takeEventHistory(batches: BatchAssembler, items: readonly unknown[], indexes: readonly number[]): Generator<PieceItem> {
  if (batches.itemsAsGiven) {
    yield* batches.take(items, 0, indexes);
    return;
  }
  const times = items.map(eventHistoryTimeMs);
  const order = items.map((_, i) => i).sort((a, b) => (times[a] as number) - (times[b] as number) || a - b);
  yield* batches.take(order.map((i) => items[i]), 0, order.map((i) => indexes[i] as number));
}

/**
 * When an Event history event happened, by its `EventTime` (ISO 8601 text from AWS CLI v2, seconds since the epoch
 * from v1), or else its record's `eventTime` (the only time of any other item: a record, an envelope); an event
 * with neither comes first, where it fails or is named.
 */
export const eventHistoryTimeMs = (item: unknown): number => {
  if (typeof item !== 'object' || item === null) return Number.NEGATIVE_INFINITY;
  const time = (item as Record<string, unknown>)['EventTime'];
  const ms = typeof time === 'number' ? time * 1000 : typeof time === 'string' ? Date.parse(time) : Number.NaN;
  if (Number.isFinite(ms)) return ms;
  const unwrapped = unwrap(item);
  const recordTime = 'record' in unwrapped && typeof unwrapped.record === 'object' && unwrapped.record !== null ? (unwrapped.record as Record<string, unknown>)['eventTime'] : undefined;
  const fromRecord = typeof recordTime === 'string' ? Date.parse(recordTime) : Number.NaN;
  return Number.isFinite(fromRecord) ? fromRecord : Number.NEGATIVE_INFINITY;
};

const hasNewlineSeparatedDocuments = (buf: Buffer, start: number): boolean => {
  const nl = buf.indexOf(0x0a, start);
  return nl !== -1 && nl < buf.length - 1;
};

/** Offset of the first byte that does not start or continue a valid UTF-8 sequence (error path only). */
export const firstInvalidUtf8 = (buf: Buffer): number => {
  let i = 0;
  while (i < buf.length) {
    const b = buf[i] as number;
    const len = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (len === 0 || i + len > buf.length || !isUtf8(buf.subarray(i, i + len))) return i;
    i += len;
  }
  return -1;
};

/**
 * About how much of a file's text is parsed at a time when the file is laid out as CloudTrail writes it. Parsed
 * whole, a file's records all live until the last is handled, and a reader thread's young generation that cannot
 * hold them moves them all to the old generation (docs/performance.md). Over 300,000 records in a loop on one
 * worker with a 6 MB young generation, each piece's records normalized and encoded as the piece came, reading,
 * normalizing and encoding took 3.0-3.9 s of CPU in pieces of 64 KiB against 4.6-5.2 s whole, in files of 200
 * records and of 1,000 alike (three alternating rounds); in fewer rounds, 32 KiB was no cheaper, 128 and 256 KiB
 * dearer.
 */
export const RECORDS_PIECE_BYTES = 64 * 1024;

const RECORDS_OPEN = Buffer.from('{"Records":[');
/** A first key short and plain enough to look for (CloudTrail's own is `eventVersion`). */
const PLAIN_KEY = /^[A-Za-z0-9_]{1,64}$/;

/** Where a file's records lie (the array's contents, between its brackets), and what is between two of them. */
interface RecordsArray {
  readonly from: number;
  readonly to: number;
  /**
   * `},{"` and the first record's first key and colon (CloudTrail writes `eventVersion` first; other tools write
   * keys in their own order, but the same for every record). In valid JSON this text is never inside a string:
   * its quote after `{` would have to close one, and a closing quote is followed by `,` `:` `]` `}` or a space,
   * not a letter. It can still be inside a record (a nested object that starts with the same key): the piece
   * before it then fails to parse, and the file is parsed whole instead. Undefined when the first key is not
   * plain: the records are then parsed as one piece.
   */
  readonly separator: Buffer | undefined;
}

/**
 * Where the records lie in a file laid out as CloudTrail writes its log files, `{"Records":[` … `]}` on one line;
 * undefined for any other layout, which is parsed whole.
 */
const recordsArrayOf = (buf: Buffer, start: number): RecordsArray | undefined => {
  let end = buf.length;
  while (end > start && isWhitespace(buf[end - 1])) end--;
  if (end - start < RECORDS_OPEN.length + 2 || buf[end - 1] !== 0x7d /* } */ || buf[end - 2] !== 0x5d /* ] */) return undefined;
  if (buf.compare(RECORDS_OPEN, 0, RECORDS_OPEN.length, start, start + RECORDS_OPEN.length) !== 0) return undefined;
  const newline = buf.indexOf(0x0a, start);
  if (newline !== -1 && newline < end) return undefined;
  const from = start + RECORDS_OPEN.length;
  // The first record's first key: `{"` at `from`, then the key up to its quote.
  const keyEnd = buf[from] === 0x7b && buf[from + 1] === 0x22 ? buf.indexOf(0x22, from + 2) : -1;
  const key = keyEnd === -1 ? '' : buf.toString('latin1', from + 2, Math.min(keyEnd, from + 2 + 65));
  return { from, to: end - 2, separator: PLAIN_KEY.test(key) ? Buffer.from(`},{"${key}":`) : undefined };
};

/**
 * A piece longer than this (a record of megabytes) is not parsed alone: wrapped in brackets, its text is copied once
 * more, so parsing it alone would hold such a record's text twice where parsing the file whole holds it once. Real
 * CloudTrail records are kilobytes.
 */
const LARGEST_PIECE_BYTES = 1024 * 1024;

/**
 * The records of a file laid out as CloudTrail writes it, parsed a piece at a time: each piece is the text from one
 * record to the end of the first record that ends past `pieceBytes`, parsed as an array. When every piece
 * parses, the file is valid JSON and its records are exactly those of its "Records" array (the pieces and the commas
 * between them are that array's text). When one does not, the file is parsed whole from there: it is invalid JSON,
 * or a piece ended inside a record. So is it from a piece longer than LARGEST_PIECE_BYTES.
 */
function* fromRecordPieces(file: string, buf: Buffer, start: number, array: RecordsArray, pieceBytes: number, batches: BatchAssembler): Generator<PieceItem> {
  let read = 0;
  let lastRead: unknown;
  for (let from = array.from; from < array.to; ) {
    let to = array.to;
    if (array.separator !== undefined && array.to - from > pieceBytes) {
      const separator = buf.indexOf(array.separator, from + pieceBytes);
      if (separator !== -1 && separator < array.to) to = separator + 1;
    }
    let items: unknown[] | undefined;
    if (to - from <= Math.max(LARGEST_PIECE_BYTES, pieceBytes)) {
      try {
        items = JSON.parse(`[${buf.toString('utf8', from, to)}]`) as unknown[];
      } catch {
        items = undefined;
      }
    }
    if (items === undefined) {
      yield* read === 0 ? fromDocumentText(file, buf, start, batches) : wholeAfterPieces(file, buf, start, batches, read, lastRead);
      return;
    }
    yield* batches.take(items, read);
    if (items.length > 0) lastRead = items[items.length - 1];
    read += items.length;
    from = to + 1;
  }
  yield* batches.end();
}

/** The rest of a file, parsed whole after `read` records were read in pieces: the whole file says whether they stand. */
function* wholeAfterPieces(file: string, buf: Buffer, start: number, batches: BatchAssembler, read: number, lastRead: unknown): Generator<PieceItem> {
  const failed = (message: string): SourceItem => {
    const closed = batches.dropOpen();
    return fileFailed(file, closed > 0 ? `${message} (after its first ${closed} records, which were read)` : message);
  };
  let doc: unknown;
  try {
    doc = JSON.parse(buf.toString('utf8', start));
  } catch (cause) {
    // Delivery files joined into one text: the pieces read lay in the first one (a piece across two does not parse).
    const documents = jsonValuesOf(buf, start);
    if (isSeveral(documents) && readsOn(buf, documents, read, lastRead)) {
      yield* fromJoinedDocuments(file, buf, documents, batches, read);
      return;
    }
    yield failed(invalidJsonMessage(cause));
    return;
  }
  const records = (doc as Record<string, unknown>)['Records'];
  // The same records up to here, unless the file holds more than one "Records" array and JSON.parse kept another.
  if (!Array.isArray(records) || records.length < read || JSON.stringify(records[read - 1]) !== JSON.stringify(lastRead)) {
    yield failed('"Records" is given more than once: which records the file holds is ambiguous');
    return;
  }
  yield* batches.take(records.slice(read), read);
  yield* batches.end();
}

/** Whether the first of several documents holds the `read` records read in pieces, ending with `lastRead`. */
const readsOn = (buf: Buffer, documents: JsonValues, read: number, lastRead: unknown): boolean => {
  const [from, to] = documents.ranges[0] ?? [0, 0];
  try {
    const records = (JSON.parse(buf.toString('utf8', from, to)) as Record<string, unknown>)['Records'];
    return Array.isArray(records) && records.length >= read && JSON.stringify(records[read - 1]) === JSON.stringify(lastRead);
  } catch {
    return false;
  }
};

/** What is said of lookup-events output that ends with a NextToken: the lookup matched more events than it holds. */
export const ONE_PAGE_OF_A_LOOKUP =
  'holds part of an Event history lookup: it ends with a NextToken, so more events matched than it holds (aws cloudtrail lookup-events stopped at --max-items, or ran with --no-paginate); the rest comes from the same command given that token (--starting-token, or --next-token with --no-paginate)';

/** What one JSON document holds: items to read (records, envelopes, Event history events), a digest, or why neither. */
type DocumentContent =
  | { readonly items: readonly unknown[]; readonly history?: { readonly onePage: boolean } }
  | { readonly digest: true }
  | { readonly fail: string };

const contentOf = (doc: unknown): DocumentContent => {
  if (Array.isArray(doc)) return { items: doc };
  if (typeof doc !== 'object' || doc === null) return { fail: 'JSON is not CloudTrail: expected an object or array' };
  const o = doc as Record<string, unknown>;
  if ('Records' in o) {
    const records = o['Records'];
    return Array.isArray(records) ? { items: records } : { fail: `"Records" is ${records === null ? 'null' : typeof records}, not an array` };
  }
  // What `aws cloudtrail lookup-events` prints: Event history's events, each with its record as JSON text.
  if ('Events' in o && !looksLikeRecord(o)) {
    const events = o['Events'];
    if (!Array.isArray(events)) return { fail: `"Events" is ${events === null ? 'null' : typeof events}, not an array (expected the output of aws cloudtrail lookup-events)` };
    return { items: events, history: { onePage: typeof o['NextToken'] === 'string' && o['NextToken'] !== '' } };
  }
  if (isDigest(o)) return { digest: true };
  if ('detail-type' in o || looksLikeRecord(o) || 'CloudTrailEvent' in o || isEventHistorySummary(o)) return { items: [o] };
  return { fail: 'JSON is not CloudTrail: expected {"Records":[...]}, an EventBridge envelope, a CloudTrail record, NDJSON of them, or the output of aws cloudtrail lookup-events' };
};

function* fromParsedDocument(file: string, doc: unknown, batches: BatchAssembler): Generator<PieceItem> {
  const content = contentOf(doc);
  if ('fail' in content) {
    yield fileFailed(file, content.fail);
    return;
  }
  if ('digest' in content) {
    yield { type: 'issue', issue: { kind: 'file-skipped', origin: { file }, message: 'CloudTrail digest file (integrity data, no events)', reason: 'digest-file' } };
    return;
  }
  if (content.history !== undefined) yield* takeEventHistory(batches, content.items, content.items.map((_, i) => i));
  else yield* batches.take(content.items, 0);
  yield* batches.end();
  if (content.history?.onePage === true) yield { type: 'issue', issue: { kind: 'file-note', origin: { file }, message: ONE_PAGE_OF_A_LOOKUP } };
}

/**
 * The records of a file's items, as a batch takes them out (`ReadOptions.itemsAsGiven` left that for later): each
 * with its index, and a skip or failure for each item that is not one, named by the file and the item's index.
 */
export const recordsOfItems = (file: string, items: readonly unknown[], indexes: readonly number[]): { records: unknown[]; indexes: number[]; issues: ReadIssue[] } => {
  const out = { records: [] as unknown[], indexes: [] as number[], issues: [] as ReadIssue[] };
  items.forEach((item, i) => {
    const index = indexes[i] as number;
    const u = unwrap(item);
    if (!('record' in u)) out.issues.push(notARecord(file, index, u));
    else {
      out.records.push(u.record);
      out.indexes.push(index);
    }
  });
  return out;
};

/** What is said of an item that holds no record: an EventBridge event of another kind is skipped, the rest fail. */
const notARecord = (file: string, index: number, u: Exclude<Unwrapped, { record: unknown }>): ReadIssue =>
  'skip' in u
    ? { kind: 'record-skipped', origin: { file, index }, message: 'EventBridge event that is not a CloudTrail API call', reason: u.skip }
    : { kind: 'record-failed', origin: { file, index }, message: u.fail };

/**
 * Gathers a file's items (records of a Records array, a JSON array or NDJSON) into batches of up to `batchSize`
 * records: EventBridge envelopes are unwrapped, the rest passed on as records (with `asGiven`, all passed on as they
 * are, in the file's order). With `pieces`, a batch is yielded in pieces as it grows (the records of each `take`), else whole.
 */
class BatchAssembler {
  readonly #file: string;
  readonly #batchSize: number;
  readonly #pieces: boolean;
  readonly #asGiven: boolean;
  #records: unknown[] = [];
  #indexes: number[] = [];
  /** Records of the open batch, with those of pieces already yielded. */
  #inBatch = 0;
  /** Records of batches already closed. */
  #closed = 0;

  constructor(file: string, batchSize: number, pieces: boolean, asGiven = false) {
    this.#file = file;
    this.#batchSize = batchSize;
    this.#pieces = pieces;
    this.#asGiven = asGiven;
  }

  /** Whether the items are passed on as the file gives them: not unwrapped, and in the file's order. */
  get itemsAsGiven(): boolean {
    return this.#asGiven;
  }

  /** Items numbered from `firstIndex`, or at `indexes` (an NDJSON file's line numbers). */
  *take(items: readonly unknown[], firstIndex: number, indexes?: readonly number[]): Generator<PieceItem> {
    for (let i = 0; i < items.length; i++) {
      const index = indexes?.[i] ?? firstIndex + i;
      const u = this.#asGiven ? { record: items[i] } : unwrap(items[i]);
      if (!('record' in u)) {
        yield { type: 'issue', issue: notARecord(this.#file, index, u) };
        continue;
      }
      this.#records.push(u.record);
      this.#indexes.push(index);
      if (++this.#inBatch >= this.#batchSize) yield this.#emit(false);
    }
    if (this.#pieces && this.#records.length > 0) yield this.#emit(true);
  }

  /** The open batch, closed: after the file's last item. */
  *end(): Generator<PieceItem> {
    if (this.#inBatch > 0) yield this.#emit(false);
  }

  /** Forgets the open batch (its pieces, if yielded, are voided by the `file-failed` issue that follows); returns how many records the closed batches held. */
  dropOpen(): number {
    this.#records = [];
    this.#indexes = [];
    this.#inBatch = 0;
    return this.#closed;
  }

  #emit(more: boolean): PieceItem {
    const batch: RecordBatch = { file: this.#file, records: this.#records, indexes: this.#indexes, firstIndex: this.#indexes[0] ?? 0 };
    this.#records = [];
    this.#indexes = [];
    if (!more) {
      this.#closed += this.#inBatch;
      this.#inBatch = 0;
    }
    return this.#pieces ? { type: 'batch-piece', batch, more } : { type: 'batch', batch };
  }
}

function* fromNdjson(file: string, buf: Buffer, start: number, batches: BatchAssembler): Generator<PieceItem> {
  const items: unknown[] = [];
  const indexes: number[] = [];
  let line = 0;
  let pos = start;
  while (pos < buf.length) {
    let end = buf.indexOf(0x0a, pos);
    if (end === -1) end = buf.length;
    const slice = buf.subarray(pos, end);
    const index = line;
    line++;
    pos = end + 1;
    if (!isUtf8(slice)) {
      yield { type: 'issue', issue: { kind: 'record-failed', origin: { file, index }, message: `line ${index + 1}: invalid UTF-8` } };
      continue;
    }
    const text = slice.toString('utf8').trim();
    if (text === '') continue;
    try {
      const item: unknown = JSON.parse(text);
      // A delivery file whole on one line: delivery files that end in a newline, joined (`cat *.json.gz | kdm replay -`).
      if (typeof item === 'object' && item !== null && Array.isArray((item as Record<string, unknown>)['Records'])) {
        yield { type: 'issue', issue: { kind: 'record-failed', origin: { file, index }, message: `line ${index + 1}: a whole {"Records":[...]} file among records one a line: kdm reads files one after another, or records one a line, not the two in one text` } };
        continue;
      }
      items.push(item);
      indexes.push(index);
    } catch (cause) {
      yield { type: 'issue', issue: { kind: 'record-failed', origin: { file, index }, message: `line ${index + 1}: invalid JSON: ${(cause as Error).message}` } };
    }
  }
  yield* batches.take(items, 0, indexes);
  yield* batches.end();
}

/** Reads one input (a path or `-`) and yields its batches and issues, then `file-done`. */
export async function* readCloudTrailFile(input: InputFile, options: ReadOptions = {}): AsyncGenerator<SourceItem> {
  yield* readInput(input, options, parseCloudTrailBuffer);
}

/** Reads one input as `readCloudTrailFile` does, with the batches of a file as CloudTrail writes it in pieces (`parseCloudTrailPieces`). */
export async function* readCloudTrailFileInPieces(input: InputFile, options: ReadOptions = {}): AsyncGenerator<PieceItem> {
  yield* readInput(input, options, parseCloudTrailPieces);
}

/**
 * Gathers a file's batch pieces (`parseCloudTrailPieces`) into whole batches, as a reader thread hands them on: a
 * batch once a piece comes with `more` false, voided by a `file-failed` issue while it is open; other items as they
 * come.
 */
export class BatchPieceGatherer {
  #open: { readonly file: string; readonly records: unknown[]; readonly indexes: number[] } | undefined;

  /** What to hand on for `item`: the whole batch when its last piece comes, nothing while a batch is open, else `item`. */
  add(item: PieceItem): SourceItem | EncodedBatch | undefined {
    if (item.type !== 'batch-piece') {
      // A file that turns out not to be JSON after its first pieces voids the batch they began.
      if (item.type === 'issue' && item.issue.kind === 'file-failed') this.#open = undefined;
      return item;
    }
    const { file, records, indexes, firstIndex } = item.batch;
    const open = (this.#open ??= { file, records: [], indexes: [] });
    for (let i = 0; i < records.length; i++) {
      open.records.push(records[i]);
      open.indexes.push(indexes?.[i] ?? firstIndex + i);
    }
    if (item.more) return undefined;
    this.#open = undefined;
    return { type: 'batch', batch: { file: open.file, records: open.records, indexes: open.indexes, firstIndex: open.indexes[0] ?? firstIndex } };
  }
}

/**
 * Reads one input as `readCloudTrailFileInPieces` does, each batch gathered whole from its pieces: for reading on
 * the engine's own thread what a reader thread would read. With `options.native`, the batches the native reader
 * made come encoded.
 */
export async function* readCloudTrailFileInBatches(input: InputFile, options: ReadOptions = {}): AsyncGenerator<SourceItem | EncodedBatch> {
  const gatherer = new BatchPieceGatherer();
  for await (const item of readCloudTrailFileInPieces(input, options)) {
    const whole = gatherer.add(item);
    if (whole !== undefined) yield whole;
  }
}

async function* readInput<T extends PieceItem>(input: InputFile, options: ReadOptions, parse: (file: string, buf: Buffer, options: ReadOptions) => Generator<T>): AsyncGenerator<T | SourceItem> {
  const name = input.path === '-' ? '<stdin>' : input.path;
  const maxBytes = capOf(options);
  const mostBytes = mostBytesWithin(maxBytes);
  const failed = (message: string): SourceItem => fileFailed(name, message);
  // Its size on disk says so already: reading a file of gigabytes only to refuse it would hold them all in memory.
  if (input.path !== '-' && input.bytes > mostBytes) {
    yield failed(`file is ${mib(input.bytes)} MiB, more than the ${mib(maxBytes)} MiB cap (--max-file-mb) can hold once read`);
    yield { type: 'file-done', file: name, bytes: input.bytes };
    return;
  }
  let buf: Buffer;
  try {
    // A file is read in one blocking call: the readers are threads of their own, and a replay without them has
    // nothing else to do meanwhile. fs/promises' readFile took 0.3-0.5 ms of CPU for each file of the bench
    // (about 8 KB gzipped) against 0.015-0.03 ms for readFileSync: about 2 s of a 1M-record replay's CPU. In files
    // of 1,000 records it saves little, and the readers' fuller read-ahead costs about 12 MB (docs/performance.md).
    buf = input.path === '-' ? await (options.readStdin ?? (() => readAllStdin(mostBytes)))() : readFileSync(input.path);
  } catch (cause) {
    yield failed(`cannot read: ${systemErrorText(cause)}`);
    yield { type: 'file-done', file: name, bytes: input.bytes };
    return;
  }
  if (input.path === '-' && buf.length > mostBytes) {
    yield failed(`standard input is more than the ${mib(maxBytes)} MiB cap (--max-file-mb) can hold once read; its records were not read (give larger input as files)`);
    yield { type: 'file-done', file: name, bytes: buf.length };
    return;
  }
  yield* parse(name, buf, options);
  yield { type: 'file-done', file: name, bytes: input.bytes || buf.length };
}

/** Standard input, read until its end or until it is longer than `mostBytes` (the rest is left unread). */
const readAllStdin = async (mostBytes: number): Promise<Buffer> => {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of process.stdin) {
    chunks.push(chunk as Buffer);
    length += (chunk as Buffer).length;
    if (length > mostBytes) break;
  }
  return Buffer.concat(chunks);
};
