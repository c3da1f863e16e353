/**
 * Event history lookups given as files of their own (`aws cloudtrail lookup-events > history-<region>-<source>.json`,
 * a file a lookup), read together: their events in the order of their times, as the lookups joined into one text
 * are (`cat history-*.json | kdm replay -`, see cloudtrail-files.ts). A lookup returns its events newest first, and
 * each lookup covers the whole period, so files read one after another would bring the second's events months
 * behind the first's, which matching, windows and baselines take as late.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { constants as zlibConstants, gunzipSync } from 'node:zlib';
import type { SourceItem } from '#core/ports.ts';
import { decompressedSize, DEFAULT_BATCH_SIZE, DEFAULT_MAX_FILE_BYTES, eventHistoryTimeMs, isGzip, readCloudTrailFileInBatches, recordsOfItems, type InputFile, type ReadOptions } from './cloudtrail-files.ts';
import { deliveredByMs } from './delivery-time.ts';
import { isUtf16, isWhitespace, utf8OfUtf16 } from './json-text.ts';

/** How much of a file is read to tell lookup-events output: its first key comes within a few bytes. */
const HEAD_BYTES = 4096;

const EVENTS_KEY = Buffer.from('"Events"');

/**
 * Whether a text begins as `aws cloudtrail lookup-events` prints: an object whose first key is `Events` (after
 * whitespace, and a UTF-8 byte-order mark; UTF-16 text, what Windows PowerShell's `>` writes, by its own mark).
 * Pure; `head` may be any start of the text.
 */
export const beginsEventHistory = (head: Buffer): boolean => {
  const text = isUtf16(head) ? utf8OfUtf16(head.subarray(0, head.length - (head.length % 2))) : head;
  let i = 0;
  const skipWhitespace = (): void => {
    while (isWhitespace(text[i])) i++;
  };
  skipWhitespace();
  if (text[i] === 0xef && text[i + 1] === 0xbb && text[i + 2] === 0xbf) i += 3;
  skipWhitespace();
  if (text[i] !== 0x7b /* { */) return false;
  i++;
  skipWhitespace();
  return text.subarray(i, i + EVENTS_KEY.length).equals(EVENTS_KEY);
};

/**
 * Whether an input begins as lookup-events output, by its first bytes (a gzip file's inflated: the start of a
 * gzip stream inflates without its end). A file that cannot be read is not one: the reader says what is wrong with it.
 */
const isEventHistory = (input: InputFile): boolean => {
  let fd: number | undefined;
  try {
    fd = openSync(input.path, 'r');
    const head = Buffer.alloc(Math.min(HEAD_BYTES, input.bytes));
    const start = head.subarray(0, readSync(fd, head, 0, head.length, 0));
    return beginsEventHistory(isGzip(start) ? gunzipSync(start, { finishFlush: zlibConstants.Z_SYNC_FLUSH }) : start);
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
};

/** How a replay's files divide: Event history lookups to read together, and the rest. */
export interface EventHistoryFiles {
  /** Two or more lookups, to read together (`readEventHistoryTogether`); empty otherwise. */
  readonly together: InputFile[];
  readonly rest: InputFile[];
  /**
   * Whether the lookups are read before the rest, rather than after it: where the first of them stands in the
   * list (`kdm replay history/ AWSLogs/` reads them first, `kdm replay AWSLogs/ history/` last).
   */
  readonly togetherFirst: boolean;
  /** Lookups read one after another after all, with their text's size: together they exceed what may be held. */
  readonly apart?: { readonly files: number; readonly textBytes: number };
}

/**
 * Finds the lookups among `inputs`: files named otherwise than a trail names its files (a trail's are never
 * lookups), whose text begins as lookup-events output. Two or more are read together when their texts together fit
 * within `maxBytes` (`--max-file-mb`, what standard input may hold too): they are held in memory whole.
 */
export const eventHistoryFiles = (inputs: readonly InputFile[], maxBytes: number = DEFAULT_MAX_FILE_BYTES): EventHistoryFiles => {
  const candidates = inputs.filter((input) => input.path !== '-' && deliveredByMs(input.path) === undefined);
  const none = { together: [], rest: [...inputs], togetherFirst: false };
  if (candidates.length < 2) return none;
  const lookups = new Set<InputFile>();
  let textBytes = 0;
  for (const input of candidates) {
    if (!isEventHistory(input)) continue;
    lookups.add(input);
    textBytes += decompressedSize(input) ?? input.bytes;
  }
  if (lookups.size < 2) return none;
  if (textBytes > maxBytes) return { ...none, apart: { files: lookups.size, textBytes } };
  return { together: inputs.filter((i) => lookups.has(i)), rest: inputs.filter((i) => !lookups.has(i)), togetherFirst: lookups.has(inputs[0] as InputFile) };
};

/** An event held until every lookup is read, with where it came from and when it happened. */
interface HeldEvent {
  readonly file: string;
  readonly index: number;
  /** As the file gives it: its record is taken out when it is handed on (`recordsOfItems`). */
  readonly item: unknown;
  readonly timeMs: number;
}

/**
 * Reads lookups together: each file as any file is read (its problems told as they come, its events left in its
 * order), then all their events in the order of their times, sorted here once, in batches of one file's records each
 * (a batch names one file), and last each file's end. The events are held as the files give them, each record still
 * the text of its `CloudTrailEvent`: parsed, a record takes several times that, and it is parsed as its batch is
 * handed on (an event without one fails then, named by its file and its place there). The order is stable: events of
 * one time keep the order of the files and of each file. On this thread, and without the native reader, which reads
 * only a trail's layout.
 */
export async function* readEventHistoryTogether(inputs: readonly InputFile[], options: ReadOptions = {}): AsyncGenerator<SourceItem> {
  const held: HeldEvent[] = [];
  const ends: SourceItem[] = [];
  const { native: _native, ...withoutNative } = options;
  for (const input of inputs) {
    for await (const item of readCloudTrailFileInBatches(input, { ...withoutNative, itemsAsGiven: true })) {
      if (item.type === 'encoded-batch') throw new Error('internal: an encoded batch read without the native reader');
      if (item.type === 'file-done') ends.push(item);
      else if (item.type === 'issue') yield item;
      else {
        const { file, records: items, indexes, firstIndex } = item.batch;
        items.forEach((given, i) => held.push({ file, index: indexes?.[i] ?? firstIndex + i, item: given, timeMs: eventHistoryTimeMs(given) }));
      }
    }
  }
  held.sort((a, b) => (a.timeMs === b.timeMs ? 0 : a.timeMs < b.timeMs ? -1 : 1));
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  for (let from = 0; from < held.length; ) {
    const file = (held[from] as HeldEvent).file;
    let to = from + 1;
    while (to < held.length && to - from < batchSize && (held[to] as HeldEvent).file === file) to++;
    const run = held.slice(from, to);
    from = to;
    const { records, indexes, issues } = recordsOfItems(file, run.map((h) => h.item), run.map((h) => h.index));
    for (const issue of issues) yield { type: 'issue', issue };
    if (records.length > 0) yield { type: 'batch', batch: { file, records, indexes, firstIndex: indexes[0] as number } };
  }
  yield* ends;
}
