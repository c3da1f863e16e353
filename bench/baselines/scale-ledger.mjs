// Copies a ledger database into 10 successive 14-day periods: the tables a history 10× as long would hold
// (the "ledger built from 10M events" of the history benchmark, from a 1M-record replay).
//
//   scale-ledger.mjs <source> <target>            the source's period and the 9 after it, with its state and files
//   scale-ledger.mjs <source> <target> --before   the 10 periods before the source's, ledger only: a history that a
//                                                 replay of the source's logs would continue
import { DuckDBInstance } from '@duckdb/node-api';

const [source, target, mode] = process.argv.slice(2);
const before = mode === '--before';
const instance = await DuckDBInstance.create(source);
const c = await instance.connect();
await c.run(`ATTACH '${target.replaceAll("'", "''")}' AS big`);
const periods = before ? 'range(-10, 0)' : 'range(10)';
const shifted = (table) =>
  `CREATE TABLE big.${table} AS SELECT * REPLACE (day + CAST(14 * k AS INTEGER) AS day,
     first_seen + to_days(CAST(14 * k AS INTEGER)) AS first_seen, last_seen + to_days(CAST(14 * k AS INTEGER)) AS last_seen) FROM ${table}, ${periods} AS r(k)`;
await c.run(shifted('ledger'));
await c.run(shifted('object_access'));
// With --before, kdm makes the other tables itself (with their keys) when it opens the file.
for (const t of before ? ['kdm_meta'] : ['kdm_meta', 'findings', 'engine_state', 'ingested_files']) await c.run(`CREATE TABLE big.${t} AS SELECT * FROM ${t}`);
const row = (await c.runAndReadAll('SELECT (SELECT count(*) FROM big.ledger) + (SELECT count(*) FROM big.object_access) AS n, (SELECT sum(calls) FROM big.ledger) AS calls')).getRowObjectsJson()[0];
console.log(JSON.stringify({ rows: Number(row.n), calls: Number(row.calls) }));
c.closeSync();
instance.closeSync();
