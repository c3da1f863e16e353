import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { gzipSync } from 'node:zlib';
import { expandInputs, ONE_PAGE_OF_A_LOOKUP, parseCloudTrailBuffer, recordsOfItems, parseCloudTrailPieces, firstInvalidUtf8, MAX_FILE_BYTES_LIMIT, RECORDS_PIECE_BYTES, type BatchPiece, type PieceItem } from '#adapters/local/cloudtrail-files.ts';
import type { ReadIssue, SourceItem } from '#core/ports.ts';
import { BASE_TIME_MS, kmsRecord, minutes } from '#core/testing/builders.ts';
import { eventHistoryEvent, lookupEventsOutput } from '../../helpers/event-history.ts';
import { gatherPieces } from '../../helpers/pieces.ts';

const parse = (input: Buffer | string, options = {}): SourceItem[] => [...parseCloudTrailBuffer('f.json', Buffer.isBuffer(input) ? input : Buffer.from(input), options)];
const records = (items: SourceItem[]): unknown[] => items.flatMap((i) => (i.type === 'batch' ? i.batch.records : []));
const issues = (items: SourceItem[]) => items.flatMap((i) => (i.type === 'issue' ? [i.issue] : []));
const envelope = (detail: unknown, detailType = 'AWS API Call via CloudTrail') => ({ version: '0', id: 'x', 'detail-type': detailType, source: 'aws.kms', detail });

describe('parseCloudTrailBuffer', () => {
  const r1 = kmsRecord({ eventId: 'r1' });
  const r2 = kmsRecord({ eventId: 'r2' });

  it('reads an S3 delivery file, plain or gzipped', () => {
    const doc = JSON.stringify({ Records: [r1, r2] });

    expect(records(parse(doc))).toEqual([r1, r2]);
    expect(records(parse(gzipSync(doc)))).toEqual([r1, r2]);
  });

  it('unwraps one EventBridge envelope per file and one per line', () => {
    expect(records(parse(JSON.stringify(envelope(r1))))).toEqual([r1]);
    expect(records(parse(`${JSON.stringify(envelope(r1))}\n${JSON.stringify(envelope(r2))}\n`))).toEqual([r1, r2]);
  });

  it('reads NDJSON of bare records, gzipped or not, keeping line numbers as indexes', () => {
    const text = `${JSON.stringify(r1)}\n\n${JSON.stringify(r2)}\n`;
    const items = parse(gzipSync(text));

    expect(records(items)).toEqual([r1, r2]);
    expect(items.find((i) => i.type === 'batch')).toMatchObject({ batch: { indexes: [0, 2] } });
  });

  it('skips a digest file with a reason', () => {
    const digest = { awsAccountId: '1', digestStartTime: 'a', digestEndTime: 'b', logFiles: [], digestPublicKeyFingerprint: 'f' };

    expect(issues(parse(JSON.stringify(digest)))).toEqual([expect.objectContaining({ kind: 'file-skipped', reason: 'digest-file' })]);
  });

  it('skips EventBridge events that are not CloudTrail API calls', () => {
    const items = parse(JSON.stringify(envelope({ foo: 1 }, 'Security Hub Findings - Imported')));

    expect(records(items)).toEqual([]);
    expect(issues(items)).toEqual([expect.objectContaining({ kind: 'record-skipped', reason: 'not-cloudtrail', origin: { file: 'f.json', index: 0 } })]);
  });

  it('names the file for a truncated gzip', () => {
    const gz = gzipSync(JSON.stringify({ Records: [r1, r2] }));

    expect(issues(parse(gz.subarray(0, gz.length - 20)))).toEqual([
      { kind: 'file-failed', origin: { file: 'f.json' }, message: 'gzip data is truncated (unexpected end of file)' },
    ]);
  });

  it('reads a gzip file of several members, whose trailer gives only the last one\'s size', () => {
    const many = Array.from({ length: 200 }, (_, i) => kmsRecord({ eventId: `m${i}` }));
    const text = JSON.stringify({ Records: many });
    // The first member holds all but the closing brackets (well over zlib's 16 KiB piece); the last, 2 bytes.
    const gz = Buffer.concat([gzipSync(text.slice(0, -2)), gzipSync(text.slice(-2))]);

    expect(gz.readUInt32LE(gz.length - 4)).toBe(2);
    expect(records(parse(gz))).toEqual(many);
  });

  it('says a gzip file is truncated when it is shorter than a gzip header and trailer', () => {
    const gz = gzipSync(JSON.stringify({ Records: [r1] }));

    expect(issues(parse(gz.subarray(0, 3)))).toEqual([
      { kind: 'file-failed', origin: { file: 'f.json' }, message: 'gzip data is truncated (unexpected end of file)' },
    ]);
  });

  it('says a gzip file whose trailer overstates its size is corrupt, not a bomb', () => {
    const gz = Buffer.from(gzipSync(JSON.stringify({ Records: [r1] })));
    gz.writeUInt32LE(0xffffffff, gz.length - 4);

    expect(issues(parse(gz))).toEqual([{ kind: 'file-failed', origin: { file: 'f.json' }, message: expect.stringMatching(/^gzip data is corrupt/) }]);
  });

  it('stops a gzip bomb at the decompressed-size cap', () => {
    const bomb = gzipSync(Buffer.alloc(8 * 1024 * 1024, 0x20));

    const [issue] = issues(parse(bomb, { maxFileBytes: 1024 * 1024 }));

    expect(issue).toMatchObject({ kind: 'file-failed' });
    expect(issue?.message).toMatch(/exceeds the 1 MiB cap .*gzip bomb/);
  });

  it('takes a cap larger than a file can be as the largest there is, instead of refusing every gzip file', () => {
    const doc = gzipSync(JSON.stringify({ Records: [r1] }));

    expect(records(parse(doc, { maxFileBytes: 2 ** 40 }))).toEqual([r1]);
    expect(issues(parse(gzipSync(Buffer.alloc(8 * 1024 * 1024, 0x20)), { maxFileBytes: 2 ** 40 }))).toEqual([expect.objectContaining({ kind: 'file-skipped', message: 'empty file, no records' })]);
    expect(MAX_FILE_BYTES_LIMIT).toBe(2 ** 29 - 24);
  });

  it.each([
    ['{"Records": [', /^invalid JSON: /],
    ['{"Records": {"a": 1}}', /^"Records" is object, not an array$/],
    ['{"hello": "world"}', /^JSON is not CloudTrail/],
    ['<html></html>', /^not JSON/],
  ])('fails %s with a clear message', (text, message) => {
    const [issue] = issues(parse(text));

    expect(issue?.kind).toBe('file-failed');
    expect(issue?.message).toMatch(message);
  });

  it('reports an empty file as skipped, not failed', () => {
    expect(issues(parse('  \n'))).toEqual([expect.objectContaining({ kind: 'file-skipped', message: 'empty file, no records' })]);
  });

  it('fails only the bad lines of NDJSON and keeps the rest', () => {
    const text = Buffer.concat([Buffer.from(`${JSON.stringify(r1)}\n{not json\n`), Buffer.from([0x7b, 0xff, 0xfe, 0x7d, 0x0a]), Buffer.from(`${JSON.stringify(r2)}\n`)]);

    const items = parse(text);

    expect(records(items)).toEqual([r1, r2]);
    expect(issues(items).map((i) => [i.kind, i.origin.index, i.message.split(':')[0]])).toEqual([
      ['record-failed', 1, 'line 2'],
      ['record-failed', 2, 'line 3'],
    ]);
  });

  it('reads delivery files joined into one text (cat *.json.gz | kdm replay -), whether a newline ends each or not, numbering their records on from one to the next', () => {
    const joined = `${JSON.stringify({ Records: [r1, r2] })}${JSON.stringify({ Records: [r2] })}`;
    const joinedLines = `${JSON.stringify({ Records: [r1, r2] })}\n${JSON.stringify({ Records: [r2] })}\n`;

    for (const text of [joined, joinedLines]) {
      const items = parse(text);
      expect(records(items)).toEqual([r1, r2, r2]);
      expect(items.filter((i) => i.type === 'batch').map((i) => (i.type === 'batch' ? i.batch.indexes : []))).toEqual([[0, 1, 2]]);
      expect(issues(items)).toEqual([]);
    }
  });

  it('reads pretty-printed documents appended one after another (lookup-events >> file), noting a page and passing over digests', () => {
    const r3 = kmsRecord({ eventId: 'r3' });
    const digest = { awsAccountId: '1', digestStartTime: 'a', digestEndTime: 'b', logFiles: [], digestPublicKeyFingerprint: 'f' };
    const text = [lookupEventsOutput([r1, r2], 'token'), digest, lookupEventsOutput([r3])].map((d) => JSON.stringify(d, null, 4)).join('\n');

    const items = parse(text);

    expect(records(items)).toEqual([r1, r2, r3]);
    expect(issues(items)).toEqual([
      { kind: 'file-note', origin: { file: 'f.json' }, message: '1 of its documents is a CloudTrail digest (integrity data, no events), passed over' },
      { kind: 'file-note', origin: { file: 'f.json' }, message: `a document of it ${ONE_PAGE_OF_A_LOOKUP}` },
    ]);
  });

  it('fails a joined document that is not JSON or not CloudTrail as one record, by its place and byte, and the rest of a text that ends inside a document as the file', () => {
    const first = JSON.stringify({ Records: [r1] }, null, 2);
    const notCloudTrail = '{"hello": "world"}';
    const broken = '{"Records": [1,]}';
    const text = `${first}\n${notCloudTrail}\n${broken}\n${JSON.stringify({ Records: [r2] }, null, 2)}\n{"Records": [{"eventVersion": "1.`;
    const at = (part: string) => text.indexOf(part);

    const items = parse(text);

    expect(records(items)).toEqual([r1, r2]);
    expect(items.filter((i) => i.type === 'batch').map((i) => (i.type === 'batch' ? i.batch.indexes : []))).toEqual([[0, 3]]);
    expect(issues(items)).toEqual([
      { kind: 'record-failed', origin: { file: 'f.json', index: 1 }, message: `document 2 (at byte ${at(notCloudTrail)}): JSON is not CloudTrail: expected {"Records":[...]}, an EventBridge envelope, a CloudTrail record, NDJSON of them, or the output of aws cloudtrail lookup-events` },
      { kind: 'record-failed', origin: { file: 'f.json', index: 2 }, message: expect.stringMatching(new RegExp(`^document 3 \\(at byte ${at(broken)}\\): invalid JSON: `)) },
      { kind: 'file-failed', origin: { file: 'f.json' }, message: `document 5 (at byte ${text.lastIndexOf('{"Records"')}): the text ends inside it (truncated) (after 4 whole documents, which were read)` },
    ]);
    expect(issues(parse(`${first}\n${first}\nxyz`))).toEqual([{ kind: 'file-failed', origin: { file: 'f.json' }, message: `document 3 (at byte ${2 * first.length + 2}): not JSON (byte 0x78) (after 2 whole documents, which were read)` }]);
    // One document and then what is not JSON is that document with something after it, in JSON.parse's words.
    expect(issues(parse(`${first}\nxyz`))).toEqual([{ kind: 'file-failed', origin: { file: 'f.json' }, message: expect.stringMatching(/^invalid JSON: .*after JSON/) }]);
  });

  it('reads on past a joined first document that is not JSON, failing it as one record, when a later one is a whole document of records', () => {
    const broken = '{"Records": [1,]}';
    for (const separator of ['\n', '']) {
      const text = `${broken}${separator}${JSON.stringify({ Records: [r1, r2] })}${separator}${JSON.stringify({ Events: [] })}`;

      const items = parse(text);

      expect(records(items)).toEqual([r1, r2]);
      expect(issues(items)).toEqual([{ kind: 'record-failed', origin: { file: 'f.json', index: 0 }, message: expect.stringMatching(/^document 1 \(at byte 0\): invalid JSON: /) }]);
    }
    // What the pieces of one damaged document cut where its brackets pair otherwise look like: a first value that is
    // not JSON, then records, not documents of them. Nothing tells that from one document, so the file fails.
    const damaged = `{"Records": [1,]}${JSON.stringify(r2)}`;
    expect(issues(parse(damaged))).toEqual([{ kind: 'file-failed', origin: { file: 'f.json' }, message: expect.stringMatching(/^invalid JSON: /) }]);
  });

  it('fails one pretty-printed document that is invalid or truncated as a file, in JSON.parse\'s words, not line by line', () => {
    const pretty = JSON.stringify({ Records: [r1, r2] }, null, 2);

    for (const text of [pretty.slice(0, -40), pretty.replace('"eventName"', '"eventName" 1')]) {
      expect(issues(parse(text))).toEqual([{ kind: 'file-failed', origin: { file: 'f.json' }, message: expect.stringMatching(/^invalid JSON: /) }]);
    }
  });

  it('still reads NDJSON whose first lines are bad, and fails a whole delivery file among its records', () => {
    const text = `{"eventVersion": "1.08",\n{nope}\n${JSON.stringify(r1)}\n${JSON.stringify({ Records: [r2] })}\n${JSON.stringify(r2)}\n`;

    const items = parse(text);

    expect(records(items)).toEqual([r1, r2]);
    expect(issues(items).map((i) => [i.kind, i.origin.index, i.message.split(':')[0]])).toEqual([
      ['record-failed', 0, 'line 1'],
      ['record-failed', 1, 'line 2'],
      ['record-failed', 3, 'line 4'],
    ]);
    expect(issues(items)[2]?.message).toBe('line 4: a whole {"Records":[...]} file among records one a line: kdm reads files one after another, or records one a line, not the two in one text');
  });

  it('names the byte of invalid UTF-8 in a single-document file', () => {
    const bad = Buffer.concat([Buffer.from('{"Records": ["'), Buffer.from([0xc3, 0x28]), Buffer.from('"]}')]);

    expect(issues(parse(bad))).toEqual([{ kind: 'file-failed', origin: { file: 'f.json' }, message: 'invalid UTF-8 (byte 14)' }]);
    expect(firstInvalidUtf8(bad)).toBe(14);
  });

  it('splits large files into batches with their record indexes', () => {
    const many = Array.from({ length: 12 }, (_, i) => kmsRecord({ eventId: `m${i}` }));

    const batches = parse(JSON.stringify({ Records: many }), { batchSize: 5 }).filter((i) => i.type === 'batch');

    expect(batches.map((b) => (b.type === 'batch' ? b.batch.indexes : []))).toEqual([[0, 1, 2, 3, 4], [5, 6, 7, 8, 9], [10, 11]]);
  });

  it('tolerates a UTF-8 byte-order mark', () => {
    expect(records(parse(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify({ Records: [r1] }))])))).toEqual([r1]);
  });

  it('reads UTF-16 text by its byte-order mark, little- or big-endian, gzipped or not (Windows PowerShell\'s > writes UTF-16LE), and fails it truncated mid-character', () => {
    const withName = kmsRecord({ eventId: 'u1', context: { project: 'zoë-😀' } });
    const text = `${JSON.stringify({ Records: [r1, withName] }, null, 2)}\r\n`;
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
    const be = Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(text, 'utf16le').swap16()]);

    for (const input of [le, be, gzipSync(le)]) expect(records(parse(input))).toEqual([r1, withName]);
    expect(records(parse(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`${JSON.stringify(r1)}\r\n${JSON.stringify(r2)}\r\n`, 'utf16le')])))).toEqual([r1, r2]);
    expect(issues(parse(le.subarray(0, le.length - 1)))).toEqual([
      { kind: 'file-failed', origin: { file: 'f.json' }, message: 'UTF-16 text (by its byte-order mark) of an odd number of bytes: the file is truncated' },
    ]);
  });
});

describe('parseCloudTrailBuffer: Event history (aws cloudtrail lookup-events)', () => {
  const r1 = kmsRecord({ eventId: 'h1' });
  const r2 = kmsRecord({ eventId: 'h2', eventName: 'GenerateDataKey' });
  const r3 = kmsRecord({ eventId: 'h3' });

  it('reads the records in the events\' CloudTrailEvent, numbered by their place in Events, as the CLI prints them (pretty, plain or gzipped)', () => {
    const output = lookupEventsOutput([r1, r2, r3]);
    expect(output['Events']).toContainEqual(expect.objectContaining({ EventId: 'h2', EventName: 'GenerateDataKey', EventSource: 'kms.amazonaws.com', CloudTrailEvent: JSON.stringify(r2) }));

    for (const text of [JSON.stringify(output, null, 4), JSON.stringify(output)]) {
      for (const input of [Buffer.from(text), gzipSync(text)]) {
        const items = parse(input);
        expect(records(items)).toEqual([r1, r2, r3]);
        expect(issues(items)).toEqual([]);
        expect(items.find((i) => i.type === 'batch')).toMatchObject({ batch: { firstIndex: 0 } });
      }
    }
  });

  it('takes an event whose CloudTrailEvent a tool has parsed already, and reads events alone, in an array, or one a line (jq -c \'.Events[]\')', () => {
    const [e1, e2] = [eventHistoryEvent(r1), eventHistoryEvent(r2)];

    expect(records(parse(JSON.stringify({ Events: [{ ...e1, CloudTrailEvent: r1 }] })))).toEqual([r1]);
    expect(records(parse(JSON.stringify(e1)))).toEqual([r1]);
    expect(records(parse(JSON.stringify([e1, e2])))).toEqual([r1, r2]);
    expect(records(parse(`${JSON.stringify(e1)}\n${JSON.stringify(e2)}\n`))).toEqual([r1, r2]);
  });

  it('fails only the events whose record is missing or unreadable, each named by its place and why, and keeps the rest', () => {
    const { CloudTrailEvent: _dropped, ...summaryOnly } = eventHistoryEvent(r2);
    const events = [
      eventHistoryEvent(r1),
      summaryOnly,
      { ...eventHistoryEvent(r3), CloudTrailEvent: '{"eventVersion":"1.08",' },
      { ...eventHistoryEvent(r3), CloudTrailEvent: 42 },
      eventHistoryEvent(r3),
    ];

    const items = parse(JSON.stringify({ Events: events }));

    expect(records(items)).toEqual([r1, r3]);
    expect(items.find((i) => i.type === 'batch')).toMatchObject({ batch: { indexes: [0, 4] } });
    expect(issues(items)).toEqual([
      { kind: 'record-failed', origin: { file: 'f.json', index: 1 }, message: expect.stringMatching(/^an Event history event \(aws cloudtrail lookup-events\) without its CloudTrailEvent, the record itself: .*no --query that leaves it out/) },
      { kind: 'record-failed', origin: { file: 'f.json', index: 2 }, message: expect.stringMatching(/^an Event history event \(aws cloudtrail lookup-events\) whose CloudTrailEvent is not valid JSON: /) },
      { kind: 'record-failed', origin: { file: 'f.json', index: 3 }, message: 'an Event history event (aws cloudtrail lookup-events) whose CloudTrailEvent is number, not the record\'s JSON text' },
    ]);
  });

  it('notes output that ends with a NextToken, one page of a longer lookup, after reading its records', () => {
    const items = parse(JSON.stringify(lookupEventsOutput([r1, r2], 'eyJOZXh0VG9rZW4iOiBudWxsfQ==')));

    expect(records(items)).toEqual([r1, r2]);
    expect(items.at(-1)).toEqual({ type: 'issue', issue: { kind: 'file-note', origin: { file: 'f.json' }, message: ONE_PAGE_OF_A_LOOKUP } });
    expect(ONE_PAGE_OF_A_LOOKUP).toMatch(/--starting-token/);
    expect(issues(parse(JSON.stringify(lookupEventsOutput([r1]))))).toEqual([]);
  });

  it('reads a lookup\'s events in the order of their times, oldest first, each keeping its place in Events as its index', () => {
    const at = (id: string, minute: number) => kmsRecord({ eventId: id, atMs: BASE_TIME_MS + minutes(minute) });
    const [a, b, c, d] = [at('a', 0), at('b', 1), at('c', 2), at('d', 3)];
    // As LookupEvents returns them, newest first; one with its time only in its record; one printed by AWS CLI v1.
    const events = [eventHistoryEvent(d), { ...eventHistoryEvent(c), EventTime: undefined }, { ...eventHistoryEvent(b), EventTime: (BASE_TIME_MS + minutes(1)) / 1000 }, eventHistoryEvent(a)];

    const items = parse(JSON.stringify({ Events: events }));

    expect(records(items)).toEqual([a, b, c, d]);
    expect(items.filter((i) => i.type === 'batch').flatMap((i) => (i.type === 'batch' ? i.batch.indexes ?? [] : []))).toEqual([3, 2, 1, 0]);
  });

  it('reads lookups joined into one text (cat history-*.json) together, in the order of their times, and other documents each in its own order', () => {
    const at = (id: string, minute: number) => kmsRecord({ eventId: id, atMs: BASE_TIME_MS + minutes(minute) });
    const kms = [at('k3', 3), at('k1', 1)];
    const s3 = [at('s4', 4), at('s2', 2), at('s0', 0)];
    const lookups = `${JSON.stringify(lookupEventsOutput(kms), null, 4)}\n${JSON.stringify(lookupEventsOutput(s3), null, 4)}\n`;

    const items = parse(lookups);
    expect(records(items).map((r) => (r as { eventID: string }).eventID)).toEqual(['s0', 'k1', 's2', 'k3', 's4']);
    expect(items.flatMap((i) => (i.type === 'batch' ? i.batch.indexes ?? [] : []))).toEqual([4, 1, 3, 0, 2]);

    const mixed = parse(`${JSON.stringify({ Records: [at('r5', 5), at('r1', 1)] })}${JSON.stringify(lookupEventsOutput(s3))}`);
    expect(records(mixed).map((r) => (r as { eventID: string }).eventID)).toEqual(['r5', 'r1', 's0', 's2', 's4']);
  });

  it('hands on items as the file gives them with itemsAsGiven, and recordsOfItems takes out of them what a batch would have', () => {
    const r1 = kmsRecord({ eventId: 'r1' });
    const r2 = kmsRecord({ eventId: 'r2' });
    const { CloudTrailEvent: _dropped, ...summaryOnly } = eventHistoryEvent(kmsRecord({ eventId: 'r3' }));
    const given = [envelope(r1), envelope(r1, 'AWS Console Sign In via CloudTrail'), envelope(r2, 'Object Created'), eventHistoryEvent(r2), summaryOnly, r1];
    const text = given.map((g) => JSON.stringify(g)).join('\n');

    const asGiven = parse(text, { itemsAsGiven: true });
    expect(issues(asGiven)).toEqual([]);
    const batch = asGiven.flatMap((i) => (i.type === 'batch' ? [i.batch] : []))[0];
    expect(batch?.records).toEqual(given);
    const taken = recordsOfItems('f.json', batch?.records ?? [], batch?.indexes ?? []);

    const direct = parse(text);
    expect(taken.records).toEqual(records(direct));
    expect(taken.indexes).toEqual(direct.flatMap((i) => (i.type === 'batch' ? i.batch.indexes ?? [] : [])));
    expect(taken.issues).toEqual(issues(direct));
    expect(taken.issues.map((i) => [i.kind, i.origin.index])).toEqual([['record-skipped', 2], ['record-failed', 4]]);
  });

  it('leaves a lookup\'s events in the file\'s order with itemsAsGiven, for the reader that puts them in order itself', () => {
    const at = (id: string, minute: number) => eventHistoryEvent(kmsRecord({ eventId: id, atMs: BASE_TIME_MS + minutes(minute) }));
    const newestFirst = [at('k3', 3), at('k1', 1)];
    const s3 = [at('s4', 4), at('s0', 0)];
    const given = (items: SourceItem[]) => items.flatMap((i) => (i.type === 'batch' ? i.batch.records.map((r) => (r as { EventId: string }).EventId) : []));
    const indexes = (items: SourceItem[]) => items.flatMap((i) => (i.type === 'batch' ? i.batch.indexes ?? [] : []));

    const one = parse(JSON.stringify({ Events: newestFirst }), { itemsAsGiven: true });
    expect(given(one)).toEqual(['k3', 'k1']);
    expect(indexes(one)).toEqual([0, 1]);
    // Joined into one text, the documents' events in the text's order.
    const joined = parse(`${JSON.stringify({ Events: newestFirst })}\n${JSON.stringify({ Events: s3 })}\n`, { itemsAsGiven: true });
    expect(given(joined)).toEqual(['k3', 'k1', 's4', 's0']);
    expect(indexes(joined)).toEqual([0, 1, 2, 3]);
  });

  it('reads an empty lookup as a file of no records, and fails Events that are not a list', () => {
    expect(parse(JSON.stringify({ Events: [] }))).toEqual([]);
    expect(issues(parse(JSON.stringify({ Events: { EventId: 'x' } })))).toEqual([
      { kind: 'file-failed', origin: { file: 'f.json' }, message: '"Events" is object, not an array (expected the output of aws cloudtrail lookup-events)' },
    ]);
  });
});

describe('parseCloudTrailPieces: a file as CloudTrail writes it, parsed a piece at a time', () => {
  const many = Array.from({ length: 300 }, (_, i) => kmsRecord({ eventId: `p${i}` }));
  const doc = JSON.stringify({ Records: many });
  const pieces = (input: string, options = {}): PieceItem[] => [...parseCloudTrailPieces('f.json', Buffer.from(input), options)];
  const batchPieces = (items: PieceItem[]): BatchPiece[] => items.flatMap((i) => (i.type === 'batch-piece' ? [i] : []));
  /** The batches a consumer gathers from the pieces, as records and indexes. */
  const gathered = (items: PieceItem[]): { records: unknown[]; indexes: number[] }[] =>
    gatherPieces(items).flatMap((i) => (i.type === 'batch' ? [{ records: [...i.batch.records], indexes: [...(i.batch.indexes ?? [])] }] : []));
  const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);
  /** A record of about `bytes` whose text ends with a nested object that starts with the records' first key. */
  const withNestedFirstKey = (eventId: string, bytes: number) => ({ eventVersion: '1.08', eventID: eventId, pad: 'x'.repeat(bytes), nested: [{ a: 1 }, { eventVersion: 'inner' }] });

  it('yields a large file\'s records in pieces of a little over RECORDS_PIECE_BYTES: the records, indexes and batch it has parsed whole', () => {
    expect(doc.length).toBeGreaterThan(4 * RECORDS_PIECE_BYTES);

    const parts = batchPieces(pieces(doc));

    expect(parts.length).toBeGreaterThan(4);
    expect(parts.map((p) => p.more)).toEqual([...parts.slice(1).map(() => true), false]);
    expect(parts.flatMap((p) => p.batch.records)).toEqual(many);
    expect(parts.flatMap((p) => p.batch.indexes)).toEqual(range(0, 300));
    const recordBytes = JSON.stringify(many[0]).length;
    for (const p of parts.slice(0, -2)) expect(JSON.stringify(p.batch.records).length).toBeGreaterThan(RECORDS_PIECE_BYTES);
    for (const p of parts) expect(JSON.stringify(p.batch.records).length).toBeLessThan(RECORDS_PIECE_BYTES + 2 * recordBytes);
    expect(parse(doc).filter((i) => i.type === 'batch')).toEqual([{ type: 'batch', batch: { file: 'f.json', records: many, indexes: range(0, 300), firstIndex: 0 } }]);
  });

  it('closes a batch at the batch size, wherever the pieces end', () => {
    expect(gathered(pieces(doc, { batchSize: 120 })).map((b) => b.indexes)).toEqual([range(0, 120), range(120, 240), range(240, 300)]);
    expect(parse(doc, { batchSize: 120 }).flatMap((i) => (i.type === 'batch' ? [i.batch.indexes] : []))).toEqual([range(0, 120), range(120, 240), range(240, 300)]);
  });

  it('splits records written with another first key too (tools that sort the keys)', () => {
    const sorted = many.map((r) => Object.fromEntries(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : 1))));
    const text = JSON.stringify({ Records: sorted });
    expect(text.startsWith('{"Records":[{"eventVersion":')).toBe(false);

    const parts = batchPieces(pieces(text));

    expect(parts.length).toBeGreaterThan(4);
    expect(gathered(pieces(text))).toEqual([{ records: sorted, indexes: range(0, 300) }]);
  });

  it('parses whole from where a piece ended inside a record, whether no record or some came before it', () => {
    const before = { eventVersion: '1.08', eventID: 'a', pad: 'y'.repeat(RECORDS_PIECE_BYTES + 5_000) };
    const nested = withNestedFirstKey('b', RECORDS_PIECE_BYTES + 1_000);
    const after = kmsRecord({ eventId: 'c' });

    for (const records of [[nested, after], [before, nested, after]]) {
      const text = JSON.stringify({ Records: records });
      expect(gathered(pieces(text))).toEqual([{ records, indexes: range(0, records.length) }]);
      expect(parse(text).filter((i) => i.type !== 'file-done')).toEqual([{ type: 'batch', batch: { file: 'f.json', records, indexes: range(0, records.length), firstIndex: 0 } }]);
    }
  });

  it('parses whole from a record too large to parse alone (over a megabyte), whether records came before it or not', () => {
    const huge = { eventVersion: '1.08', eventID: 'huge', pad: 'z'.repeat(1_200_000) };

    for (const records of [[huge, ...many.slice(0, 3)], [...many.slice(0, 100), huge, ...many.slice(100, 103)]]) {
      const text = JSON.stringify({ Records: records });
      expect(gathered(pieces(text))).toEqual([{ records, indexes: range(0, records.length) }]);
      expect(records.length).toBeGreaterThan(3);
      expect(parse(text).filter((i) => i.type === 'batch')).toEqual([{ type: 'batch', batch: { file: 'f.json', records, indexes: range(0, records.length), firstIndex: 0 } }]);
    }
  });

  it('fails a file whose JSON breaks after its first pieces, voiding the open batch, and says which records were read before', () => {
    const broken = doc.replace('"eventID":"p290"', '"eventID":p290"');

    const items = pieces(broken);
    expect(batchPieces(items).length).toBeGreaterThan(3);
    expect(items.at(-1)).toEqual({ type: 'issue', issue: { kind: 'file-failed', origin: { file: 'f.json' }, message: expect.stringMatching(/^invalid JSON: [^(]*$/) } });
    expect(gathered(items)).toEqual([]);
    expect(parse(broken)).toEqual([{ type: 'issue', issue: { kind: 'file-failed', origin: { file: 'f.json' }, message: expect.stringMatching(/^invalid JSON: /) } }]);

    // Batches closed before the break were handed on: the message says so.
    const [issue] = issues(parse(broken, { batchSize: 100 }));
    expect(records(parse(broken, { batchSize: 100 }))).toEqual(many.slice(0, 200));
    expect(issue?.message).toMatch(/^invalid JSON: .* \(after its first 200 records, which were read\)$/);
    expect(gathered(pieces(broken, { batchSize: 100 })).map((b) => b.indexes)).toEqual([range(0, 100), range(100, 200)]);
  });

  it('reads delivery files joined into one text (cat *.json.gz) in pieces through the first, then the rest document by document: the records and indexes of reading it whole', () => {
    const text = `${doc}${JSON.stringify({ Records: many.slice(0, 50) })}${JSON.stringify({ Records: many.slice(50, 60) })}`;
    const expected = [...many, ...many.slice(0, 60)];

    expect(batchPieces(pieces(text)).length).toBeGreaterThan(3);
    expect(gathered(pieces(text))).toEqual([{ records: expected, indexes: range(0, 360) }]);
    expect(issues(pieces(text) as SourceItem[])).toEqual([]);
    expect(records(parse(text))).toEqual(expected);
    expect(gathered(pieces(text, { batchSize: 100 })).map((b) => b.indexes)).toEqual([range(0, 100), range(100, 200), range(200, 300), range(300, 360)]);
  });

  it('fails a file with two "Records" arrays instead of choosing one', () => {
    const first = { eventVersion: '1.08', eventID: 'a', pad: 'y'.repeat(RECORDS_PIECE_BYTES + 5_000) };
    const text = `{"Records":[${JSON.stringify(first)},${JSON.stringify(kmsRecord({ eventId: 'b' }))}],"Records":[${JSON.stringify(kmsRecord({ eventId: 'c' }))}]}`;

    expect(parse(text)).toEqual([{ type: 'issue', issue: { kind: 'file-failed', origin: { file: 'f.json' }, message: '"Records" is given more than once: which records the file holds is ambiguous' } }]);
    expect(gathered(pieces(text))).toEqual([]);
  });

  it('parses any other layout whole: pretty-printed, with keys after "Records", or on several lines', () => {
    for (const text of [JSON.stringify({ Records: many }, null, 1), JSON.stringify({ Records: many, other: 1 }), `${JSON.stringify({ Records: many.slice(0, 150) })}\n${JSON.stringify({ Records: many.slice(150) })}`]) {
      expect(batchPieces(pieces(text))).toEqual([]);
      expect(pieces(text)).toEqual(parse(text));
    }
  });

  it('reads the same records when a key after "Records" ends the file as the array does (its last piece fails, and the file is parsed whole from there)', () => {
    const text = JSON.stringify({ Records: many, other: [1] });

    expect(batchPieces(pieces(text)).length).toBeGreaterThan(1);
    expect(gathered(pieces(text))).toEqual([{ records: many, indexes: range(0, 300) }]);
    expect(records(parse(text))).toEqual(many);
  });
});

describe('expandInputs', () => {
  it('follows symbolic links to files and directories, reads a directory reached twice once, and reports a link to nothing', async () => {
    const root = mkdtempSync(join(tmpdir(), 'kdm-expand-'));
    const logs = join(root, 'logs');
    const archive = join(root, 'archive');
    mkdirSync(join(archive, '2026'), { recursive: true });
    mkdirSync(logs);
    writeFileSync(join(archive, '2026', 'a.json.gz'), gzipSync('{"Records":[]}'));
    writeFileSync(join(root, 'b.json'), '{"Records":[]}');
    writeFileSync(join(logs, 'c.json'), '{"Records":[]}');
    symlinkSync(archive, join(logs, 'archive-link'));
    symlinkSync(join(root, 'b.json'), join(logs, 'b-link.json'));
    symlinkSync(logs, join(logs, 'loop'));
    symlinkSync(join(root, 'gone.json'), join(logs, 'dangling.json'));
    symlinkSync(join(root, 'b.json'), join(logs, 'notes.txt'));

    const issues: ReadIssue[] = [];
    const inputs = await expandInputs([logs, archive], (issue) => issues.push(issue));

    expect(inputs.map((i) => i.path)).toEqual([join(logs, 'archive-link', '2026', 'a.json.gz'), join(logs, 'b-link.json'), join(logs, 'c.json')]);
    expect(inputs.every((i) => i.bytes > 0)).toBe(true);
    expect(issues.map((i) => [i.kind, i.origin.file, i.message])).toEqual([
      ['file-failed', join(logs, 'dangling.json'), 'cannot open: no such file or directory (ENOENT); it is a symbolic link to what is not there'],
      ['file-skipped', join(logs, 'notes.txt'), 'not a CloudTrail file name (.json, .jsonl, .ndjson, optionally .gz)'],
    ]);
  });

  it('answers an S3 URL given as a path with how to copy the logs to read them', async () => {
    const issues: ReadIssue[] = [];
    const inputs = await expandInputs(['s3://trail-bucket/AWSLogs/111122223333/CloudTrail/'], (issue) => issues.push(issue));

    expect(inputs).toEqual([]);
    expect(issues.map((i) => [i.kind, i.origin.file, i.message])).toEqual([
      [
        'file-failed',
        's3://trail-bucket/AWSLogs/111122223333/CloudTrail/',
        'cannot open: no such file or directory (ENOENT); kdm reads local files: copy the logs first (aws s3 sync s3://trail-bucket/AWSLogs/111122223333/CloudTrail/ ./logs), then replay ./logs',
      ],
    ]);
  });

  it('lists a directory of many entries in name order, each file with its own size, though it asks for the sizes many at a time', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kdm-expand-many-'));
    const name = (i: number): string => `f${String(i).padStart(3, '0')}`;
    for (let i = 0; i < 150; i++) writeFileSync(join(dir, `${name(i)}.json`), 'x'.repeat(i + 1));
    // A directory and a file that is not a log among them: the directory's files come where its name sorts.
    mkdirSync(join(dir, `${name(70)}-dir`));
    writeFileSync(join(dir, `${name(70)}-dir`, 'inner.json'), 'x'.repeat(1000));
    writeFileSync(join(dir, `${name(100)}-notes.txt`), 'x');

    const issues: ReadIssue[] = [];
    const inputs = await expandInputs([dir], (issue) => issues.push(issue));

    const expected = Array.from({ length: 150 }, (_, i) => ({ path: join(dir, `${name(i)}.json`), bytes: i + 1 }));
    expected.splice(70, 0, { path: join(dir, `${name(70)}-dir`, 'inner.json'), bytes: 1000 }); // `-` sorts before `.`
    expect(inputs).toEqual(expected);
    expect(issues.map((i) => [i.kind, i.origin.file])).toEqual([['file-skipped', join(dir, `${name(100)}-notes.txt`)]]);
  });
});

