import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseCloudTrailBuffer, parseCloudTrailPieces } from '#adapters/local/cloudtrail-files.ts';
import type { SourceItem } from '#core/ports.ts';
import { lookupEventsOutput } from '../../helpers/event-history.ts';
import { gatherPieces } from '../../helpers/pieces.ts';

/**
 * Parsing a file in pieces must give what parsing it whole gives, wherever the pieces are cut. Small pieces (a few
 * bytes to a few records) put cuts everywhere a record can end, inside records too: at nested objects that start
 * with the records' first key, which the records here often hold, and near strings that hold the cut's text.
 */

const SEPARATOR_TEXT = '},{"eventVersion":';

/** A value a record may hold: JSON of any shape, now and then the cut's own text or an object that starts with the first key. */
const field: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  { weight: 1, arbitrary: fc.constantFrom(SEPARATOR_TEXT, `x${SEPARATOR_TEXT}"1.08"}`, '\\', '"},{"') },
  { weight: 1, arbitrary: fc.array(fc.record({ eventVersion: fc.constantFrom('1.08', '1.11'), n: fc.integer() }), { maxLength: 3 }) },
);

const record = fc.tuple(fc.constantFrom('1.08', '1.09', '1.11'), fc.dictionary(fc.constantFrom('eventID', 'eventName', 'requestParameters', 'nested', 'pad', 'a_b', '__proto__'), field, { maxKeys: 4 }))
  .map(([eventVersion, rest]) => ({ eventVersion, ...rest }));

/** What parsing whole gives, in batches of `batchSize`: the reference. */
const wholeBatches = (records: readonly unknown[], batchSize: number): SourceItem[] => {
  const out: SourceItem[] = [];
  for (let i = 0; i < records.length; i += batchSize) {
    const indexes = Array.from({ length: Math.min(batchSize, records.length - i) }, (_, k) => i + k);
    out.push({ type: 'batch', batch: { file: 'f.json', records: records.slice(i, i + batchSize), indexes, firstIndex: i } });
  }
  return out;
};

describe('parseCloudTrailPieces, cut anywhere', () => {
  it('gives the records and batches of parsing whole, for any records and any piece size', () => {
    fc.assert(
      fc.property(fc.array(record, { maxLength: 12 }), fc.integer({ min: 0, max: 400 }), fc.integer({ min: 1, max: 6 }), fc.boolean(), (records, pieceBytes, batchSize, sortKeys) => {
        const written = sortKeys ? records.map((r) => Object.fromEntries(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : 1)))) : records;
        const text = JSON.stringify({ Records: written });
        const expected = wholeBatches((JSON.parse(text) as { Records: unknown[] }).Records, batchSize);
        const options = { pieceBytes, batchSize };

        expect(gatherPieces([...parseCloudTrailPieces('f.json', Buffer.from(text), options)])).toEqual(expected);
        expect([...parseCloudTrailBuffer('f.json', Buffer.from(text), options)]).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });

  it('fails a damaged file as parsing whole fails it, voiding its open batch, or reads what it still holds', () => {
    fc.assert(
      fc.property(fc.array(record, { minLength: 1, maxLength: 8 }), fc.integer({ min: 0, max: 300 }), fc.integer({ min: 1, max: 1_000 }), fc.nat(), fc.constantFrom('"', '}', ',', ']', '{', 'x', ''), (records, pieceBytes, batchSize, at, replacement) => {
        const good = JSON.stringify({ Records: records });
        // One character replaced (or removed) inside the array, so the file still looks like CloudTrail's.
        const position = 12 + (at % (good.length - 14));
        const text = good.slice(0, position) + replacement + good.slice(position + 1);
        let whole: unknown;
        try {
          whole = JSON.parse(text);
        } catch {
          whole = undefined;
        }
        const options = { pieceBytes, batchSize };
        const inPieces = gatherPieces([...parseCloudTrailPieces('f.json', Buffer.from(text), options)]);
        const merged = [...parseCloudTrailBuffer('f.json', Buffer.from(text), options)];

        expect(inPieces).toEqual(merged);
        const batches = merged.filter((i) => i.type === 'batch');
        const failures = merged.flatMap((i) => (i.type === 'issue' && i.issue.kind === 'file-failed' ? [i.issue.message] : []));
        // Batches closed before the damage was found were handed on, and the failure says how many records they held.
        const handedOn = batches.reduce((n, b) => n + (b.type === 'batch' ? b.batch.records.length : 0), 0);
        const readBefore = handedOn > 0 ? ` (after its first ${handedOn} records, which were read)` : '';
        if (whole === undefined) {
          expect(failures).toEqual([expect.stringMatching(/^invalid JSON: /)]);
          expect(failures[0]?.endsWith(readBefore)).toBe(true);
        } else if (failures.length > 0) {
          // Still valid JSON, but not one Records array: two of them, or Records given something else.
          expect(failures[0]?.endsWith(readBefore)).toBe(true);
        } else {
          const recordsWhole = (whole as { Records?: unknown }).Records;
          expect(batches.flatMap((b) => (b.type === 'batch' ? b.batch.records : []))).toEqual(Array.isArray(recordsWhole) ? recordsWhole : []);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('documents one after another (cat *.json.gz, lookups appended), cut anywhere', () => {
  const issuesOf = (items: readonly SourceItem[]) => items.flatMap((i) => (i.type === 'issue' ? [i.issue] : []));

  it('gives each document\'s records in turn, numbered on, however the documents are written and joined, whole or in pieces', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(record, { maxLength: 6 }), { minLength: 2, maxLength: 4 }),
        fc.integer({ min: 0, max: 400 }),
        fc.integer({ min: 1, max: 6 }),
        fc.constantFrom('', '\n', '\r\n', ' \n\n'),
        fc.constantFrom(undefined, 2, 4),
        fc.boolean(),
        (documents, pieceBytes, batchSize, gap, indent, lookups) => {
          const text = documents.map((records) => JSON.stringify(lookups ? lookupEventsOutput(records) : { Records: records }, null, indent)).join(gap);
          const expected = wholeBatches(documents.flatMap((records) => JSON.parse(JSON.stringify(records)) as unknown[]), batchSize);
          const options = { pieceBytes, batchSize };

          const whole = [...parseCloudTrailBuffer('f.json', Buffer.from(text), options)];
          expect(issuesOf(whole)).toEqual([]);
          expect(whole.filter((i) => i.type === 'batch').flatMap((i) => (i.type === 'batch' ? i.batch.records : []))).toEqual(expected.flatMap((i) => (i.type === 'batch' ? i.batch.records : [])));
          expect(whole.flatMap((i) => (i.type === 'batch' ? i.batch.indexes ?? [] : []))).toEqual(expected.flatMap((i) => (i.type === 'batch' ? i.batch.indexes ?? [] : [])));
          expect(gatherPieces([...parseCloudTrailPieces('f.json', Buffer.from(text), options)])).toEqual(whole);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('never throws on a damaged joined text, gives the same in pieces as whole, and says what it could not read', () => {
    fc.assert(
      fc.property(fc.array(fc.array(record, { minLength: 1, maxLength: 4 }), { minLength: 2, maxLength: 3 }), fc.integer({ min: 0, max: 300 }), fc.nat(), fc.constantFrom('"', '}', ',', ']', '{', '[', 'x', '\\', ''), (documents, pieceBytes, at, replacement) => {
        const good = documents.map((records) => JSON.stringify({ Records: records })).join('');
        const position = at % good.length;
        const text = good.slice(0, position) + replacement + good.slice(position + 1);
        const options = { pieceBytes, batchSize: 3 };

        const whole = [...parseCloudTrailBuffer('f.json', Buffer.from(text), options)];
        expect(gatherPieces([...parseCloudTrailPieces('f.json', Buffer.from(text), options)])).toEqual(whole);
        const read = whole.reduce((n, i) => n + (i.type === 'batch' ? i.batch.records.length : 0), 0);
        const recordsInGood = documents.reduce((n, records) => n + records.length, 0);
        // What was not read is said: a file that failed, a document that failed, or a record the damage made bad.
        if (read < recordsInGood - 1) expect(issuesOf(whole).some((i) => i.kind === 'file-failed' || i.kind === 'record-failed')).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});
