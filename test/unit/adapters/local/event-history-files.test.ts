import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { InputFile } from '#adapters/local/cloudtrail-files.ts';
import { beginsEventHistory, eventHistoryFiles, readEventHistoryTogether } from '#adapters/local/event-history-files.ts';
import type { SourceItem } from '#core/ports.ts';
import { BASE_TIME_MS, kmsRecord, minutes } from '#core/testing/builders.ts';
import { lookupEventsOutput } from '../../../helpers/event-history.ts';

/** What `aws cloudtrail lookup-events` prints for these records, newest first as LookupEvents returns them. */
const lookupText = (records: readonly Record<string, unknown>[]): string =>
  JSON.stringify(lookupEventsOutput([...records].sort((a, b) => Date.parse(String(b['eventTime'])) - Date.parse(String(a['eventTime'])))), null, 4);

const inputsIn = (files: Record<string, string | Buffer>): InputFile[] => {
  const dir = mkdtempSync(join(tmpdir(), 'kdm-history-files-'));
  return Object.entries(files).map(([name, content]) => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return { path, bytes: statSync(path).size };
  });
};

const gather = async (items: AsyncIterable<SourceItem>): Promise<SourceItem[]> => {
  const all: SourceItem[] = [];
  for await (const item of items) all.push(item);
  return all;
};

describe('beginsEventHistory', () => {
  it('tells lookup-events output by its first key, however it is spaced and encoded', () => {
    const text = lookupText([kmsRecord()]);
    expect(beginsEventHistory(Buffer.from(text))).toBe(true);
    expect(beginsEventHistory(Buffer.from(JSON.stringify(JSON.parse(text))))).toBe(true);
    expect(beginsEventHistory(Buffer.from(`\n  \uFEFF${text}`))).toBe(true);
    // What Windows PowerShell's > writes: UTF-16 with its byte-order mark, either byte order.
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
    expect(beginsEventHistory(utf16)).toBe(true);
    expect(beginsEventHistory(Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(Buffer.from(text, 'utf16le')).swap16()]))).toBe(true);
    // A head cut anywhere after the key, even inside a UTF-16 unit.
    expect(beginsEventHistory(utf16.subarray(0, 41))).toBe(true);
  });

  it('tells apart what is not: a trail\'s file, other JSON, a key named later, a cut key, nothing', () => {
    expect(beginsEventHistory(Buffer.from(JSON.stringify({ Records: [kmsRecord()] })))).toBe(false);
    expect(beginsEventHistory(Buffer.from(JSON.stringify([{ Events: [] }])))).toBe(false);
    expect(beginsEventHistory(Buffer.from('{"NextToken": "x", "Events": []}'))).toBe(false);
    expect(beginsEventHistory(Buffer.from('{"Event'))).toBe(false);
    expect(beginsEventHistory(Buffer.from('{"EventsX": []}'))).toBe(false);
    expect(beginsEventHistory(Buffer.alloc(0))).toBe(false);
  });
});

describe('eventHistoryFiles', () => {
  const lookup = lookupText([kmsRecord()]);

  it('finds two or more lookups among a replay\'s files, plain or gzipped, leaves the rest in their order, and reads the lookups where the first of them stands', () => {
    const inputs = inputsIn({
      'a.json': lookup,
      '111122223333_CloudTrail_us-east-1_20261001T1210Z_b2c3.json.gz': gzipSync(JSON.stringify({ Records: [kmsRecord()] })),
      'b.json.gz': gzipSync(lookup),
      'records.jsonl': `${JSON.stringify(kmsRecord())}\n`,
    });
    const { together, rest, togetherFirst, apart } = eventHistoryFiles(inputs);
    expect(together.map((i) => i.path)).toEqual([inputs[0]?.path, inputs[2]?.path]);
    expect(rest.map((i) => i.path)).toEqual([inputs[1]?.path, inputs[3]?.path]);
    expect(apart).toBeUndefined();
    // Read where the first of them stands: before the rest here, after it when a file of the rest comes first.
    expect(togetherFirst).toBe(true);
    const [a, trail, b, records] = inputs as [InputFile, InputFile, InputFile, InputFile];
    expect(eventHistoryFiles([trail, a, records, b])).toMatchObject({ together: [a, b], rest: [trail, records], togetherFirst: false });
  });

  it('leaves one lookup, standard input and files that cannot be read to be read as any file is', () => {
    const [one, other] = inputsIn({ 'a.json': lookup, 'b.json': JSON.stringify({ Records: [] }) });
    const missing = { path: join(tmpdir(), 'kdm-no-such-dir', 'history.json'), bytes: 10 };
    const stdin = { path: '-', bytes: 0 };
    expect(eventHistoryFiles([one as InputFile, other as InputFile, missing, stdin])).toEqual({ together: [], rest: [one, other, missing, stdin], togetherFirst: false });
  });

  it('reads lookups apart when their texts together are more than a replay may hold, by a gzipped file\'s own size', () => {
    const big = lookupText(Array.from({ length: 200 }, (_, i) => kmsRecord({ atMs: BASE_TIME_MS + minutes(i) })));
    const inputs = inputsIn({ 'a.json': big, 'b.json.gz': gzipSync(big) });
    const bytes = Buffer.byteLength(big);
    expect(eventHistoryFiles(inputs, 2 * bytes).together).toHaveLength(2);
    expect(eventHistoryFiles(inputs, 2 * bytes - 1)).toEqual({ together: [], rest: inputs, togetherFirst: false, apart: { files: 2, textBytes: 2 * bytes } });
  });
});

describe('readEventHistoryTogether', () => {
  it('reads the events of several lookups in the order of their times, each batch of one file, numbered by its place in that file, and ends each file after all', async () => {
    const at = (m: number) => BASE_TIME_MS + minutes(m);
    const kms = [0, 2, 3, 7].map((m) => kmsRecord({ atMs: at(m), eventId: `kms-${m}` }));
    const other = [1, 4, 5, 6].map((m) => kmsRecord({ atMs: at(m), eventId: `other-${m}`, eventName: 'ScheduleKeyDeletion' }));
    const [a, b] = inputsIn({ 'kms.json': lookupText(kms), 'other.json': lookupText(other) }) as [InputFile, InputFile];

    const items = await gather(readEventHistoryTogether([a, b], { batchSize: 2 }));
    const batches = items.flatMap((i) => (i.type === 'batch' ? [i.batch] : []));
    expect(batches.map((x) => [x.file, x.records.map((r) => (r as { eventID: string }).eventID), x.indexes])).toEqual([
      // Each lookup is newest first: its oldest event is its last.
      [a.path, ['kms-0'], [3]],
      [b.path, ['other-1'], [3]],
      [a.path, ['kms-2', 'kms-3'], [2, 1]],
      [b.path, ['other-4', 'other-5'], [2, 1]],
      [b.path, ['other-6'], [0]],
      [a.path, ['kms-7'], [0]],
    ]);
    expect(batches.map((x) => x.firstIndex)).toEqual([3, 3, 2, 2, 0, 0]);
    expect(items.slice(-2)).toEqual([
      { type: 'file-done', file: a.path, bytes: a.bytes },
      { type: 'file-done', file: b.path, bytes: b.bytes },
    ]);
  });

  it('tells each file\'s problems by that file, keeps the events of one time in the files\' order, and puts an event without a time first', async () => {
    const t = BASE_TIME_MS;
    const lookupA = lookupEventsOutput([kmsRecord({ atMs: t, eventId: 'a-1' }), kmsRecord({ atMs: t, eventId: 'a-2' })]) as { Events: Record<string, unknown>[] };
    delete lookupA.Events[1]?.['CloudTrailEvent'];
    const timeless = { ...kmsRecord({ eventId: 'b-timeless' }), eventTime: undefined };
    const [a, b, c] = inputsIn({ 'a.json': JSON.stringify(lookupA), 'b.json': JSON.stringify(lookupEventsOutput([kmsRecord({ atMs: t, eventId: 'b-1' }), timeless])), 'c.json': '{"Events": [' }) as [InputFile, InputFile, InputFile];

    const items = await gather(readEventHistoryTogether([a, b, c]));
    const issues = items.flatMap((i) => (i.type === 'issue' ? [[i.issue.kind, i.issue.origin.file, i.issue.origin.index]] : []));
    // A file that cannot be read is told as it is read; an event without its record, as its batch is handed on.
    expect(issues).toEqual([
      ['file-failed', c.path, undefined],
      ['record-failed', a.path, 1],
    ]);
    const order = items.flatMap((i) => (i.type === 'batch' ? i.batch.records.map((r) => (r as { eventID: string }).eventID) : []));
    expect(order).toEqual(['b-timeless', 'a-1', 'b-1']);
    expect(items.filter((i) => i.type === 'file-done').map((i) => (i as { file: string }).file)).toEqual([a.path, b.path, c.path]);
  });
});
