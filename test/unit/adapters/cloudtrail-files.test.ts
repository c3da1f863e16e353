import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { gzipSync } from 'node:zlib';
import { expandInputs, parseCloudTrailBuffer, firstInvalidUtf8, MAX_FILE_BYTES_LIMIT } from '#adapters/local/cloudtrail-files.ts';
import type { ReadIssue, SourceItem } from '#core/ports.ts';
import { kmsRecord } from '#core/testing/builders.ts';

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
      ['file-failed', join(logs, 'dangling.json'), 'cannot open: ENOENT (a symbolic link to what is not there)'],
      ['file-skipped', join(logs, 'notes.txt'), 'not a CloudTrail file name (.json, .jsonl, .ndjson, optionally .gz)'],
    ]);
  });
});
