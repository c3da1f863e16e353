import { describe, expect, it } from 'vitest';
import { findingsWhere, historyQuery, historyWhere } from '../../../../src/adapters/local/ledger-queries.ts';
import { UsageError } from '../../../../src/core/errors.ts';

describe('the history\'s and the report\'s filters as SQL', () => {
  it('select a key by alias through the ledger in every table, the ledger\'s own alias column too', () => {
    const ledger = historyWhere({ key: 'app-data' }, false);
    const objects = historyWhere({ key: 'app-data' }, true);
    const findings = findingsWhere({ key: 'app-data' });

    expect(ledger).toEqual({ clauses: ['(t.key = $key OR t.key_alias = $key OR t.key IN (SELECT DISTINCT key FROM ledger WHERE key_alias = $key))'], params: { key: 'alias/app-data' } });
    for (const where of [objects, findings]) expect(where).toEqual({ clauses: ['(t.key = $key OR t.key IN (SELECT DISTINCT key FROM ledger WHERE key_alias = $key))'], params: { key: 'alias/app-data' } });
    expect(findingsWhere({ key: '1234abcd-12ab-34cd-56ef-1234567890ab' })).toEqual({ clauses: ['t.key LIKE $key'], params: { key: '%/1234abcd-12ab-34cd-56ef-1234567890ab' } });
  });

  it('select findings by what a finding carries: account by its column, a time range by first and last seen', () => {
    expect(findingsWhere({ account: '111122223333', fromMs: 1_000, toMs: 2_000, bucket: 'b', principal: '*:role/R_1*' })).toEqual({
      clauses: [`t.principal LIKE $principal ESCAPE '\\'`, 't.account = $account', 't.bucket = $bucket', 't.last_seen >= make_timestamp(CAST($fromMs AS BIGINT) * 1000)', 't.first_seen <= make_timestamp(CAST($toMs AS BIGINT) * 1000)'],
      params: { principal: '%:role/R\\_1%', account: '111122223333', bucket: 'b', fromMs: 1_000, toMs: 2_000 },
    });
  });

  it('group by an object\'s bucket once when the bucket is asked for too, in either order', () => {
    for (const groupBy of [['object', 'bucket'], ['bucket', 'object']] as const) {
      expect(historyQuery({}, groupBy).sql).toMatch(/^SELECT t\.bucket, t\.object_key, sum\(t\.calls\)[^]*GROUP BY t\.bucket, t\.object_key ORDER BY calls DESC, t\.bucket, t\.object_key$/);
    }
  });

  it('order grouped rows by calls, but a timeline (grouped by day) newest day first, then by calls', () => {
    expect(historyQuery({}, ['principal']).sql).toMatch(/ORDER BY calls DESC, t\.principal$/);
    expect(historyQuery({}, ['day']).sql).toMatch(/ORDER BY t\.day DESC, calls DESC$/);
    expect(historyQuery({}, ['key', 'day']).sql).toMatch(/ORDER BY t\.day DESC, calls DESC, t\.key$/);
    expect(historyQuery({}, ['object', 'day'], 5).sql).toMatch(/ORDER BY t\.day DESC, calls DESC, t\.bucket, t\.object_key LIMIT 5$/);
  });

  it('take --prefix to the object records, and refuse it for ledger rows, which name no single object', () => {
    expect(historyQuery({ prefix: 'q3/' }, []).sql).toMatch(/FROM object_access t WHERE t\.object_key LIKE \$prefix/);
    expect(findingsWhere({ prefix: 'q3/' }).clauses).toEqual([`t.object_key LIKE $prefix ESCAPE '\\'`]);
    expect(() => historyWhere({ prefix: 'q3/' }, false)).toThrow(UsageError);
  });
});
