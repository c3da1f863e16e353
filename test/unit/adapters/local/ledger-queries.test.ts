import { DuckDBInstance } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import { findingsWhere, historyQuery, historyWhere } from '../../../../src/adapters/local/ledger-queries.ts';
import { UsageError } from '../../../../src/core/errors.ts';
import { normalizePrincipal } from '../../../../src/core/events/principal.ts';

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

  it('select object records, which keep no account, by the account their principal id names, of every kind of caller', async () => {
    const account = '111122223333';
    // The userIdentity shapes of CloudTrail's record contents, with and without the ARN a record may leave out.
    const named = [
      { type: 'Root', principalId: account, arn: `arn:aws:iam::${account}:root`, accountId: account },
      { type: 'Root', accountId: account },
      { type: 'IAMUser', principalId: 'AIDAEXAMPLE', arn: `arn:aws:iam::${account}:user/Alice`, accountId: account },
      { type: 'IAMUser', principalId: 'AIDAEXAMPLE', accountId: account, userName: 'Alice' },
      { type: 'AssumedRole', principalId: 'AROAEXAMPLE:s', arn: `arn:aws:sts::${account}:assumed-role/R/s`, accountId: account },
      { type: 'AssumedRole', principalId: 'AROAEXAMPLE:s', accountId: account },
      { type: 'AssumedRole', arn: `arn:aws-cn:sts::${account}:assumed-role/R/s`, accountId: account },
      { type: 'FederatedUser', principalId: `${account}:bob`, arn: `arn:aws:sts::${account}:federated-user/bob`, accountId: account },
      { type: 'AWSAccount', principalId: 'AIDAEXAMPLE', accountId: account },
    ];
    const unnamed = [
      { type: 'AWSService', invokedBy: 's3.amazonaws.com', accountId: account },
      { type: 'IdentityCenterUser', accountId: account, onBehalfOf: { userId: `${account}-x` } },
      { type: 'AssumedRole', arn: `arn:aws:sts::444455556666:assumed-role/from-${account}/s`, accountId: '444455556666' },
      { type: 'IAMUser', arn: `arn:aws:iam::444455556666:user/${account}`, accountId: '444455556666' },
    ];
    const ids = [...named, ...unnamed].map((ui) => normalizePrincipal(ui).id);
    const { clauses, params } = historyWhere({ account }, true);
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    try {
      await connection.run('CREATE TABLE object_access (principal VARCHAR)');
      for (const id of ids) await connection.run('INSERT INTO object_access VALUES ($id)', { id });
      const selected = (await connection.runAndReadAll(`SELECT t.principal FROM object_access t WHERE ${clauses.join(' AND ')}`, params)).getRowObjectsJson().map((r) => r['principal']);

      expect(selected).toEqual(ids.slice(0, named.length));
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
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
