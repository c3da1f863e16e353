import { describe, expect, it } from 'vitest';
import { utcTime } from '../../../../src/adapters/local/ledger-queries.ts';

describe('utcTime (the history\'s times)', () => {
  it('writes DuckDB\'s text of a time as Date.toISOString does: T, milliseconds always, Z', () => {
    expect(utcTime('2026-10-01 12:00:05.123')).toBe('2026-10-01T12:00:05.123Z');
    expect(utcTime('2026-10-01 12:00:05.12')).toBe('2026-10-01T12:00:05.120Z');
    expect(utcTime('2026-10-01 12:00:05.1')).toBe('2026-10-01T12:00:05.100Z');
    expect(utcTime('2026-10-01 12:00:05')).toBe('2026-10-01T12:00:05.000Z');
    for (const ms of [0, 1, 10, 100, 999]) {
      const iso = new Date(Date.UTC(2026, 9, 1, 12, 0, 5, ms)).toISOString();
      const duckdb = iso.replace('T', ' ').replace('Z', '').replace(/\.?0+$/, '');
      expect(utcTime(duckdb)).toBe(iso);
    }
  });

  it('so that times sort as text as they do in time', () => {
    const times = ['2026-10-01 12:00:05.5', '2026-10-01 12:00:05', '2026-10-01 12:00:04.999', '2026-10-01 12:00:05.05'].map(utcTime);

    expect([...times].sort()).toEqual([...times].sort((a, b) => Date.parse(a) - Date.parse(b)));
  });

  it('keeps a finer fraction, and leaves text that is not such a time as it is', () => {
    expect(utcTime('2026-10-01 12:00:05.123456')).toBe('2026-10-01T12:00:05.123456Z');
    expect(utcTime('not a time')).toBe('not a time');
    expect(utcTime('2026-10-01')).toBe('2026-10-01');
  });
});
