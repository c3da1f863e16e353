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
