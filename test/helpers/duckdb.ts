import { DuckDBInstance } from '@duckdb/node-api';

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

/** The columns of a ledger row's and of an object access's identity: the database keeps one row of each. */
export const LEDGER_IDENTITY = {
  ledger: 'day, key, principal, account, region, bucket, operation, path, destination_key',
  object_access: 'day, key, principal, bucket, object_key, operation',
} as const;

/** The SQL that counts the rows of `table` that repeat another's identity (0 when each identity has one row). */
export const repeatedIdentities = (table: keyof typeof LEDGER_IDENTITY): string =>
  `SELECT count(*) - count(DISTINCT (${LEDGER_IDENTITY[table]})) AS repeated FROM ${table}`;
