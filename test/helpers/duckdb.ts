import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';

/** The rows of `sql` on the database file `db`, opened read-only (or on an in-memory database, for `:memory:`). */
export const queryDatabase = async <T = Record<string, unknown>>(db: string, sql: string): Promise<T[]> => {
  const instance = await DuckDBInstance.create(db, db === ':memory:' ? {} : { access_mode: 'READ_ONLY' });
  const connection = await instance.connect();
  try {
    return (await connection.runAndReadAll(sql)).getRowObjectsJson() as T[];
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
};

/** Copies of the database file `file`, each a new file in `dir`: for tests that change a database each their own way. */
export const copierOf = (file: string, dir: string): (() => string) => {
  let copies = 0;
  return () => {
    const copy = join(dir, `copy-${++copies}.duckdb`);
    copyFileSync(file, copy);
    return copy;
  };
};

/** Opens the database file `file` for writing, hands `change` a connection to it, and closes it. */
export const changeDatabase = async (file: string, change: (setup: DuckDBConnection) => Promise<void>): Promise<void> => {
  const instance = await DuckDBInstance.create(file);
  const setup = await instance.connect();
  try {
    await change(setup);
  } finally {
    setup.closeSync();
    instance.closeSync();
  }
};

/** The columns of a ledger row's and of an object access's identity: the database keeps one row of each. */
export const LEDGER_IDENTITY = {
  ledger: 'day, key, principal, account, region, bucket, operation, path, destination_key, network',
  object_access: 'day, key, principal, bucket, object_key, operation, network',
} as const;

/** The SQL that counts the rows of `table` that repeat another's identity (0 when each identity has one row). */
export const repeatedIdentities = (table: keyof typeof LEDGER_IDENTITY): string =>
  `SELECT count(*) - count(DISTINCT (${LEDGER_IDENTITY[table]})) AS repeated FROM ${table}`;

/**
 * An object record's correlation once its records of several networks are one (as before schema 5): the one a call
 * of S3's gave it, where one did (`correlationOnMerge`).
 */
export const CORRELATION_ACROSS_NETWORKS = `coalesce(min(correlation) FILTER (WHERE correlation <> 'data-event'), 'data-event') AS correlation`;

/**
 * Makes a file's ledger as a kdm before schema 5 wrote it (`setup` a connection to it): one ledger row and one object
 * record for the calls of all networks, without the network columns. The samples a merged row keeps are its rows'
 * first ones, in no order; an object record's correlation is the one a call of S3's gave it, where one did.
 */
export const asWrittenBeforeNetworks = async (setup: DuckDBConnection): Promise<void> => {
  await setup.run(`CREATE TABLE ledger_before_networks AS
    SELECT day, key, max(key_alias) AS key_alias, principal, principal_type, account, region, bucket, operation, path,
      CAST(sum(calls) AS BIGINT) AS calls, CAST(sum(errors) AS BIGINT) AS errors, min(first_seen) AS first_seen, max(last_seen) AS last_seen,
      list_distinct(flatten(list(objects)))[1:200] AS objects, bool_or(objects_overflow) OR len(list_distinct(flatten(list(objects)))) > 200 AS objects_overflow,
      list_distinct(flatten(list(event_ids)))[1:10] AS event_ids, CAST(sum(findings) AS BIGINT) AS findings, destination_key
    FROM ledger GROUP BY day, key, principal, principal_type, account, region, bucket, operation, path, destination_key`);
  await setup.run(`DROP TABLE ledger`);
  await setup.run(`ALTER TABLE ledger_before_networks RENAME TO ledger`);
  await setup.run(`CREATE TABLE object_access_before_networks AS
    SELECT day, key, principal, bucket, object_key, operation, CAST(sum(calls) AS BIGINT) AS calls, min(first_seen) AS first_seen, max(last_seen) AS last_seen,
      list_distinct(flatten(list(source_ips)))[1:5] AS source_ips, list_distinct(flatten(list(sessions)))[1:5] AS sessions,
      list_distinct(flatten(list(event_ids)))[1:5] AS event_ids, ${CORRELATION_ACROSS_NETWORKS}
    FROM object_access GROUP BY day, key, principal, bucket, object_key, operation`);
  await setup.run(`DROP TABLE object_access`);
  await setup.run(`ALTER TABLE object_access_before_networks RENAME TO object_access`);
};
