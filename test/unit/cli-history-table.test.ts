import { describe, expect, it } from 'vitest';
import { toCsv, toTable } from '../../src/cli/history.ts';

describe('kdm history as a table', () => {
  const result = {
    columns: ['key', 'calls', 'objects', 'objects_at_least'],
    rows: [
      { key: 'alias/bulk', calls: 9_000, objects: 3_334, objects_at_least: true },
      { key: 'alias/app-data', calls: 14, objects: 1, objects_at_least: false },
    ],
  };

  it('says "at least N" objects where the ledger stopped counting, without a column of true and false, and groups counts by thousands', () => {
    expect(toTable(result).split('\n')).toEqual([
      'KEY             CALLS  OBJECTS',
      'alias/bulk      9,000  at least 3,334',
      'alias/app-data  14     1',
      '',
    ]);
  });

  it('keeps the flag as its own column in csv, for programs', () => {
    expect(toCsv(result).split('\n')[0]).toBe('key,calls,objects,objects_at_least');
    expect(toCsv(result).split('\n')[1]).toBe('alias/bulk,9000,3334,true');
  });

  it('shows every column of a query without the flag as it is', () => {
    expect(toTable({ columns: ['day', 'calls'], rows: [{ day: '2026-10-01', calls: 3 }] })).toBe('DAY         CALLS\n2026-10-01  3\n');
  });

  it('names a network the records did not say as --network selects it, "none", where csv keeps it empty', () => {
    const byNetwork = { columns: ['network', 'calls'], rows: [{ network: 'vpce-0a1b2c3d4e5f60718', calls: 7_900 }, { network: 'public', calls: 40 }, { network: '', calls: 7 }] };

    expect(toTable(byNetwork).split('\n')).toEqual(['NETWORK                 CALLS', 'vpce-0a1b2c3d4e5f60718  7,900', 'public                  40', 'none                    7', '']);
    expect(toCsv(byNetwork).split('\n')[3]).toBe(',7');
  });
});
