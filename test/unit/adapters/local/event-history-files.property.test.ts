import fc from 'fast-check';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { InputFile } from '#adapters/local/cloudtrail-files.ts';
import { readEventHistoryTogether } from '#adapters/local/event-history-files.ts';
import type { RecordBatch, SourceItem } from '#core/ports.ts';
import { BASE_TIME_MS, kmsRecord, minutes } from '#core/testing/builders.ts';
import { lookupEventsOutput } from '../../../helpers/event-history.ts';

/**
 * Lookups read together give every event once, in the order of their times, however the events are split among the
 * files and however many share a time: events of one time in the order of the files, and within a file in the order
 * it lists them. Each batch holds one file's events, no more than the batch size, each numbered by its place in that
 * file's Events.
 */

/** An event: which file it goes to, and its minute (few minutes, so that many share one). */
const event = fc.record({ file: fc.nat({ max: 3 }), minute: fc.nat({ max: 5 }) });

describe('readEventHistoryTogether, for any split of events among lookups', () => {
  it('gives each event once, in the order of their times, in batches of one file each, numbered by their place in their file', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(event, { maxLength: 40 }), fc.integer({ min: 1, max: 7 }), async (events, batchSize) => {
        const dir = mkdtempSync(join(tmpdir(), 'kdm-history-property-'));
        try {
          const files = [0, 1, 2, 3].map((f) => {
            // As LookupEvents lists them: newest first (events of one minute as they come).
            const listed = events
              .map((e, id) => ({ ...e, id }))
              .filter((e) => e.file === f)
              .sort((a, b) => b.minute - a.minute);
            const path = join(dir, `history-${f}.json`);
            writeFileSync(path, JSON.stringify(lookupEventsOutput(listed.map((e) => kmsRecord({ eventId: `e${e.id}`, atMs: BASE_TIME_MS + minutes(e.minute) })))));
            return { input: { path, bytes: statSync(path).size } satisfies InputFile, listed };
          });

          const items: SourceItem[] = [];
          for await (const item of readEventHistoryTogether(files.map((f) => f.input), { batchSize })) items.push(item);

          // Expected: by minute; within one, by file, and within a file in its own order (oldest listed last, so the
          // stable order of one minute is the order listed).
          const expected = files
            .flatMap((f, fileIndex) => f.listed.map((e, place) => ({ id: `e${e.id}`, minute: e.minute, fileIndex, place })))
            .sort((a, b) => a.minute - b.minute || a.fileIndex - b.fileIndex || a.place - b.place);
          const batches = items.flatMap((i) => (i.type === 'batch' ? [i.batch] : [])) as RecordBatch[];
          expect(batches.flatMap((b) => b.records.map((r) => (r as { eventID: string }).eventID))).toEqual(expected.map((e) => e.id));
          for (const b of batches) {
            expect(b.records.length).toBeGreaterThan(0);
            expect(b.records.length).toBeLessThanOrEqual(batchSize);
            expect(b.firstIndex).toBe(b.indexes?.[0]);
          }
          const numbered = batches.flatMap((b) => (b.indexes ?? []).map((index) => [b.file, index]));
          expect(numbered).toEqual(expected.map((e) => [files[e.fileIndex]?.input.path, e.place]));
          // Nothing else said, and each file's end last, in order.
          expect(items.filter((i) => i.type === 'issue')).toEqual([]);
          expect(items.slice(batches.length)).toEqual(files.map((f) => ({ type: 'file-done', file: f.input.path, bytes: f.input.bytes })));
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      }),
      { numRuns: 60 },
    );
  });
});
