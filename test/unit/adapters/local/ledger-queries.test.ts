import { DuckDBInstance, listValue, type DuckDBValue } from '@duckdb/node-api';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findingsWhere, historyQuery, historyWhere } from '../../../../src/adapters/local/ledger-queries.ts';
import { UsageError } from '../../../../src/core/errors.ts';
import { normalizePrincipal } from '../../../../src/core/events/principal.ts';
import { compileGlob } from '../../../../src/core/glob.ts';

type Where = { readonly clauses: string[]; readonly params: Record<string, DuckDBValue> };

/**
 * An in-memory DuckDB whose table `t` holds the values it is given as each of the columns the filters read
 * (principal, object key); `selected` gives the values a filter's clauses select, in their order.
 */
const openTable = async () => {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  return {
    async fill(values: readonly string[]): Promise<void> {
      await connection.run('CREATE OR REPLACE TABLE t AS SELECT n, v AS principal, v AS object_key FROM (SELECT unnest($values) AS v, generate_subscripts($values, 1) AS n)', { values: listValue([...values]) });
    },
    async selected({ clauses, params }: Where): Promise<unknown[]> {
      return (await connection.runAndReadAll(`SELECT t.principal FROM t WHERE ${clauses.join(' AND ')} ORDER BY n`, params)).getRowObjectsJson().map((r) => r['principal']);
    },
    close(): void {
      connection.closeSync();
      instance.closeSync();
    },
  };
};

/** `use` with a table of `values` (see openTable), closed after. */
const withTable = async <T>(values: readonly string[], use: (selected: (where: Where) => Promise<unknown[]>) => Promise<T>): Promise<T> => {
  const table = await openTable();
  try {
    await table.fill(values);
    return await use((where) => table.selected(where));
  } finally {
    table.close();
  }
};

describe('the history\'s and the report\'s filters as SQL', () => {
  it('select a key by alias through the ledger in every table, the ledger\'s own alias column too, and ledger rows by a ReEncrypt\'s destination', () => {
    const ledger = historyWhere({ key: 'app-data' }, false);
    const objects = historyWhere({ key: 'app-data' }, true);
    const findings = findingsWhere({ key: 'app-data' });

    expect(ledger).toEqual({
      clauses: ['(t.key = $key OR t.key_alias = $key OR t.key IN (SELECT DISTINCT key FROM ledger WHERE key_alias = $key) OR t.destination_key = $key OR t.destination_key IN (SELECT DISTINCT key FROM ledger WHERE key_alias = $key))'],
      params: { key: 'alias/app-data' },
    });
    expect(historyWhere({ key: 'arn:aws:kms:us-east-1:111122223333:key/k' }, false).clauses).toEqual(['(t.key = $key OR t.destination_key = $key)']);
    expect(historyWhere({ key: 'arn:aws:kms:us-east-1:111122223333:key/k' }, true).clauses).toEqual(['t.key = $key']);
    for (const where of [objects, findings]) expect(where).toEqual({ clauses: ['(t.key = $key OR t.key IN (SELECT DISTINCT key FROM ledger WHERE key_alias = $key))'], params: { key: 'alias/app-data' } });
    expect(findingsWhere({ key: '1234abcd-12ab-34cd-56ef-1234567890ab' })).toEqual({ clauses: ['t.key LIKE $key'], params: { key: '%/1234abcd-12ab-34cd-56ef-1234567890ab' } });
  });

  it('select findings by what a finding carries: account by its column, a time range by first and last seen', () => {
    expect(findingsWhere({ account: '111122223333', fromMs: 1_000, toMs: 2_000, bucket: 'b', principal: '*:role/R_1*' })).toEqual({
      clauses: ['regexp_full_match(t.principal, $principal)', 't.account = $account', 't.bucket = $bucket', 't.last_seen >= make_timestamp(CAST($fromMs AS BIGINT) * 1000)', 't.first_seen <= make_timestamp(CAST($toMs AS BIGINT) * 1000)'],
      params: { principal: '(?s).*:role/R_1.*', account: '111122223333', bucket: 'b', fromMs: 1_000, toMs: 2_000 },
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

    expect(await withTable(ids, (selected) => selected(historyWhere({ account }, true)))).toEqual(ids.slice(0, named.length));
  });

  // Few characters, so that pieces repeat and almost match; those of LIKE, of regular expressions and a newline.
  const character = fc.constantFrom('a', 'b', ':', '/', '_', '%', '\\', '.', '(', ')', '[', ']', '{', '}', '|', '^', '$', '+', '?', '\n', 'é');
  const texts = fc.uniqueArray(fc.string({ unit: character, maxLength: 12 }), { minLength: 1, maxLength: 40 });
  const pattern = fc.string({ unit: fc.oneof(character, fc.constant('*')), maxLength: 8 });

  it('select principals and object keys by * patterns as the configuration matches them (compileGlob): a star any run of characters, everything else literal', async () => {
    const table = await openTable();
    try {
      await fc.assert(
        fc.asyncProperty(texts, pattern, async (candidates, glob) => {
          await table.fill(candidates);
          expect(await table.selected(findingsWhere({ principal: glob }))).toEqual(candidates.filter((c) => compileGlob(glob).test(c)));
          expect(await table.selected(findingsWhere({ prefix: glob }))).toEqual(candidates.filter((c) => compileGlob(`${glob}*`).test(c)));
        }),
        { numRuns: 500 },
      );
    } finally {
      table.close();
    }
  });

  it('answer at once where LIKE … ESCAPE backtracked for minutes: many stars over long texts of their pieces', async () => {
    // Over one principal of 40 a's, `*a*a*a*a*a*a*a*a*a*b` took 5.7 s as LIKE … ESCAPE; these, far longer.
    const many = `*${'a*'.repeat(30)}b`;
    const long = ['a'.repeat(2_000), `${'a'.repeat(1_999)}b`, `${'a'.repeat(1_000)}b${'a'.repeat(999)}`];
    const found = await withTable(long, async (selected) => [await selected(findingsWhere({ principal: many })), await selected(findingsWhere({ prefix: many }))]);

    expect(found).toEqual([[long[1]], [long[1], long[2]]]);
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
    expect(historyQuery({ prefix: 'q3/' }, []).sql).toMatch(/FROM object_access t WHERE regexp_full_match\(t\.object_key, \$prefix\)/);
    expect(findingsWhere({ prefix: 'q3/' }).clauses).toEqual(['regexp_full_match(t.object_key, $prefix)']);
    expect(() => historyWhere({ prefix: 'q3/' }, false)).toThrow(UsageError);
  });
});
