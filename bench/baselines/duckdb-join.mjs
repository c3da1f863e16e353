// Baseline: DuckDB (2 threads) reading the same files and joining Decrypt to GetObject (same principal,
// object and minute) — what a SQL engine does with the same logs, without any detection.
import { DuckDBInstance } from '@duckdb/node-api';

const dir = process.argv[2];
const instance = await DuckDBInstance.create(':memory:', { threads: '2' });
const connection = await instance.connect();
const started = performance.now();
const sql = `
WITH recs AS (SELECT unnest(json_extract(json, '$.Records[*]')) AS r FROM read_json_objects('${dir.replaceAll("'", "''")}/**/*.json.gz', format='auto', maximum_object_size=268435456)),
ev AS (SELECT json_extract_string(r, '$.eventName') AS name, json_extract_string(r, '$.userIdentity.arn') AS who, CAST(json_extract_string(r, '$.eventTime') AS TIMESTAMP) AS at,
  json_extract_string(r, '$.requestParameters.encryptionContext."aws:s3:arn"') AS ctx, json_extract_string(r, '$.requestParameters.bucketName') AS bucket,
  json_extract_string(r, '$.requestParameters.key') AS key FROM recs)
SELECT (SELECT count(*) FROM ev) AS records, count(*) AS joined FROM ev d JOIN ev g
  ON g.name = 'GetObject' AND d.name = 'Decrypt' AND d.ctx = 'arn:aws:s3:::' || g.bucket || '/' || g.key AND d.who = g.who AND abs(epoch(d.at) - epoch(g.at)) <= 60`;
const row = (await connection.runAndReadAll(sql)).getRowObjectsJson()[0];
const seconds = (performance.now() - started) / 1000;
console.log(JSON.stringify({ records: Number(row.records), joined: Number(row.joined), seconds, perSecond: Number(row.records) / seconds, maxRssKb: process.resourceUsage().maxRSS }));
