import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseTimeMs } from '#core/events/fields.ts';

const pad = (n: number, width: number): string => String(n).padStart(width, '0');

describe('parseTimeMs', () => {
  it('reads CloudTrail timestamps (with and without milliseconds) exactly as Date.parse does', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1970, max: 2099 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 31 }),
        fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }), fc.integer({ min: 0, max: 59 }), fc.option(fc.integer({ min: 0, max: 999 })),
        (year, month, day, hour, minute, second, ms) => {
          const text = `${year}-${pad(month, 2)}-${pad(day, 2)}T${pad(hour, 2)}:${pad(minute, 2)}:${pad(second, 2)}${ms === null ? '' : `.${pad(ms, 3)}`}Z`;
          const expected = Date.parse(text);

          expect(parseTimeMs(text)).toBe(Number.isFinite(expected) ? expected : undefined);
        },
      ),
      { numRuns: 5_000 },
    );
  });

  it('refuses near-misses of the canonical form, or reads them as the general parser does', () => {
    for (const text of ['2026-13-01T00:00:00Z', '2026-02-30T00:00:00Z', '2026-1a-01T00:00:00Z', '2026-10-07T24:00:00Z', '2026-10-07T15:56:53.7x8Z', '2026-10-07 15:56:53Z', '2026-10-07T15:56:60Z']) {
      const general = Date.parse(text.replace(' ', 'T'));

      expect(parseTimeMs(text), text).toBe(Number.isFinite(general) ? general : undefined);
    }
  });
});
