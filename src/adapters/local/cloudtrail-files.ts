import { constants as bufferConstants, isUtf8 } from 'node:buffer';
import { closeSync, openSync, readFileSync, readSync, Stats, type Dirent } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { constants as zlibConstants, gunzipSync } from 'node:zlib';
import type { ReadIssue, RecordBatch, SourceItem } from '#core/ports.ts';

/** Default cap on one file's decompressed size: a gzip bomb stops here with a clear error. */
export const DEFAULT_MAX_FILE_BYTES = 256 * 1024 * 1024;
/**
 * The largest cap there can be: a file is parsed as one text, and V8's strings end at 2^29 - 24 characters
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
/** The error code of what the file system refused (ENOENT, EACCES ...), or the error itself. */
const errorCode = (cause: unknown): string => (cause as NodeJS.ErrnoException).code ?? String(cause);
/** Records per batch handed to the engine (big delivery files are split). */
export const DEFAULT_BATCH_SIZE = 5_000;

const CLOUDTRAIL_FILE = /\.(?:json|jsonl|ndjson)(?:\.gz)?$/i;
const CLOUDTRAIL_DETAIL_TYPES = /via CloudTrail$/;

export interface ReadOptions {
  readonly maxFileBytes?: number;
  readonly batchSize?: number;
  /** Reads standard input for `-` (tests pass a buffer). */
  readonly readStdin?: () => Promise<Buffer>;
}

export interface InputFile {
  readonly path: string;
  /** Size on disk, for progress; 0 for stdin. */
  readonly bytes: number;
}

/**
 * Expands the command-line paths: files as given, directories recursively (sorted, so an AWSLogs tree
 * replays in date order), `-` for standard input. Symbolic links are followed, to files and directories alike
 * (a directory reached twice, through a link or a loop, is read once). Directory entries that are not
 * CloudTrail file names are reported as skipped files, and links that lead nowhere or directories that cannot be
 * listed as failed ones: never silently ignored, and never the end of the run.
 */
export const expandInputs = async (paths: readonly string[], onIssue: (issue: ReadIssue) => void): Promise<InputFile[]> => {
  const out: InputFile[] = [];
  const cannotOpen = (file: string, cause: unknown, why = ''): void =>
    onIssue({ kind: 'file-failed', origin: { file }, message: `cannot open: ${errorCode(cause)}${why}` });
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
      onIssue({ kind: 'file-failed', origin: { file: dir }, message: `cannot list the directory: ${errorCode(cause)}` });
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const full = join(dir, entry.name);
      // What a link leads to, or the entry itself.
      let target: Stats | Dirent = entry;
      if (entry.isSymbolicLink()) {
        try {
          target = await stat(full);
        } catch (cause) {
          cannotOpen(full, cause, ' (a symbolic link to what is not there)');
          continue;
        }
      }
      if (target.isDirectory()) await walk(full);
      else if (target.isFile() && CLOUDTRAIL_FILE.test(entry.name)) {
        try {
          out.push({ path: full, bytes: (target instanceof Stats ? target : await stat(full)).size });
        } catch (cause) {
          // Gone, or refused, between listing and looking.
          cannotOpen(full, cause);
        }
      }
      else if (target.isFile()) onIssue({ kind: 'file-skipped', origin: { file: full }, message: 'not a CloudTrail file name (.json, .jsonl, .ndjson, optionally .gz)' });
      else onIssue({ kind: 'file-skipped', origin: { file: full }, message: 'not a regular file or directory' });
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
      cannotOpen(p, cause);
      continue;
    }
    if (info.isDirectory()) await walk(p);
    else out.push({ path: p, bytes: info.size });
  }
  return out;
};

const isGzip = (buf: Buffer): boolean => buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b;
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

type Unwrapped = { record: unknown } | { skip: string };

/** An EventBridge envelope yields its CloudTrail record; any other object is taken as a bare record. */
const unwrap = (item: unknown): Unwrapped => {
  if (typeof item === 'object' && item !== null && !Array.isArray(item)) {
    const o = item as Record<string, unknown>;
    const detailType = o['detail-type'];
    if (typeof detailType === 'string' && 'detail' in o) {
      if (!CLOUDTRAIL_DETAIL_TYPES.test(detailType)) return { skip: 'not-cloudtrail' };
      return { record: o['detail'] };
    }
  }
  return { record: item };
};

const isDigest = (o: Record<string, unknown>): boolean =>
  'digestStartTime' in o && 'digestEndTime' in o && ('logFiles' in o || 'digestPublicKeyFingerprint' in o);

const looksLikeRecord = (o: Record<string, unknown>): boolean =>
  'eventVersion' in o || 'eventSource' in o || 'eventName' in o || 'eventID' in o;

/**
 * Parses one file's bytes into batches of raw records. Pure over its input (no IO), so workers and
 * tests can call it directly. Shapes: `{"Records":[...]}`, one EventBridge envelope or bare record,
 * a JSON array of either, or NDJSON of either; digest files are skipped with a reason.
 */
export function* parseCloudTrailBuffer(file: string, input: Buffer, options: ReadOptions = {}): Generator<SourceItem> {
  const maxBytes = capOf(options);
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  const fail = (message: string): SourceItem => fileFailed(file, message);

  let buf = input;
  if (isGzip(buf)) {
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

  let start = 0;
  while (start < buf.length && (buf[start] === 0x20 || buf[start] === 0x0a || buf[start] === 0x0d || buf[start] === 0x09)) start++;
  if (start === buf.length) {
    yield { type: 'issue', issue: { kind: 'file-skipped', origin: { file }, message: 'empty file, no records' } };
    return;
  }
  // A UTF-8 byte-order mark is tolerated.
  if (buf[start] === 0xef && buf[start + 1] === 0xbb && buf[start + 2] === 0xbf) start += 3;
  const first = buf[start];

  if (first === 0x7b /* { */ || first === 0x5b /* [ */) {
    if (isUtf8(buf)) {
      let parsed: unknown;
      let parseError: string | undefined;
      try {
        parsed = JSON.parse(buf.toString('utf8', start));
      } catch (cause) {
        parseError = (cause as Error).message;
      }
      if (parseError === undefined) {
        yield* fromParsedDocument(file, parsed, batchSize);
        return;
      }
      // Not one JSON document: NDJSON has one per line. A single-line document is simply invalid JSON.
      if (buf.indexOf(0x0a, start) === -1 || buf.indexOf(0x0a, start) >= buf.length - 1) {
        yield fail(`invalid JSON: ${parseError}`);
        return;
      }
    } else if (!hasNewlineSeparatedDocuments(buf, start)) {
      yield fail(`invalid UTF-8 (byte ${firstInvalidUtf8(buf)})`);
      return;
    }
    yield* fromNdjson(file, buf, start, batchSize);
    return;
  }
  yield fail(`not JSON (starts with byte 0x${(first ?? 0).toString(16).padStart(2, '0')}); expected CloudTrail JSON, NDJSON or gzip`);
}

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

function* fromParsedDocument(file: string, doc: unknown, batchSize: number): Generator<SourceItem> {
  const fail = (message: string): SourceItem => fileFailed(file, message);
  if (Array.isArray(doc)) {
    yield* fromItems(file, doc, batchSize);
    return;
  }
  if (typeof doc !== 'object' || doc === null) {
    yield fail('JSON is not CloudTrail: expected an object or array');
    return;
  }
  const o = doc as Record<string, unknown>;
  if ('Records' in o) {
    if (!Array.isArray(o['Records'])) {
      yield fail(`"Records" is ${o['Records'] === null ? 'null' : typeof o['Records']}, not an array`);
      return;
    }
    yield* fromItems(file, o['Records'], batchSize);
    return;
  }
  if (isDigest(o)) {
    yield { type: 'issue', issue: { kind: 'file-skipped', origin: { file }, message: 'CloudTrail digest file (integrity data, no events)', reason: 'digest-file' } };
    return;
  }
  if ('detail-type' in o || looksLikeRecord(o)) {
    yield* fromItems(file, [o], batchSize);
    return;
  }
  yield fail('JSON is not CloudTrail: expected {"Records":[...]}, an EventBridge envelope, a CloudTrail record, or NDJSON of them');
}

/** Items of a Records array, JSON array or NDJSON: envelopes are unwrapped, the rest passed on as records. */
function* fromItems(file: string, items: readonly unknown[], batchSize: number, indexes?: readonly number[]): Generator<SourceItem> {
  let records: unknown[] = [];
  let recordIndexes: number[] = [];
  for (let i = 0; i < items.length; i++) {
    const index = indexes?.[i] ?? i;
    const u = unwrap(items[i]);
    if ('skip' in u) {
      yield { type: 'issue', issue: { kind: 'record-skipped', origin: { file, index }, message: 'EventBridge event that is not a CloudTrail API call', reason: u.skip } };
      continue;
    }
    records.push(u.record);
    recordIndexes.push(index);
    if (records.length >= batchSize) {
      yield { type: 'batch', batch: { file, records, indexes: recordIndexes, firstIndex: recordIndexes[0] ?? 0 } satisfies RecordBatch };
      records = [];
      recordIndexes = [];
    }
  }
  if (records.length > 0) yield { type: 'batch', batch: { file, records, indexes: recordIndexes, firstIndex: recordIndexes[0] ?? 0 } };
}

function* fromNdjson(file: string, buf: Buffer, start: number, batchSize: number): Generator<SourceItem> {
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
      items.push(JSON.parse(text));
      indexes.push(index);
    } catch (cause) {
      yield { type: 'issue', issue: { kind: 'record-failed', origin: { file, index }, message: `line ${index + 1}: invalid JSON: ${(cause as Error).message}` } };
    }
  }
  yield* fromItems(file, items, batchSize, indexes);
}

/** Reads one input (a path or `-`) and yields its batches and issues, then `file-done`. */
export async function* readCloudTrailFile(input: InputFile, options: ReadOptions = {}): AsyncGenerator<SourceItem> {
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
    yield failed(`cannot read: ${errorCode(cause)}`);
    yield { type: 'file-done', file: name, bytes: input.bytes };
    return;
  }
  if (input.path === '-' && buf.length > mostBytes) {
    yield failed(`standard input is more than the ${mib(maxBytes)} MiB cap (--max-file-mb) can hold once read; its records were not read (give larger input as files)`);
    yield { type: 'file-done', file: name, bytes: buf.length };
    return;
  }
  yield* parseCloudTrailBuffer(name, buf, options);
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
