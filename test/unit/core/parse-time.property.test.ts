import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isCalendarDate, parseTimeMs } from '#core/events/fields.ts';

const pad = (n: number, width: number): string => String(n).padStart(width, '0');

describe('parseTimeMs', () => {
  it('reads CloudTrail timestamps (with and without milliseconds) exactly as Date.parse does, on days the calendar has', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1970, max: 2099 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 31 }),
        fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }), fc.integer({ min: 0, max: 59 }), fc.option(fc.integer({ min: 0, max: 999 })),
        (year, month, day, hour, minute, second, ms) => {
          const text = `${year}-${pad(month, 2)}-${pad(day, 2)}T${pad(hour, 2)}:${pad(minute, 2)}:${pad(second, 2)}${ms === null ? '' : `.${pad(ms, 3)}`}Z`;
          const expected = isCalendarDate(text.slice(0, 10)) ? Date.parse(text) : Number.NaN;

          expect(parseTimeMs(text)).toBe(Number.isFinite(expected) ? expected : undefined);
        },
      ),
      { numRuns: 5_000 },
    );
  });

  it('refuses near-misses of the canonical form, or reads them as the general parser does', () => {
    for (const text of ['2026-13-01T00:00:00Z', '2026-1a-01T00:00:00Z', '2026-10-07T24:00:00Z', '2026-10-07T15:56:53.7x8Z', '2026-10-07 15:56:53Z', '2026-10-07T15:56:60Z']) {
      const general = Date.parse(text.replace(' ', 'T'));

      expect(parseTimeMs(text), text).toBe(Number.isFinite(general) ? general : undefined);
    }
  });

  it('refuses a day the calendar does not have, which Date.parse would roll into the next month', () => {
    for (const text of ['2026-02-30T00:00:00Z', '2026-02-29T12:00:00.000Z', '2026-04-31T23:59:59Z', '2026-06-31 10:00:00', '2026-09-31T10:00:00+02:00', '2100-02-29T00:00:00Z']) {
      expect(Number.isFinite(Date.parse(text.replace(' ', 'T'))), `Date.parse rolls ${text} over`).toBe(true);
      expect(parseTimeMs(text), text).toBeUndefined();
    }
    expect(parseTimeMs('2024-02-29T12:00:00Z')).toBe(Date.UTC(2024, 1, 29, 12));
    expect(parseTimeMs('2000-02-29T00:00:00.500Z')).toBe(Date.UTC(2000, 1, 29, 0, 0, 0, 500));
    expect(parseTimeMs('2026-12-31T23:59:59+01:00')).toBe(Date.UTC(2026, 11, 31, 22, 59, 59));
  });
});
