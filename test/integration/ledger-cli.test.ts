import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DuckDBInstance } from '@duckdb/node-api';
import { chromium } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { MIN_WRITE_MEMORY_MB } from '#adapters/local/database-budget.ts';
import { openLedgerDatabase } from '#adapters/local/ledger-database.ts';
import { DEFAULT_ENGINE_CONFIG } from '#core/engine-config.ts';
import { DatabaseMemoryError } from '#core/errors.ts';
import type { LedgerDelta, LedgerRow, ObjectAccess } from '#core/ledger/ledger.ts';
import type { Rule } from '#core/rules/define-rule.ts';
import { ALL_RULES } from '#core/rules/registry.ts';
import { ACCOUNT, BASE_TIME_MS, KEY_ARN, kmsRecord, minutes, networkRecord, OTHER_ACCOUNT, s3Record } from '#core/testing/builders.ts';
import { gatherReport } from '../../src/cli/report.ts';
import { SIM_KMS_ENDPOINTS, SIM_S3_ENDPOINT } from '../../src/sim/simulate.ts';
import { runReplay } from '../../src/cli/replay.ts';
import { ensureChromium } from '../../scripts/ensure-chromium.mjs';
import { KDM, REPO, runKdm } from '../helpers/cli.ts';
import { asWrittenBeforeNetworks, changeDatabase, CORRELATION_ACROSS_NETWORKS, LEDGER_IDENTITY as IDENTITY, queryDatabase as query, repeatedIdentities } from '../helpers/duckdb.ts';

const work = mkdtempSync(join(tmpdir(), 'kdm-ledger-'));
const SIM = join(work, 'sim');
const EVENTS = join(REPO, 'events');


const logFilesUnder = (dir: string): string[] => {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else if (e.name.endsWith('.json.gz')) out.push(join(d, e.name));
    }
  };
  walk(dir);
  return out.sort();
};

/** The simulation's log files of its first five days, and of the days after. */
const simulationInHalves = (): { readonly firstHalf: string[]; readonly secondHalf: string[] } => {
  const files = logFilesUnder(SIM);
  const firstHalf = files.filter((f) => /\/2026\/10\/0[1-5]\//.test(f));
  return { firstHalf, secondHalf: files.filter((f) => !firstHalf.includes(f)) };
};

/**
 * The ledger's calls as they stand whatever the networks their rows name: a file made before schema 5 holds one row
 * for the calls of every network, which a later replay splits by network. Their counts, times and objects (while
 * under the cap a row keeps) are the same either way; the event ids a row keeps as samples are not.
 */
const LEDGER_ACROSS_NETWORKS = `SELECT day, key, max(key_alias) AS key_alias, principal, principal_type, account, region, bucket, operation, path, destination_key,
  sum(calls) AS calls, sum(errors) AS errors, min(first_seen) AS first_seen, max(last_seen) AS last_seen, sum(findings) AS findings,
  CASE WHEN bool_or(objects_overflow) THEN NULL ELSE list_sort(list_distinct(flatten(list(objects)))) END AS objects
  FROM ledger GROUP BY ALL ORDER BY ALL`;
/** The object records as `LEDGER_ACROSS_NETWORKS` has the ledger's rows. */
const OBJECTS_ACROSS_NETWORKS = `SELECT day, key, principal, bucket, object_key, operation, sum(calls) AS calls, min(first_seen) AS first_seen, max(last_seen) AS last_seen,
  ${CORRELATION_ACROSS_NETWORKS}
  FROM object_access GROUP BY ALL ORDER BY ALL`;

/**
 * An upgraded file, continued: its ledger tables equal, row for row, those of `once` (one replay of everything), and
 * a replay of `files` that opens it again has nothing more to upgrade. A file made before schema 5
 * (`beforeNetworks`) equals it across networks.
 */
const expectLedgerOfOneReplayAndNothingLeftToUpgrade = async (upgraded: string, once: string, files: readonly string[], { beforeNetworks = false } = {}): Promise<void> => {
  for (const [table, acrossNetworks] of [['ledger', LEDGER_ACROSS_NETWORKS], ['object_access', OBJECTS_ACROSS_NETWORKS]] as const) {
    const rows = beforeNetworks ? acrossNetworks : `SELECT * FROM ${table} ORDER BY ALL`;
    expect(await query(upgraded, rows)).toEqual(await query(once, rows));
    expect(await query(upgraded, repeatedIdentities(table))).toEqual([{ repeated: '0' }]);
  }
  const again = runKdm(['replay', ...files, '--db', upgraded]);
  expect(again.status).toBe(0);
  expect(again.stderr).not.toContain('upgraded');
};

/** Opens a database file as it is (no upgrade), lets `change` run statements on it, and closes it. */


/** A database of one replay of the whole simulation, made by the first test that asks (the tests only read it). */
let simulationReplayedOnce: string | undefined;
const oneReplayOfTheSimulation = (): string => {
  if (simulationReplayedOnce === undefined) {
    const file = join(work, 'once.duckdb');
    const run = runKdm(['replay', SIM, '--db', file]);
    if (run.status !== 0) throw new Error(`kdm replay of the simulation failed (${run.status}):\n${run.stderr}`);
    simulationReplayedOnce = file;
  }
  return simulationReplayedOnce;
};

const json = <T>(args: readonly string[]): T => {
  const run = runKdm(args);
  if (run.status !== 0) throw new Error(`kdm ${args.join(' ')} failed (${run.status}):\n${run.stderr}`);
  return JSON.parse(run.stdout) as T;
};

/**
 * Records with markup and formula text where events let attackers choose strings (role and session names,
 * object keys, encryption context), busy enough to rank among the top principals and objects of a report.
 */
const hostileRecords = () => {
  const who = { role: 'Reports<script>alert(1)</script>', session: '<img src=x onerror=alert(1)>' } as const;
  const key = '<img src=x onerror=alert(1)>.pdf';
  const records: unknown[] = [];
  for (let i = 0; i < 400; i++) {
    records.push(kmsRecord({ who, s3Arn: `arn:aws:s3:::reports/${key}`, atMs: BASE_TIME_MS + minutes(i), context: { purpose: '<img src=x onerror=alert(1)>' } }));
    records.push(s3Record({ who, bucket: 'reports', key, atMs: BASE_TIME_MS + minutes(i), sourceIp: '198.51.100.4' }));
  }
  const formula = '=HYPERLINK("http://evil")';
  records.push(kmsRecord({ who: { root: true }, s3Arn: `arn:aws:s3:::reports/${formula}`, atMs: BASE_TIME_MS + minutes(3) }));
  records.push(s3Record({ who: { root: true }, bucket: 'reports', key: formula, atMs: BASE_TIME_MS + minutes(3) }));
  return records;
};

beforeAll(() => {
  const sim = runKdm(['simulate', '--out', SIM, '--events', '12000', '--days', '10', '--anomalies', '--seed', '3']);
  if (sim.status !== 0) throw new Error(sim.stderr);
}, 120_000);

describe('kdm replay --db: the decrypt ledger', () => {
  it('counts every KMS cryptographic call of the replay once, and skips files already in the database', async () => {
    const db = join(work, 'events.duckdb');
    const summary = json<{ kms: { byOperation: Record<string, number> } }>(['replay', EVENTS, '--db', db, '--summary', 'json']);
    const crypto = ['Decrypt', 'Encrypt', 'GenerateDataKey', 'GenerateDataKeyWithoutPlaintext', 'GenerateDataKeyPair', 'GenerateDataKeyPairWithoutPlaintext', 'ReEncrypt'];
    const expected = Object.entries(summary.kms.byOperation).filter(([op]) => crypto.includes(op)).reduce((n, [, c]) => n + c, 0);
    const before = await query<{ calls: string }>(db, 'SELECT sum(calls) AS calls FROM ledger');

    const again = runKdm(['replay', EVENTS, '--db', db, '--summary', 'json']);
    const after = await query<{ calls: string }>(db, 'SELECT sum(calls) AS calls FROM ledger');

    expect(expected).toBeGreaterThan(5);
    expect(Number(before[0]?.calls)).toBe(expected);
    expect(again.status).toBe(0);
    expect(again.stderr).toMatch(/already replayed into .*events\.duckdb/);
    // One line for them all: a replay resumed after its last checkpoint skips thousands of files.
    const told = again.stderr.split('\n').filter((l) => l.includes('already replayed'));
    // events/ holds CloudTrail log files (known by name and size) and exports (known by their contents).
    expect(told).toEqual([expect.stringMatching(/^kdm: skipped \d+ files already replayed into \S*events\.duckdb \(same name and size, or same contents\); their calls are counted there$/)]);
    const skipped = Number(/skipped (\d+) files/.exec(told[0] ?? '')?.[1]);
    expect(skipped).toBeGreaterThan(5);
    const files = (JSON.parse(again.stdout) as { files: { skipped: number; skippedByReason: Record<string, number> } }).files;
    expect(files.skipped).toBeGreaterThanOrEqual(skipped);
    expect(files.skippedByReason['already-replayed']).toBe(skipped);
    expect(after).toEqual(before);
  });

  it('counts a call through a VPC endpoint once, under its key, though the endpoint owner\'s network activity record of it (sharing its sharedEventID) comes first', async () => {
    const dir = join(work, 'network-activity');
    mkdirSync(dir, { recursive: true });
    // A network record carries a sharedEventID; whether the call's own records share it is not documented. Here they
    // do, the case where a network record taken for the call would make the call a duplicate.
    const call = kmsRecord({ atMs: BASE_TIME_MS, sharedEventId: 'a1f3720c-0000-4000-8000-00000000e001', vpcEndpointId: 'vpce-0a1b2c3d4e5f60718' });
    // What a network activity event keeps of a call in AWS's example: no parameters, no resources, no readOnly.
    const { requestParameters: _p, responseElements: _r, resources: _k, readOnly: _o, managementEvent: _m, userAgent: _u, ...kept } = call;
    const networkRecord = (eventID: string, more: Record<string, unknown> = {}) => ({
      ...kept, eventID, eventType: 'AwsVpceEvent', eventCategory: 'NetworkActivity', vpcEndpointAccountId: ACCOUNT, ...more,
    });
    const records = [
      networkRecord('b7c1e0d2-0000-4000-8000-00000000e002'),
      networkRecord('b7c1e0d2-0000-4000-8000-00000000e003', {
        sharedEventID: 'a1f3720c-0000-4000-8000-00000000e004', errorCode: 'VpceAccessDenied', errorMessage: 'The request was denied due to a VPC endpoint policy',
        userIdentity: { type: 'AWSAccount', principalId: 'AIDAEXAMPLEOUTSIDER', accountId: OTHER_ACCOUNT },
      }),
      call,
    ];
    writeFileSync(join(dir, `${ACCOUNT}_CloudTrail_us-east-1_20261001T0000Z_vpce.json.gz`), gzipSync(JSON.stringify({ Records: records })));
    const db = join(work, 'network-activity.duckdb');

    const summary = json<{ records: { processed: number; skipped: number }; events: { kms: number; network: number }; kms: { byOperation: Record<string, number> } }>(['replay', dir, '--db', db, '--summary', 'json']);

    // The network records are kept as such, for the rules that read them, and are no calls.
    expect(summary.records).toMatchObject({ processed: 3, skipped: 0 });
    expect(summary.events).toMatchObject({ kms: 1, network: 2 });
    expect(summary.kms.byOperation).toEqual({ Decrypt: 1 });
    expect(await query(db, 'SELECT key, principal, operation, CAST(calls AS INTEGER) AS calls, CAST(errors AS INTEGER) AS errors FROM ledger')).toEqual([
      { key: KEY_ARN, principal: `arn:aws:iam::${ACCOUNT}:role/AppRole`, operation: 'Decrypt', calls: 1, errors: 0 },
    ]);
  });

  it('keeps what a VPC endpoint learned in the database, for a later replay to judge another account\'s call through it by', async () => {
    const write = (name: string, records: Record<string, unknown>[]) => {
      const dir = join(work, name);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `${ACCOUNT}_CloudTrail_us-east-1_20261001T0000Z_${name}.json.gz`), gzipSync(JSON.stringify({ Records: records })));
      return dir;
    };
    const db = join(work, 'endpoint-baseline.duckdb');
    runKdm(['replay', write('endpoint-learns', [networkRecord({ atMs: BASE_TIME_MS }), networkRecord({ who: { role: 'Member', account: OTHER_ACCOUNT }, atMs: BASE_TIME_MS + 60_000 })]), '--db', db]);
    runKdm(['replay', write('endpoint-judges', [networkRecord({ who: { role: 'Member', account: OTHER_ACCOUNT }, atMs: BASE_TIME_MS + 8 * 86_400_000 }), networkRecord({ who: { outsideAccount: '999988887777' }, atMs: BASE_TIME_MS + 8 * 86_400_000 + 60_000 })]), '--db', db]);

    // The member account the endpoint served while it learned stays silent; the account it never served does not.
    expect(await query(db, `SELECT principal FROM findings WHERE rule_id = 'vpce-outside-credentials'`)).toEqual([{ principal: 'aws-account:999988887777:AKIAIOSFODNN7EXAMPLE' }]);
  });

  it('counts a call once when CloudTrail delivers it again with what it learned later (addendum UPDATED_DATA), whichever copy comes first', async () => {
    const original = kmsRecord({ atMs: BASE_TIME_MS, context: { app: 'billing' } });
    const update = {
      ...original, eventID: 'c3d4e5f6-0000-4000-8000-00000000f001',
      addendum: { reason: 'UPDATED_DATA', updatedFields: 'userIdentity', originalRequestID: original['requestID'], originalEventID: original['eventID'] },
    };
    for (const [name, records] of [['original-first', [original, update]], ['update-first', [update, original]]] as const) {
      const dir = join(work, `addendum-${name}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `${ACCOUNT}_CloudTrail_us-east-1_20261001T0000Z_${name}.json.gz`), gzipSync(JSON.stringify({ Records: records })));
      const db = join(work, `addendum-${name}.duckdb`);

      const summary = json<{ records: { processed: number; skippedByReason: Record<string, number> }; kms: { byOperation: Record<string, number> } }>(['replay', dir, '--db', db, '--summary', 'json']);

      expect(summary.records).toMatchObject({ processed: 1, skippedByReason: { duplicate: 1 } });
      expect(summary.kms.byOperation).toEqual({ Decrypt: 1 });
      expect(await query(db, 'SELECT CAST(calls AS INTEGER) AS calls, event_ids FROM ledger')).toEqual([{ calls: 1, event_ids: [original['eventID']] }]);
    }
  });

  it('keeps the KMS calls of a directory bucket (S3 Express One Zone) under its bucket, and finds its data key decrypted outside S3', async () => {
    // A directory bucket's calls name the bucket in aws:s3express:arn (its Bucket Keys cannot be turned off). The
    // upload's GenerateDataKey carries the value as S3's documentation shows it logged, inside an S3 ARN's prefix.
    const bucket = 'trades--use1-az4--x-s3';
    const bucketArn = `arn:aws:s3express:us-east-1:${ACCOUNT}:bucket/${bucket}`;
    const laptop = { user: 'dana' } as const;
    const records = [
      kmsRecord({ eventName: 'GenerateDataKey', atMs: BASE_TIME_MS, context: { 'aws:s3express:arn': `arn:aws:s3:::${bucketArn}` }, viaService: 'AWS Internal' }),
      kmsRecord({ atMs: BASE_TIME_MS + minutes(1), context: { 'aws:s3express:arn': bucketArn }, viaService: 'AWS Internal' }),
      kmsRecord({ who: laptop, atMs: BASE_TIME_MS + minutes(2), context: { 'aws:s3express:arn': bucketArn }, sourceIp: '198.51.100.23', userAgent: 'Boto3/1.34' }),
      // Later in the same stream, so that the S3-made calls' wait for an S3 request ends within the run.
      kmsRecord({ atMs: BASE_TIME_MS + minutes(30), context: { app: 'billing' } }),
    ];
    const dir = join(work, 'directory-bucket');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `${ACCOUNT}_CloudTrail_us-east-1_20261001T0000Z_express.json.gz`), gzipSync(JSON.stringify({ Records: records })));
    const db = join(work, 'directory-bucket.duckdb');

    const summary = json<{ records: { processed: number }; correlation: Record<string, number> }>(['replay', dir, '--db', db, '--summary', 'json']);

    expect(summary.records.processed).toBe(4);
    expect(summary.correlation).toEqual({ object: 0, bucket: 0, none: 2 });
    expect(await query(db, `SELECT principal, operation, path, bucket, CAST(calls AS INTEGER) AS calls FROM ledger WHERE bucket <> '' ORDER BY ALL`)).toEqual([
      { principal: `arn:aws:iam::${ACCOUNT}:role/AppRole`, operation: 'Decrypt', path: 's3', bucket, calls: 1 },
      { principal: `arn:aws:iam::${ACCOUNT}:role/AppRole`, operation: 'GenerateDataKey', path: 's3', bucket, calls: 1 },
      { principal: `arn:aws:iam::${ACCOUNT}:user/dana`, operation: 'Decrypt', path: 'direct', bucket, calls: 1 },
    ]);
    expect(await query(db, `SELECT rule_id, bucket, principal FROM findings ORDER BY ALL`)).toEqual([
      { rule_id: 'kms-s3-data-key-direct-decrypt', bucket, principal: `arn:aws:iam::${ACCOUNT}:user/dana` },
    ]);
    // What a compliance review asks of the bucket: who used which key for it, and by which path.
    const byBucket = json<Record<string, unknown>[]>(['history', '--db', db, '--bucket', bucket, '--group-by', 'principal,path', '--format', 'json']);
    expect(byBucket.map(({ principal, path, calls }) => ({ principal, path, calls }))).toEqual([
      { principal: `arn:aws:iam::${ACCOUNT}:role/AppRole`, path: 's3', calls: 2 },
      { principal: `arn:aws:iam::${ACCOUNT}:user/dana`, path: 'direct', calls: 1 },
    ]);
  });

  it('keeps the KMS calls S3 makes for the tables of a table bucket (S3 Tables) under that bucket, each table apart, and a vector index\'s (S3 Vectors) under its bucket', async () => {
    // Their aws:s3:arn names the table: arn:aws:s3tables:<region>:<account>:bucket/<name>/table/<id> (S3 Tables'
    // managed policies and key policies condition on it so). Read as an S3 ARN, every table bucket of an account and
    // region was one bucket named by that ARN's first part.
    const tableArn = (bucket: string, table: string) => `arn:aws:s3tables:us-east-1:${ACCOUNT}:bucket/${bucket}/table/${table}`;
    const tables = [tableArn('analytics', '8f1c2a3b-0000-4000-8000-000000000001'), tableArn('analytics', '8f1c2a3b-0000-4000-8000-000000000002'), tableArn('finance', '8f1c2a3b-0000-4000-8000-000000000003')];
    // A vector bucket's calls name the bucket or an index in aws:s3vectors:arn (S3 Vectors' key policy examples).
    const indexArn = `arn:aws:s3vectors:us-east-1:${ACCOUNT}:bucket/embeddings/index/docs`;
    const records = [
      ...tables.map((arn, i) => kmsRecord({ eventName: 'GenerateDataKey', atMs: BASE_TIME_MS + minutes(i), s3Arn: arn })),
      kmsRecord({ atMs: BASE_TIME_MS + minutes(5), context: { 'aws:s3vectors:arn': indexArn }, viaService: 's3vectors.amazonaws.com' }),
      kmsRecord({ atMs: BASE_TIME_MS + minutes(30), context: { app: 'billing' } }),
    ];
    const dir = join(work, 'table-buckets');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `${ACCOUNT}_CloudTrail_us-east-1_20261001T0000Z_tables.json.gz`), gzipSync(JSON.stringify({ Records: records })));
    const db = join(work, 'table-buckets.duckdb');

    const summary = json<{ buckets: { bucket: string; s3MadeKmsCalls: number }[] }>(['replay', dir, '--db', db, '--summary', 'json']);

    expect(summary.buckets.map(({ bucket, s3MadeKmsCalls }) => ({ bucket, s3MadeKmsCalls }))).toEqual([
      { bucket: 'analytics', s3MadeKmsCalls: 2 },
      { bucket: 'embeddings', s3MadeKmsCalls: 1 },
      { bucket: 'finance', s3MadeKmsCalls: 1 },
    ]);
    expect(await query(db, `SELECT bucket, object_key, CAST(calls AS INTEGER) AS calls FROM object_access ORDER BY ALL`)).toEqual([
      { bucket: 'analytics', object_key: 'table/8f1c2a3b-0000-4000-8000-000000000001', calls: 1 },
      { bucket: 'analytics', object_key: 'table/8f1c2a3b-0000-4000-8000-000000000002', calls: 1 },
      { bucket: 'embeddings', object_key: 'index/docs', calls: 1 },
      { bucket: 'finance', object_key: 'table/8f1c2a3b-0000-4000-8000-000000000003', calls: 1 },
    ]);
  });

  it('reads again a file that could not be read, replays a copied file once, and tells apart same-named exports by their contents', async () => {
    const dir = join(work, 'again');
    mkdirSync(join(dir, 'monday'), { recursive: true });
    mkdirSync(join(dir, 'tuesday'), { recursive: true });
    const good = readFileSync(logFilesUnder(SIM)[0] as string);
    const logName = '111122223333_CloudTrail_us-east-1_20261001T0910Z_0a1b2c3d4e5f6a7b.json.gz';
    writeFileSync(join(dir, logName), good.subarray(0, 300));
    // Two exports of one name and size whose records differ.
    const exportOf = (eventId: string) => `${JSON.stringify(kmsRecord({ eventId, atMs: BASE_TIME_MS }))}\n`;
    writeFileSync(join(dir, 'monday', 'events.jsonl'), exportOf('aaaaaaaa-0000-4000-8000-000000000001'));
    writeFileSync(join(dir, 'tuesday', 'events.jsonl'), exportOf('aaaaaaaa-0000-4000-8000-000000000002'));
    const db = join(work, 'again.duckdb');
    const replay = () => {
      const run = runKdm(['replay', dir, '--db', db, '--summary', 'json']);
      return { run, summary: JSON.parse(run.stdout) as { files: { read: number; failed: number; skipped: number; skippedByReason: Record<string, number> }; records: { processed: number } } };
    };

    const first = replay();
    const second = replay();
    writeFileSync(join(dir, logName), good);
    // And a copy of it in another folder: one file, replayed once (noting it twice had ended the run in an error).
    mkdirSync(join(dir, 'copy'));
    writeFileSync(join(dir, 'copy', logName), good);
    const mended = replay();
    const last = replay();

    expect(first.run.stderr).toMatch(/0a1b2c3d4e5f6a7b\.json\.gz: gzip data is truncated/);
    expect(first.summary.records.processed).toBe(2);
    // The truncated file was not noted as replayed: it is read (and refused) again; the two exports were both read, once.
    expect(second.summary.files).toMatchObject({ failed: 1, skipped: 2, skippedByReason: { 'already-replayed': 2 } });
    expect(second.run.stderr).toMatch(/skipped 2 files already replayed into .*again\.duckdb \(same contents\)/);
    expect(mended.run.status).toBe(0);
    expect(mended.summary.files).toMatchObject({ read: 1, failed: 0, skipped: 3 });
    expect(mended.summary.records.processed).toBeGreaterThan(0);
    expect(last.summary.files).toMatchObject({ read: 0, failed: 0, skipped: 4, skippedByReason: { 'already-replayed': 4 } });
    expect(last.run.stderr).toMatch(/\(same name and size, or same contents\)/);
    expect(await query<{ name: string }>(db, 'SELECT name FROM ingested_files ORDER BY name')).toEqual([
      { name: logName },
      { name: expect.stringMatching(/^events\.jsonl sha256:[0-9a-f]{64}$/) },
      { name: expect.stringMatching(/^events\.jsonl sha256:[0-9a-f]{64}$/) },
    ]);
  });

  it.runIf(process.platform === 'linux')('replays a pipe (process substitution) into the database without reading it away first, and records no name for it', async () => {
    const db = join(work, 'pipe.duckdb');
    const sample = join(EVENTS, 'eventbridge', 'kms-decrypt.json');
    const replay = () => spawnSync('bash', ['-c', `"${process.execPath}" "${KDM}" replay <(cat "${sample}") --db "${db}" --summary json`], { encoding: 'utf8' });

    const first = replay();
    const second = replay();

    expect(first.status, first.stderr).toBe(0);
    expect((JSON.parse(first.stdout) as { records: { processed: number } }).records.processed).toBe(1);
    // Nothing to know it by: read again, and its record recognised as a duplicate.
    expect((JSON.parse(second.stdout) as { records: { skippedByReason: Record<string, number> } }).records.skippedByReason).toEqual({ duplicate: 1 });
    expect(await query(db, 'SELECT name FROM ingested_files')).toEqual([]);
  });

  it('counts calls by the network they came through, so that the reads from outside the endpoints can be listed', () => {
    const once = oneReplayOfTheSimulation();
    type Grouped = { network: string; path?: string; principal?: string; calls: number };
    const history = (...args: string[]) => json<Grouped[]>(['history', '--db', once, ...args, '--format', 'json']);
    const total = history('--group-by', 'key').reduce((sum, r) => sum + r.calls, 0);

    const byNetwork = history('--group-by', 'network');
    expect(byNetwork.map((r) => r.network)).toEqual(expect.arrayContaining([SIM_KMS_ENDPOINTS.us, SIM_S3_ENDPOINT, 'public', '']));
    expect(byNetwork.reduce((sum, r) => sum + r.calls, 0)).toBe(total);
    // The S3 gateway endpoint carries S3's requests only: the calls S3 made for them count under it.
    expect(history('--network', SIM_S3_ENDPOINT, '--group-by', 'path').map((r) => r.path)).toEqual(['s3']);
    // The ETL job reads through its endpoints; the one read from the internet (the simulation's stolen credentials) stands out.
    expect(history('--network', 'public', '--principal', '*:role/ReportEtl', '--group-by', 'path,network')).toEqual([{ path: 's3', network: 'public', calls: 1, errors: 0, principals: 1, keys: 1, objects: 1, objects_at_least: false, first_seen: expect.any(String), last_seen: expect.any(String), findings: 1 }]);
    expect(history('--network', 'none', '--group-by', 'network')).toEqual([expect.objectContaining({ network: '', calls: byNetwork.find((r) => r.network === '')?.calls })]);
    // Each row says its network; ungrouped, the rows of one network are those it selects.
    const publicRows = history('--network', 'public');
    expect(publicRows.length).toBeGreaterThan(0);
    expect(new Set(publicRows.map((r) => r.network))).toEqual(new Set(['public']));
    // The object the stolen credentials took, apart from the thousands the job itself read through its endpoint.
    type Opened = { object_key: string; network: string; calls: number; source_ips: string[] };
    const opened = (...args: string[]) => json<Opened[]>(['history', '--db', once, '--principal', '*:role/ReportEtl', ...args, '--format', 'json']);
    expect(opened('--network', 'public', '--prefix', '*').map((r) => [r.network, r.calls, r.source_ips])).toEqual([['public', 1, ['198.51.100.32']]]);
    expect(opened('--network', 'public', '--group-by', 'object')).toEqual([expect.objectContaining({ object_key: opened('--network', 'public', '--prefix', '*')[0]?.object_key, calls: 1 })]);
    const throughEndpoint = opened('--group-by', 'object,network').filter((r) => r.network === SIM_S3_ENDPOINT);
    expect(throughEndpoint.length).toBeGreaterThan(10);
  });

  it('refuses a --network the ledger cannot answer, saying what it takes', () => {
    const once = oneReplayOfTheSimulation();
    expect(runKdm(['history', '--db', once, '--network', '10.0.0.0/8']).stderr).toBe('kdm: --network takes a VPC endpoint id (vpce-...), public or none (got "10.0.0.0/8"): the ledger counts calls by network, not by address\n');
    expect(runKdm(['history', '--db', once, '--network', 'internet']).stderr).toBe('kdm: --network takes a VPC endpoint id (vpce-...), public or none (got "internet")\n');
    const report = runKdm(['report', '--db', once, '--html', join(work, 'by-network.html'), '--network', 'public']);
    expect(report.status).toBe(1);
    expect(report.stderr).toMatch(/^kdm: report does not take --network: it would filter some of the page's sections and not the others/);
  });

  it('continues history and learning across runs: two replays of consecutive days equal one replay of all of them', async () => {
    const { firstHalf, secondHalf } = simulationInHalves();
    const once = oneReplayOfTheSimulation();
    const split = join(work, 'split.duckdb');

    expect(runKdm(['replay', ...firstHalf, '--db', split]).status).toBe(0);
    expect(runKdm(['replay', ...secondHalf, '--db', split]).status).toBe(0);

    const history = (db: string) => json<unknown[]>(['history', '--db', db, '--group-by', 'day,key,principal,operation,path', '--format', 'json']);
    const findings = (db: string) => query(db, 'SELECT id, rule_id, event_count FROM findings ORDER BY id');
    const accesses = (db: string) => query(db, `SELECT ${IDENTITY.object_access}, calls, source_ips FROM object_access ORDER BY ALL`);
    expect(firstHalf.length).toBeGreaterThan(0);
    expect(secondHalf.length).toBeGreaterThan(0);
    expect(history(split)).toEqual(history(once));
    expect(await findings(split)).toEqual(await findings(once));
    expect((await findings(once)).length).toBeGreaterThan(10);
    expect(await accesses(split)).toEqual(await accesses(once));
    // The tables carry no key constraint (it made the file a third larger): the folds alone keep one row per identity.
    for (const table of ['ledger', 'object_access'] as const) expect(await query(split, repeatedIdentities(table))).toEqual([{ repeated: '0' }]);
  });

  it('gives the same summary, findings and ledger with the native reader as without it (KDM_NATIVE=off), on reader threads or on one, either way', async () => {
    const once = oneReplayOfTheSimulation();
    const inJavaScript = join(work, 'javascript.duckdb');
    // On reader threads, which a replay of this small an input does not start unless told (READER_THREADS_FROM_BYTES).
    const run = runKdm(['replay', SIM, '--db', inJavaScript, '--summary', 'json', '--threads', '3'], undefined, { KDM_NATIVE: 'off' });
    expect(run.status).toBe(0);
    const withoutDuration = (summary: string): unknown => JSON.parse(summary, (key, value: unknown) => (key === 'durationMs' ? undefined : value));
    const others = [
      ['native-reader-threads', ['--threads', '3'], {}],
      ['native-by-default', [], {}],
      ['native-one-thread', ['--threads', '1'], {}],
      ['javascript-one-thread', ['--threads', '1'], { KDM_NATIVE: 'off' }],
    ] as const;
    for (const [name, threads, env] of others) {
      const other = runKdm(['replay', SIM, '--db', join(work, `${name}.duckdb`), '--summary', 'json', ...threads], undefined, env);
      expect(other.status).toBe(0);
      expect(withoutDuration(other.stdout)).toEqual(withoutDuration(run.stdout));
      for (const table of ['ledger', 'object_access']) {
        expect(await query(join(work, `${name}.duckdb`), `SELECT * FROM ${table} ORDER BY ALL`)).toEqual(await query(inJavaScript, `SELECT * FROM ${table} ORDER BY ALL`));
      }
    }
    for (const table of ['ledger', 'object_access']) {
      expect(await query(inJavaScript, `SELECT * FROM ${table} ORDER BY ALL`)).toEqual(await query(once, `SELECT * FROM ${table} ORDER BY ALL`));
    }
    // All but when each was written.
    const findings = (db: string) => query(db, 'SELECT * EXCLUDE (updated_at, record) FROM findings ORDER BY id');
    expect(await findings(inJavaScript)).toEqual(await findings(once));
  });

  it('says when the native reader is not at hand and it reads in JavaScript, but not when it was turned off', async () => {
    const told = async (nativeReader?: Parameters<typeof runReplay>[0]['nativeReader']): Promise<string> => {
      const said: string[] = [];
      const stderr = { write: (text: string) => said.push(text) > 0 } as unknown as NodeJS.WriteStream;
      const quiet = { write: () => true } as unknown as NodeJS.WriteStream;
      await runReplay({ paths: [EVENTS], summary: 'json', rules: ALL_RULES, config: DEFAULT_ENGINE_CONFIG, stdout: quiet, stderr, ...(nativeReader !== undefined ? { nativeReader } : {}) });
      return said.join('');
    };
    const reason = 'is not built (npm ci builds it where a C++ compiler and make are installed)';
    expect(await told({ state: 'absent', reason })).toContain(`kdm: note: the native reader ${reason}; reading in JavaScript, with the same results in about 1.3 times the time\n`);
    expect(await told({ state: 'off' })).not.toContain('native reader');
    // Built here: nothing to say.
    expect(await told()).not.toContain('native reader');
    expect(runKdm(['replay', EVENTS, '--summary', 'json'], undefined, { KDM_NATIVE: 'off' }).stderr).not.toContain('native reader');
  });

  it('upgrades a file of schema 1, whose ledger rows carry an id, and continues it as this version would have', async () => {
    const { firstHalf, secondHalf } = simulationInHalves();
    const once = oneReplayOfTheSimulation();
    const upgraded = join(work, 'schema-1.duckdb');
    expect(runKdm(['replay', ...firstHalf, '--db', upgraded]).status).toBe(0);
    const history = (db: string) => json<unknown[]>(['history', '--db', db, '--format', 'json']);
    const objectHistory = (db: string) => json<unknown[]>(['history', '--db', db, '--group-by', 'object,principal', '--format', 'json']);
    // Its rows as schema 4 kept them, one for the calls of every network (schema 5 split them), as the history reads them.
    await changeDatabase(upgraded, asWrittenBeforeNetworks);
    const asWritten = { history: history(upgraded), objects: objectHistory(upgraded) };

    // What schema 1 stored: each row's identity once more as an id, its parts as a JSON array behind the day (and
    // no ReEncrypt's destination, which schema 4 added).
    let before: Record<string, unknown> | undefined;
    await changeDatabase(upgraded, async (setup) => {
      await setup.run(`ALTER TABLE ledger DROP COLUMN destination_key`);
      await setup.run(`ALTER TABLE ledger ADD COLUMN id VARCHAR`);
      await setup.run(`UPDATE ledger SET id = 'ledger#' || day::VARCHAR || '#' || to_json([key, principal, account, region, bucket, operation, path])::VARCHAR`);
      await setup.run(`ALTER TABLE object_access ADD COLUMN id VARCHAR`);
      await setup.run(`UPDATE object_access SET id = 'access#' || day::VARCHAR || '#' || to_json([key, principal, bucket, object_key, operation])::VARCHAR`);
      await setup.run(`UPDATE kdm_meta SET value = '1' WHERE name = 'schema'`);
      [before] = (await setup.runAndReadAll(`SELECT (SELECT count(*) FROM ledger) AS rows, (SELECT count(*) FROM object_access) AS accesses`)).getRowObjectsJson();
    });
    // Read as it is: the history's queries do not need the id, and reading upgrades nothing.
    expect({ history: history(upgraded), objects: objectHistory(upgraded) }).toEqual(asWritten);
    expect(runKdm(['report', '--db', upgraded, '--html', join(work, 'schema-1.html')]).status).toBe(0);
    expect(await query(upgraded, `SELECT value FROM kdm_meta WHERE name = 'schema'`)).toEqual([{ value: '1' }]);

    const next = runKdm(['replay', ...secondHalf, '--db', upgraded]);
    expect(next.status).toBe(0);
    expect(next.stderr).toContain(`${upgraded}: upgraded to schema 5: ledger (${String(before?.rows)} rows) and object_access (${String(before?.accesses)} rows) kept, without their id column`);

    const columns = (db: string) => query(db, `SELECT table_name, list(column_name ORDER BY column_index) AS columns FROM duckdb_columns() WHERE table_name IN ('ledger', 'object_access') GROUP BY ALL ORDER BY ALL`);
    expect(await columns(upgraded)).toEqual(await columns(once));
    expect(JSON.stringify(await columns(upgraded))).not.toContain('"id"');
    expect(await query(upgraded, `SELECT value FROM kdm_meta WHERE name = 'schema'`)).toEqual([{ value: '5' }]);
    await expectLedgerOfOneReplayAndNothingLeftToUpgrade(upgraded, once, secondHalf, { beforeNetworks: true });
  });

  it('reads a file of schema 3, whose ledger rows keep no ReEncrypt destination, and upgrades it when continued', async () => {
    const { firstHalf, secondHalf } = simulationInHalves();
    const once = oneReplayOfTheSimulation();
    const upgraded = join(work, 'schema-3.duckdb');
    expect(runKdm(['replay', ...firstHalf, '--db', upgraded]).status).toBe(0);
    const history = (db: string) => json<unknown[]>(['history', '--db', db, '--format', 'json']);
    const byKey = (db: string) => json<unknown[]>(['history', '--db', db, '--key', 'alias/app-data', '--format', 'json']);
    // The simulation re-encrypts under an outside key in its second half only: the first half's rows name no destination.
    expect(await query(upgraded, `SELECT count(*) AS n FROM ledger WHERE destination_key <> ''`)).toEqual([{ n: '0' }]);
    // Its rows as schema 4 kept them, one for the calls of every network (schema 5 split them), as the history reads them.
    await changeDatabase(upgraded, asWrittenBeforeNetworks);
    const asWritten = { history: history(upgraded), byKey: byKey(upgraded) };

    // What schema 3 stored: the ledger table without the column.
    await changeDatabase(upgraded, async (setup) => {
      await setup.run(`ALTER TABLE ledger DROP COLUMN destination_key`);
      await setup.run(`UPDATE kdm_meta SET value = '3' WHERE name = 'schema'`);
    });
    // Read as it is, it answers as it did; reading upgrades nothing.
    expect({ history: history(upgraded), byKey: byKey(upgraded) }).toEqual(asWritten);
    expect(runKdm(['report', '--db', upgraded, '--html', join(work, 'schema-3.html')]).status).toBe(0);
    expect(await query(upgraded, `SELECT value FROM kdm_meta WHERE name = 'schema'`)).toEqual([{ value: '3' }]);

    const next = runKdm(['replay', ...secondHalf, '--db', upgraded]);
    expect(next.status).toBe(0);
    expect(next.stderr).toContain(`${upgraded}: upgraded to schema 5: ledger rows keep a ReEncrypt's destination key, so that kdm history --key lists it under both keys, and they and object records the network of their calls (an earlier kdm refuses the file)`);
    expect(await query(upgraded, `SELECT value FROM kdm_meta WHERE name = 'schema'`)).toEqual([{ value: '5' }]);
    const reEncryptsWithDestination = `SELECT count(*) AS n FROM ledger WHERE destination_key <> ''`;
    expect(Number((await query<{ n: string }>(once, reEncryptsWithDestination))[0]?.n)).toBeGreaterThan(0);
    await expectLedgerOfOneReplayAndNothingLeftToUpgrade(upgraded, once, secondHalf, { beforeNetworks: true });
  });

  it('reads a file of schema 4, whose ledger rows and object records keep no network, and upgrades it when continued: those it held name none', async () => {
    const { firstHalf, secondHalf } = simulationInHalves();
    const once = oneReplayOfTheSimulation();
    const upgraded = join(work, 'schema-4.duckdb');
    expect(runKdm(['replay', ...firstHalf, '--db', upgraded]).status).toBe(0);
    const history = (db: string) => json<{ network: string; calls: number }[]>(['history', '--db', db, '--format', 'json']);
    const byNetwork = (db: string, ...filters: string[]) => json<{ network: string; calls: number }[]>(['history', '--db', db, '--group-by', 'network', ...filters, '--format', 'json']);
    const firstHalfCalls = history(upgraded).reduce((sum, r) => sum + r.calls, 0);
    expect(byNetwork(upgraded).length).toBeGreaterThan(1);

    // What schema 4 stored: one row for the calls of every network, without the column.
    await changeDatabase(upgraded, async (setup) => {
      await asWrittenBeforeNetworks(setup);
      await setup.run(`UPDATE kdm_meta SET value = '4' WHERE name = 'schema'`);
    });
    // Read as it is, its rows name no network; reading upgrades nothing.
    expect(byNetwork(upgraded).map((r) => [r.network, r.calls])).toEqual([['', firstHalfCalls]]);
    expect(runKdm(['report', '--db', upgraded, '--html', join(work, 'schema-4.html')]).status).toBe(0);
    expect(await query(upgraded, `SELECT value FROM kdm_meta WHERE name = 'schema'`)).toEqual([{ value: '4' }]);

    const next = runKdm(['replay', ...secondHalf, '--db', upgraded]);
    expect(next.status).toBe(0);
    expect(next.stderr).toContain(`${upgraded}: upgraded to schema 5: ledger rows and object records keep the network of their calls from now on, for kdm history --network and --group-by network; those already held name none (an earlier kdm refuses the file)`);
    expect(await query(upgraded, `SELECT value FROM kdm_meta WHERE name = 'schema'`)).toEqual([{ value: '5' }]);
    // The second half's calls are counted by network as one replay of everything counts them.
    const networksOf = (db: string) => byNetwork(db, '--from', '2026-10-07').filter((r) => r.network !== '');
    expect(networksOf(upgraded)).toEqual(networksOf(once));
    expect(byNetwork(upgraded, '--network', 'none').map((r) => r.calls)).toEqual([expect.any(Number)]);
    // So are its object records.
    const objectsByNetwork = (db: string) => byNetwork(db, '--group-by', 'object', '--from', '2026-10-07').filter((r) => r.network !== '');
    expect(objectsByNetwork(upgraded).length).toBeGreaterThan(0);
    expect(objectsByNetwork(upgraded)).toEqual(objectsByNetwork(once));
    await expectLedgerOfOneReplayAndNothingLeftToUpgrade(upgraded, once, secondHalf, { beforeNetworks: true });
  });

  it('upgrades a file of schema 2, whose engine state has a row per dedupe entry, and continues it as this version would have', async () => {
    const { firstHalf, secondHalf } = simulationInHalves();
    const once = oneReplayOfTheSimulation();
    const upgraded = join(work, 'schema-2.duckdb');
    expect(runKdm(['replay', ...firstHalf, '--db', upgraded]).status).toBe(0);
    const packedRows = (db: string) => query<{ n: string }>(db, `SELECT count(*) AS n FROM engine_state WHERE k LIKE '#seen#%'`);
    expect(Number((await packedRows(upgraded))[0]?.n)).toBeGreaterThan(1);

    // What schema 2 stored: a row per dedupe entry, its value as any other entry's (JSON of the entry).
    const packed = await query<{ k: string; v: string }>(upgraded, `SELECT k, v FROM engine_state WHERE k LIKE '#seen#%'`);
    const instance = await DuckDBInstance.create(upgraded);
    const setup = await instance.connect();
    await setup.run(`DELETE FROM engine_state WHERE k LIKE '#seen#%'`);
    await asWrittenBeforeNetworks(setup);
    await setup.run(`ALTER TABLE ledger DROP COLUMN destination_key`);
    const appender = await setup.createAppender('engine_state');
    let entries = 0;
    for (const { v } of packed) {
      const list = JSON.parse(v) as (string | number)[];
      for (let i = 0; i < list.length; i += 2, entries++) {
        appender.appendVarchar(list[i] as string);
        appender.appendVarchar(JSON.stringify({ kind: 'seen', expiresAtMs: list[i + 1] }));
        appender.endRow();
      }
    }
    appender.closeSync();
    await setup.run(`UPDATE kdm_meta SET value = '2' WHERE name = 'schema'`);
    setup.closeSync();
    instance.closeSync();
    expect(entries).toBeGreaterThan(1_000);

    const next = runKdm(['replay', ...secondHalf, '--db', upgraded]);
    expect(next.status).toBe(0);
    expect(next.stderr).toContain(`${upgraded}: upgraded to schema 5: the engine state's dedupe entries are stored 1,000 to a row from the next checkpoint on, and ledger rows keep a ReEncrypt's destination key, and they and object records the network of their calls (an earlier kdm refuses the file)`);
    expect(await query(upgraded, `SELECT value FROM kdm_meta WHERE name = 'schema'`)).toEqual([{ value: '5' }]);
    // Written packed again, the dedupe entries the continued run keeps are those of one run over both halves.
    expect(await query(upgraded, `SELECT count(*) AS n FROM engine_state WHERE k LIKE 'seen#%'`)).toEqual([{ n: '0' }]);
    const dedupeEntries = async (db: string) =>
      (await query<{ v: string }>(db, `SELECT v FROM engine_state WHERE k LIKE '#seen#%'`))
        .flatMap(({ v }) => {
          const list = JSON.parse(v) as (string | number)[];
          return list.flatMap((key, i) => (i % 2 === 0 ? [`${String(key)} ${String(list[i + 1])}`] : []));
        })
        .sort();
    const expected = await dedupeEntries(once);
    expect(expected.length).toBeGreaterThan(1_000);
    expect(await dedupeEntries(upgraded)).toEqual(expected);
    await expectLedgerOfOneReplayAndNothingLeftToUpgrade(upgraded, once, secondHalf, { beforeNetworks: true });
  });

  it('refuses a damaged row of packed dedupe entries, naming the file and the row, and changes nothing', async () => {
    const file = join(work, 'damaged-state.duckdb');
    expect(runKdm(['replay', EVENTS, '--db', file]).status).toBe(0);
    const instance = await DuckDBInstance.create(file);
    const setup = await instance.connect();
    await setup.run(`INSERT INTO engine_state VALUES ('#seen#7', '["seen#1#e:a", 1, "seen#1#e:b"]')`);
    setup.closeSync();
    instance.closeSync();
    const before = await query(file, 'SELECT * FROM engine_state ORDER BY ALL');

    const run = runKdm(['replay', EVENTS, '--db', file]);
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain(file);
    expect(run.stderr).toContain(`the engine state's row "#seen#7" is damaged: not a list of dedupe keys and expiries`);
    expect(await query(file, 'SELECT * FROM engine_state ORDER BY ALL')).toEqual(before);
  });

  it('decides at its end the S3-made calls their stream has passed the deadline of, wherever its batches ended', async () => {
    // An S3-made Decrypt that no S3 request answers, then a call 20 minutes later in the same stream (account and
    // region): by the end, the stream's watermark has passed the first call's deadline (1 + 15 minutes). A file is
    // one batch, so in one file both come in the run's last batch; in two files the call waits from the first.
    const orphan = kmsRecord({ s3Arn: 'arn:aws:s3:::example-bucket/reports/q3.pdf', atMs: BASE_TIME_MS });
    const later = kmsRecord({ atMs: BASE_TIME_MS + minutes(20) });
    const layouts = { one: [[orphan, later]], two: [[orphan], [later]] };
    const ledgers: unknown[] = [];
    for (const [name, files] of Object.entries(layouts)) {
      const dir = join(work, `due-at-end-${name}`);
      mkdirSync(dir);
      files.forEach((records, i) => writeFileSync(join(dir, `111122223333_CloudTrail_us-east-1_20261001T000${i}Z_due.json`), JSON.stringify({ Records: records })));
      const db = join(work, `due-at-end-${name}.duckdb`);
      const quiet = { write: () => true } as unknown as NodeJS.WriteStream;
      const told: string[] = [];
      const listening = { write: (text: string) => told.push(text) > 0 } as unknown as NodeJS.WriteStream;
      const result = await runReplay({ paths: [dir], summary: 'json', rules: ALL_RULES, config: DEFAULT_ENGINE_CONFIG, db, nowMs: () => Date.UTC(2027, 0, 1), stdout: quiet, stderr: listening });
      expect(told.join('')).not.toContain('wait in');
      expect(result.summaryJson['correlation']).toEqual({ object: 0, bucket: 0, none: 1 });
      ledgers.push(await query(db, 'SELECT day, key, principal, operation, path, calls FROM ledger ORDER BY ALL'));
    }
    expect(ledgers[0]).toEqual(ledgers[1]);
    expect(ledgers[0]).toContainEqual(expect.objectContaining({ path: 's3', operation: 'Decrypt', calls: '1' }));
  });

  it('checkpoints as it goes without changing what it writes, and a run that fails keeps its last checkpoint', async () => {
    const once = join(work, 'once-for-checkpoints.duckdb');
    const often = join(work, 'checkpoints.duckdb');
    const quiet = { write: () => true } as unknown as NodeJS.WriteStream;
    // The same clock for both runs: findings in the state carry the time they were processed.
    const run = { paths: [SIM], summary: 'json', rules: ALL_RULES, config: DEFAULT_ENGINE_CONFIG, stdout: quiet, stderr: quiet, nowMs: () => Date.UTC(2027, 0, 1) } as const;
    await runReplay({ ...run, db: once });
    // A checkpoint every 200 ledger rows: dozens of commits in this run.
    await runReplay({ ...run, db: often, checkpointRows: 200 });

    // Every column, lists too: a write hands over object accesses and keeps rows aggregating (drainForWrite).
    const ledger = (db: string) => query(db, 'SELECT * FROM ledger ORDER BY ALL');
    const accesses = (db: string) => query(db, 'SELECT * FROM object_access ORDER BY ALL');
    const findings = (db: string) => query(db, 'SELECT id, rule_id, event_count FROM findings ORDER BY id');
    const state = (db: string) => query(db, 'SELECT k, v FROM engine_state ORDER BY k');
    expect(await ledger(often)).toEqual(await ledger(once));
    expect(await accesses(often)).toEqual(await accesses(once));
    expect(await findings(often)).toEqual(await findings(once));
    expect(await state(often)).toEqual(await state(once));

    // A run that dies midway (here, a rule with a bug throws on its 5,000th call of some 8,200, past the first
    // checkpoint) keeps its last checkpoint, says so, and the same command run again continues from it to the same
    // result as a run that never failed.
    const resumed = join(work, 'resumed.duckdb');
    const told: string[] = [];
    const listening = { write: (text: string) => told.push(text) > 0 } as unknown as NodeJS.WriteStream;
    let calls = 0;
    const buggy: Rule = { ...(ALL_RULES[0] as Rule), id: 'test-buggy-rule', detect: () => {
      if (++calls === 5_000) throw new Error('a rule with a bug');
      return undefined;
    } };
    await expect(runReplay({ ...run, rules: [...ALL_RULES, buggy], db: resumed, checkpointRows: 200, stderr: listening })).rejects.toThrow('a rule with a bug');
    expect(told.join('')).toMatch(/resumed\.duckdb keeps this run up to its last checkpoint \(\d+ made\); run the same command again/);
    expect(Number((await query<{ n: string }>(resumed, 'SELECT count(*) AS n FROM ingested_files'))[0]?.n)).toBeGreaterThan(0);
    await runReplay({ ...run, db: resumed, checkpointRows: 200 });
    expect(await ledger(resumed)).toEqual(await ledger(once));
    expect(await accesses(resumed)).toEqual(await accesses(once));
    expect(await findings(resumed)).toEqual(await findings(once));

    // The same at the level of the database: what the checkpoint committed stays, what came after is rolled back.
    const crashed = join(work, 'crashed.duckdb');
    const db = await openLedgerDatabase(crashed);
    await db.begin();
    const row = (day: string, count: number): LedgerRow => ({ kind: 'ledger', day, key: 'k', principal: 'p', principalType: 'AssumedRole', account: '1', region: 'r', bucket: '', operation: 'Decrypt', path: 'direct', count, errors: 0, firstSeenMs: Date.parse(day), lastSeenMs: Date.parse(day), objects: [], objectsOverflow: false, eventIds: [], findings: 0 });
    await db.writeLedger({ rows: [row('2026-10-01', 3)], accesses: [] });
    await db.noteFile('a.json.gz', 10, 3, BASE_TIME_MS);
    await db.checkpoint([['alias#1#alias/x', { kind: 'alias', keyArn: 'k' }]], []);
    await db.writeLedger({ rows: [row('2026-10-01', 4), row('2026-10-02', 5)], accesses: [] });
    await db.noteFile('b.json.gz', 10, 9, BASE_TIME_MS);
    await db.rollback();
    db.close();

    expect(await query(crashed, 'SELECT day::VARCHAR AS day, calls FROM ledger ORDER BY day')).toEqual([{ day: '2026-10-01', calls: '3' }]);
    expect(await query(crashed, 'SELECT name FROM ingested_files')).toEqual([{ name: 'a.json.gz' }]);
    expect(await query(crashed, 'SELECT k FROM engine_state')).toEqual([{ k: 'alias#1#alias/x' }]);
  });

  it('leaves the findings file as it was when the run fails, with no partial file beside it, and replaces it when the run succeeds', async () => {
    const dir = mkdtempSync(join(work, 'findings-'));
    const out = join(dir, 'findings.jsonl');
    writeFileSync(out, 'an earlier run\n');
    const quiet = { write: () => true } as unknown as NodeJS.WriteStream;
    const run = { paths: [EVENTS], summary: 'json', rules: ALL_RULES, config: DEFAULT_ENGINE_CONFIG, stdout: quiet, stderr: quiet, findings: out } as const;
    const buggy: Rule = { ...(ALL_RULES[0] as Rule), id: 'test-buggy-rule', detect: () => {
      throw new Error('a rule with a bug');
    } };

    await expect(runReplay({ ...run, rules: [...ALL_RULES, buggy] })).rejects.toThrow('a rule with a bug');
    expect(readFileSync(out, 'utf8')).toBe('an earlier run\n');
    expect(readdirSync(dir)).toEqual(['findings.jsonl']);

    const result = await runReplay(run);
    expect(result.findings.length).toBeGreaterThan(0);
    expect(readFileSync(out, 'utf8').trim().split('\n')).toHaveLength(result.findings.length);
    expect(readdirSync(dir)).toEqual(['findings.jsonl']);
  });

  it('merges a written row with the stored row of the same id, in one write or across writes', async () => {
    const file = join(work, 'merge.duckdb');
    const db = await openLedgerDatabase(file);
    const at = Date.parse('2026-10-01T10:00:00Z');
    const row = (count: number, objects: string[], ms: number): LedgerRow => ({ kind: 'ledger', day: '2026-10-01', key: 'k', principal: 'p', principalType: 'AssumedRole', account: '1', region: 'r', bucket: 'b', operation: 'Decrypt', path: 's3', count, errors: 0, firstSeenMs: ms, lastSeenMs: ms, objects, objectsOverflow: false, eventIds: [`e${count}`], findings: 0 });
    const access = (count: number, ip: string): ObjectAccess => ({ kind: 'object-access', day: '2026-10-01', key: 'k', principal: 'p', bucket: 'b', objectKey: 'a', operation: 'GetObject', count, firstSeenMs: at, lastSeenMs: at + count, sourceIps: [ip], sessions: [], eventIds: [], correlation: 'object' });

    await db.writeLedger({ rows: [row(3, ['a', 'b'], at)], accesses: [access(3, '198.51.100.1')] });
    await db.writeLedger({ rows: [row(4, ['b', 'c'], at - 1000), { ...row(1, ['d'], at + 1000), keyAlias: 'alias/x' }], accesses: [access(5, '198.51.100.2')] });
    db.close();

    expect(await query(file, `SELECT calls, key_alias, list_sort(objects) AS objects, list_sort(event_ids) AS ids, first_seen::VARCHAR AS f, last_seen::VARCHAR AS l FROM ledger`)).toEqual([
      { calls: '8', key_alias: 'alias/x', objects: ['a', 'b', 'c', 'd'], ids: ['e1', 'e3', 'e4'], f: '2026-10-01 09:59:59', l: '2026-10-01 10:00:01' },
    ]);
    expect(await query(file, `SELECT calls, list_sort(source_ips) AS ips FROM object_access`)).toEqual([{ calls: '8', ips: ['198.51.100.1', '198.51.100.2'] }]);
  });

  it('takes many writes between commits within the smallest budget, as a long replay with a large state makes them', async () => {
    // Each write stages its rows in temporary tables. Made and dropped for each write, they kept their blocks until
    // the commit, and the 40th or so write between two commits failed with 32 MiB whatever its size.
    const file = join(work, 'many-writes.duckdb');
    const db = await openLedgerDatabase(file, { memoryLimitMb: MIN_WRITE_MEMORY_MB });
    const day = (w: number): string => `2026-10-${String(1 + (w % 28)).padStart(2, '0')}`;
    const access = (w: number, i: number): ObjectAccess => ({ kind: 'object-access', day: day(w), key: 'k', principal: 'p', bucket: 'b', objectKey: `o${i}`, operation: 'GetObject', count: 1, firstSeenMs: Date.parse(day(w)), lastSeenMs: Date.parse(day(w)), sourceIps: ['198.51.100.1'], sessions: [], eventIds: [`e${w}-${i}`], correlation: 'object' });
    const row = (w: number): LedgerRow => ({ kind: 'ledger', day: day(w), key: 'k', principal: 'p', principalType: 'AssumedRole', account: '1', region: 'r', bucket: 'b', operation: 'Decrypt', path: 's3', count: 1, errors: 0, firstSeenMs: Date.parse(day(w)), lastSeenMs: Date.parse(day(w)), objects: [], objectsOverflow: false, eventIds: [], findings: 0 });
    await db.begin();
    // 280 writes of 50 accesses: every day written ten times, so most writes also merge with rows written before.
    for (let w = 0; w < 280; w++) await db.writeLedger({ rows: [row(w)], accesses: Array.from({ length: 50 }, (_, i) => access(w, i)) });
    await db.commit([], []);
    db.close();

    expect(await query(file, 'SELECT count(*) AS n, sum(calls) AS calls FROM object_access')).toEqual([{ n: String(28 * 50), calls: String(280 * 50) }]);
    expect(await query(file, 'SELECT count(*) AS n, sum(calls) AS calls FROM ledger')).toEqual([{ n: '28', calls: '280' }]);
  }, 60_000);

  it('knows a file noted earlier in the run, though it lets go of the names it loaded once it notes', async () => {
    const db = await openLedgerDatabase(join(work, 'noted.duckdb'));
    await db.begin();
    await db.noteFile('before.json.gz', 10, 1, BASE_TIME_MS);
    await db.commit([], []);
    await db.begin();

    expect(await db.hasFile('before.json.gz', 10)).toBe(true);
    expect(await db.hasFile('now.json.gz', 20)).toBe(false);
    await db.noteFile('now.json.gz', 20, 2, BASE_TIME_MS);
    expect(await db.hasFile('now.json.gz', 20)).toBe(true);
    expect(await db.hasFile('now.json.gz', 21)).toBe(false);
    expect(await db.hasFile('before.json.gz', 10)).toBe(true);
    await db.rollback();
    db.close();
  });

  it('holds a long transaction of wide rows within the default budget: 200,000 accesses with 1,000-character keys before one commit', async () => {
    // A replay commits every 50,000 ledger rows, or every state-size rows when its state is larger, so a large
    // state means many full writes between two commits. DuckDB must spill what the open transaction holds rather
    // than fail, with the longest object keys S3 allows (1,024 bytes).
    const file = join(work, 'long-wide.duckdb');
    const db = await openLedgerDatabase(file);
    const padding = 'k'.repeat(1_000);
    const day = (w: number): string => `2026-10-${String(1 + (w % 28)).padStart(2, '0')}`;
    const principal = (i: number): string => `arn:aws:sts::111122223333:assumed-role/ReportBuilder${i % 50}/session-${i % 7}`;
    const access = (w: number, i: number): ObjectAccess => ({ kind: 'object-access', day: day(w), key: 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab', principal: principal(i), bucket: 'reports', objectKey: `${padding}/${w}-${i}.pdf`, operation: 'GetObject', count: 1, firstSeenMs: Date.parse(day(w)), lastSeenMs: Date.parse(day(w)), sourceIps: ['198.51.100.1'], sessions: [], eventIds: [`${w}-${i}-0a1b2c3d-4e5f-6789-abcd-ef0123456789`], correlation: 'object' });
    const row = (w: number, i: number): LedgerRow => ({ kind: 'ledger', day: day(w), key: 'k', principal: principal(i), principalType: 'AssumedRole', account: '111122223333', region: 'us-east-1', bucket: 'reports', operation: 'Decrypt', path: 's3', count: 1, errors: 0, firstSeenMs: Date.parse(day(w)), lastSeenMs: Date.parse(day(w)), objects: [], objectsOverflow: false, eventIds: [], findings: 0 });
    await db.begin();
    for (let w = 0; w < 20; w++) await db.writeLedger({ rows: Array.from({ length: 350 }, (_, i) => row(w, i)), accesses: Array.from({ length: 10_000 }, (_, i) => access(w, i)) });
    await db.commit([], []);
    db.close();

    expect(await query(file, 'SELECT count(*) AS n, min(length(object_key)) AS shortest FROM object_access')).toEqual([{ n: '200000', shortest: '1008' }]);
    expect(await query(file, 'SELECT sum(calls) AS calls FROM ledger')).toEqual([{ calls: String(20 * 350) }]);
  }, 180_000);

  it('merges every repeat though it looks up only ids the file may hold: of days it held when opened, or written earlier in the run', async () => {
    const file = join(work, 'lookups.duckdb');
    const access = (day: string, objectKey: string, count: number): ObjectAccess => ({ kind: 'object-access', day, key: 'k', principal: 'p', bucket: 'b', objectKey, operation: 'GetObject', count, firstSeenMs: Date.parse(day), lastSeenMs: Date.parse(day) + count, sourceIps: [], sessions: [], eventIds: [], correlation: 'object' });
    const row = (day: string, count: number): LedgerRow => ({ kind: 'ledger', day, key: 'k', principal: 'p', principalType: 'AssumedRole', account: '1', region: 'r', bucket: 'b', operation: 'Decrypt', path: 's3', count, errors: 0, firstSeenMs: Date.parse(day), lastSeenMs: Date.parse(day), objects: [], objectsOverflow: false, eventIds: [], findings: 0 });
    const run = async (...writes: LedgerDelta[]): Promise<void> => {
      const db = await openLedgerDatabase(file);
      await db.begin();
      for (const delta of writes) await db.writeLedger(delta);
      await db.commit([], []);
      db.close();
    };

    await run({ rows: [row('2026-10-01', 1)], accesses: [access('2026-10-01', 'a', 1), access('2026-10-02', 'a', 1), access('2026-10-05', 'z', 1)] });
    // Repeats of stored days (one of them beside a new object), a new day, then that new day's repeat in a later write.
    await run(
      { rows: [row('2026-10-01', 2), row('2026-10-03', 1)], accesses: [access('2026-10-01', 'a', 2), access('2026-10-01', 'b', 1), access('2026-10-03', 'a', 1)] },
      { rows: [row('2026-10-03', 4)], accesses: [access('2026-10-02', 'a', 4), access('2026-10-03', 'a', 8), access('2026-10-04', 'a', 16)] },
    );

    expect(await query(file, 'SELECT day::VARCHAR AS day, object_key, calls FROM object_access ORDER BY day, object_key')).toEqual([
      { day: '2026-10-01', object_key: 'a', calls: '3' },
      { day: '2026-10-01', object_key: 'b', calls: '1' },
      { day: '2026-10-02', object_key: 'a', calls: '5' },
      { day: '2026-10-03', object_key: 'a', calls: '9' },
      { day: '2026-10-04', object_key: 'a', calls: '16' },
      { day: '2026-10-05', object_key: 'z', calls: '1' },
    ]);
    expect(await query(file, 'SELECT day::VARCHAR AS day, calls FROM ledger ORDER BY day')).toEqual([
      { day: '2026-10-01', calls: '3' },
      { day: '2026-10-03', calls: '5' },
    ]);
  });

  it('merges into a file an earlier version made, whose ledger and state tables have a PRIMARY KEY, across checkpoints and within one', async () => {
    const file = join(work, 'keyed.duckdb');
    const made = await DuckDBInstance.create(file);
    const setup = await made.connect();
    // The tables as kdm wrote them before they lost their key (the other tables are made by the open below).
    await setup.run(`CREATE TABLE ledger (id VARCHAR PRIMARY KEY, day DATE NOT NULL, key VARCHAR NOT NULL, key_alias VARCHAR, principal VARCHAR NOT NULL, principal_type VARCHAR,
      account VARCHAR, region VARCHAR, bucket VARCHAR, operation VARCHAR, path VARCHAR, calls BIGINT, errors BIGINT, first_seen TIMESTAMP, last_seen TIMESTAMP,
      objects VARCHAR[], objects_overflow BOOLEAN, event_ids VARCHAR[], findings BIGINT)`);
    await setup.run(`CREATE TABLE object_access (id VARCHAR PRIMARY KEY, day DATE NOT NULL, key VARCHAR NOT NULL, principal VARCHAR NOT NULL, bucket VARCHAR,
      object_key VARCHAR, operation VARCHAR, calls BIGINT, first_seen TIMESTAMP, last_seen TIMESTAMP, source_ips VARCHAR[], sessions VARCHAR[], event_ids VARCHAR[], correlation VARCHAR)`);
    await setup.run(`CREATE TABLE engine_state (k VARCHAR PRIMARY KEY, v VARCHAR)`);
    setup.closeSync();
    made.closeSync();
    const row = (count: number): LedgerRow => ({ kind: 'ledger', day: '2026-10-01', key: 'k', principal: 'p', principalType: 'AssumedRole', account: '1', region: 'r', bucket: '', operation: 'Decrypt', path: 'direct', count, errors: 0, firstSeenMs: BASE_TIME_MS, lastSeenMs: BASE_TIME_MS, objects: [], objectsOverflow: false, eventIds: [], findings: 0 });

    const notes: string[] = [];
    const db = await openLedgerDatabase(file, { onUpgrade: (note) => notes.push(note) });
    // Empty, its keyed tables are made again without the id (and the key on it) as the version's own would be.
    expect(notes).toEqual(['upgraded to schema 5: ledger (0 rows) and object_access (0 rows) kept, without their id column (a row\'s identity is its columns)']);
    await db.begin();
    const state = [['alias#1#alias/x', { kind: 'alias', keyArn: 'k' }]] as const;
    await db.writeLedger({ rows: [row(1)], accesses: [] });
    await db.checkpoint(state, []);
    // The same id deleted and inserted again twice in one transaction, on a keyed table.
    await db.writeLedger({ rows: [row(2)], accesses: [] });
    await db.writeLedger({ rows: [row(4)], accesses: [] });
    await db.commit(state, []);
    db.close();

    expect(await query(file, 'SELECT calls FROM ledger')).toEqual([{ calls: '7' }]);
    expect(await query(file, 'SELECT k FROM engine_state')).toEqual([{ k: 'alias#1#alias/x' }]);
    expect(await query(file, `SELECT count(*) AS n FROM duckdb_constraints() WHERE table_name IN ('ledger', 'object_access') AND constraint_type = 'PRIMARY KEY'`)).toEqual([{ n: '0' }]);
  });

  it('bounds DuckDB\'s memory for a replay (32 MiB, or --db-memory-mb) and, when a write needs more, names the budget to raise', async () => {
    const setting = async (db: Awaited<ReturnType<typeof openLedgerDatabase>>): Promise<unknown> =>
      (await db.connection.runAndReadAll(`SELECT current_setting('memory_limit') AS v`)).getRowObjectsJson()[0]?.v;
    const file = join(work, 'budget.duckdb');
    const writing = await openLedgerDatabase(file);
    expect(await setting(writing)).toBe('32.0 MiB');
    writing.close();
    const reading = await openLedgerDatabase(file, { readOnly: true });
    expect(await setting(reading)).toBe('128.0 MiB');
    reading.close();

    // 8 MiB is too little for any write: the run stops with an error that says what to change, and nothing of it stays.
    const starved = join(work, 'starved.duckdb');
    const quiet = { write: () => true } as unknown as NodeJS.WriteStream;
    const run = { paths: [SIM], summary: 'json', rules: ALL_RULES, config: DEFAULT_ENGINE_CONFIG, stdout: quiet, stderr: quiet, nowMs: () => Date.UTC(2027, 0, 1) } as const;
    const failure = await runReplay({ ...run, db: starved, dbMemoryMb: 8 }).then(() => undefined, (error: unknown) => error);
    expect(failure).toBeInstanceOf(DatabaseMemoryError);
    expect((failure as Error).message).toMatch(/starved\.duckdb: the database needed more than its 8 MiB memory budget while (writing ledger rows|committing)[^;]*; run again with a larger --db-memory-mb \(for example 32\)/);
    expect(String((failure as Error).cause)).toMatch(/Out of Memory|could not allocate|failed to pin/);
    expect(await query(starved, 'SELECT count(*) AS n FROM ledger')).toEqual([{ n: '0' }]);

    // The same command with the default budget then writes what a run that never failed writes.
    const reference = join(work, 'budget-reference.duckdb');
    await runReplay({ ...run, db: reference });
    await runReplay({ ...run, db: starved });
    const ledger = (db: string) => query(db, `SELECT ${IDENTITY.ledger}, calls, errors, first_seen, last_seen, findings FROM ledger ORDER BY ALL`);
    expect(await ledger(starved)).toEqual(await ledger(reference));

    // From the command line: the option is checked before anything is opened.
    const tooSmall = runKdm(['replay', EVENTS, '--db', join(work, 'never.duckdb'), '--db-memory-mb', '8']);
    expect(tooSmall.status).toBe(1);
    expect(tooSmall.stderr).toMatch(/--db-memory-mb must be a whole number of MiB, at least 32 \(got "8"\)/);
    expect(runKdm(['replay', EVENTS, '--db-memory-mb', '64']).stderr).toMatch(/--db-memory-mb goes with --db/);
    expect(existsSync(join(work, 'never.duckdb'))).toBe(false);
    const roomy = runKdm(['replay', EVENTS, '--db', join(work, 'roomy.duckdb'), '--db-memory-mb', '256', '--summary', 'json']);
    expect(roomy.status).toBe(0);
  });

  it('takes a whole write of wide rows within the default budget: 15,000 objects with 1,000-character keys', async () => {
    // The replay hands DuckDB up to 10,000 object accesses at a time; the default budget must take them with the
    // longest object keys S3 allows (1,024 bytes), not only with the simulation's short ones. (The default, 32 MiB,
    // does; 24 MiB, or 32 MiB with 20,000 accesses a write, does not.)
    const dir = join(work, 'wide');
    mkdirSync(dir, { recursive: true });
    const padding = 'k'.repeat(1_000);
    // As a trail delivers them: a file every 10 minutes of 300 calls.
    for (let f = 0; f < 50; f++) {
      const records = Array.from({ length: 300 }, (_, i) => kmsRecord({ s3Arn: `arn:aws:s3:::reports/${padding}/${f}-${i}.pdf`, atMs: BASE_TIME_MS + minutes(10 * f) + i * 2_000 }));
      writeFileSync(join(dir, `111122223333_CloudTrail_us-east-1_20261001T0000Z_wide${String(f).padStart(2, '0')}.json`), JSON.stringify({ Records: records }));
    }
    const file = join(work, 'wide.duckdb');
    const quiet = { write: () => true } as unknown as NodeJS.WriteStream;
    let told = '';
    const stderr = { write: (s: string) => { told += s; return true; } } as unknown as NodeJS.WriteStream;
    const { summaryJson } = await runReplay({ paths: [dir], summary: 'json', rules: ALL_RULES, config: DEFAULT_ENGINE_CONFIG, stdout: quiet, stderr, nowMs: () => Date.UTC(2027, 0, 1), db: file });

    // Calls of the last lateness window wait in the database for their S3 request; every other one is a row.
    const decided = (summaryJson['correlation'] as { none: number }).none;
    expect(decided).toBeGreaterThan(10_000);
    expect(told).toContain(`kdm: ${(15_000 - decided).toLocaleString('en-US')} S3-made KMS calls from the last 15 minutes wait in ${file} for their S3 request; the next replay into it decides them\n`);
    expect(await query(file, 'SELECT count(*) AS n, min(length(object_key)) AS shortest FROM object_access')).toEqual([{ n: String(decided), shortest: '1008' }]);
  }, 120_000);

  it('rolls back quietly a transaction DuckDB has ended itself (a COMMIT that failed), so the run\'s own error is the one told', async () => {
    const db = await openLedgerDatabase(join(work, 'ended.duckdb'));
    await db.begin();
    await db.connection.run('COMMIT');

    await expect(db.rollback()).resolves.toBeUndefined();
    db.close();
  });
});

describe('kdm history', () => {
  const db = join(work, 'history.duckdb');
  beforeAll(() => {
    const dir = join(work, 'hostile');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'hostile.json'), JSON.stringify({ Records: hostileRecords() }));
    expect(runKdm(['replay', EVENTS, dir, '--db', db]).status).toBe(0);
  });

  it('filters by key alias, principal pattern, object prefix and time, and groups', () => {
    const byAlias = json<{ principal: string; calls: number }[]>(['history', '--db', db, '--key', 'alias/app-data', '--group-by', 'principal', '--format', 'json']);
    const etl = json<{ principal: string }[]>(['history', '--db', db, '--principal', '*:role/Report*', '--format', 'json']);
    const q3 = json<{ object_key: string }[]>(['history', '--db', db, '--prefix', 'q3/', '--format', 'json']);
    const late = json<{ last_seen: string }[]>(['history', '--db', db, '--from', '2026-10-01T12:00:00Z', '--format', 'json']);

    expect(byAlias.length).toBeGreaterThan(2);
    expect(etl.length).toBeGreaterThan(0);
    for (const r of etl) expect(r.principal).toMatch(/:role\/Report/);
    expect(q3.map((r) => r.object_key).sort()).toEqual(['q3/appendix.pdf', 'q3/board-pack.pdf', 'q3/board-pack.pdf']);
    expect(late.length).toBeGreaterThan(0);
    // As Date.toISOString writes them, milliseconds always there, so that they sort as text.
    for (const r of late) expect(r.last_seen).toBe(new Date(Date.parse(r.last_seen)).toISOString());
    for (const r of late) expect(Date.parse(r.last_seen)).toBeGreaterThanOrEqual(Date.parse('2026-10-01T12:00:00Z'));
  });

  it('says when an alias names keys of several accounts, lists them, and selects all of them; an ARN, one', () => {
    const keys = [`arn:aws:kms:us-east-1:${ACCOUNT}:key/5a5a5a5a-0000-4000-8000-000000000001`, `arn:aws:kms:us-east-1:${OTHER_ACCOUNT}:key/5a5a5a5a-0000-4000-8000-000000000002`];
    const records = keys.map((keyArn, i) =>
      kmsRecord({ who: { role: 'Shared', account: i === 0 ? ACCOUNT : OTHER_ACCOUNT }, keyArn, keyId: 'alias/shared-data', recipientAccountId: i === 0 ? ACCOUNT : OTHER_ACCOUNT, atMs: BASE_TIME_MS + minutes(i) }));
    const dir = join(work, 'shared-alias');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'shared.json'), JSON.stringify({ Records: records }));
    const file = join(work, 'shared-alias.duckdb');
    expect(runKdm(['replay', dir, '--db', file]).status).toBe(0);

    for (const alias of ['alias/shared-data', 'shared-data']) {
      const run = runKdm(['history', '--db', file, '--key', alias, '--group-by', 'key', '--format', 'json']);
      expect(run.status).toBe(0);
      expect((JSON.parse(run.stdout) as { key: string }[]).map((r) => r.key).sort()).toEqual(keys);
      expect(run.stderr).toBe(`kdm: note: alias/shared-data names 2 keys in this ledger, and all are selected: ${keys.join(', ')} (give one's ARN as --key for it alone)\n`);
    }
    const one = runKdm(['history', '--db', file, '--key', keys[1] as string, '--group-by', 'key', '--format', 'json']);
    expect((JSON.parse(one.stdout) as { key: string }[]).map((r) => r.key)).toEqual([keys[1]]);
    expect(one.stderr).toBe('');
    expect(runKdm(['history', '--db', db, '--key', 'alias/app-data', '--format', 'json']).stderr).toBe('');
    const report = runKdm(['report', '--db', file, '--key', 'shared-data', '--html', join(work, 'shared-alias.html')]);
    expect(report.status).toBe(0);
    expect(report.stderr).toContain('kdm: note: alias/shared-data names 2 keys in this ledger');
  });

  it('lists, by the command the runbook of s3-put-without-required-kms gives, the object the sample day\'s ransomware had S3 encrypt under its key', () => {
    const outsiderKey = 'arn:aws:kms:us-east-1:777788889999:key/4d5e6f70-8192-4a3b-9c4d-5e6f70819201';
    const hostages = json<{ bucket: string; object_key: string; calls: number; source_ips: string[] }[]>(['history', '--db', db, '--key', outsiderKey, '--group-by', 'object', '--format', 'json']);

    expect(hostages).toEqual([expect.objectContaining({ bucket: 'example-finance-reports', object_key: 'q4/forecast-v2.xlsx', calls: 1, source_ips: ['10.20.30.40'] })]);
  });

  it('lists, by the command the runbook of kms-data-under-foreign-key gives, the ciphertext the sample day\'s ransomware re-encrypted under its key', () => {
    const sandbox = 'arn:aws:iam::111122223333:role/ContractorSandbox';
    const outsiderKey = 'arn:aws:kms:us-east-1:777788889999:key/4d5e6f70-8192-4a3b-9c4d-5e6f70819201';
    const appKey = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    type Row = { key: string; principal: string; operation: string; destination_key: string; calls: number };
    const underOutsiderKey = json<Row[]>(['history', '--db', db, '--key', outsiderKey, '--principal', sandbox, '--format', 'json']);
    const underAppKey = json<Row[]>(['history', '--db', db, '--key', 'alias/app-data', '--principal', sandbox, '--operation', 'ReEncrypt', '--format', 'json']);
    const total = (args: readonly string[]) => json<{ calls: number }[]>(['history', '--db', db, '--group-by', 'operation', '--operation', 'ReEncrypt', '--format', 'json', ...args])[0]?.calls;

    // One row, under the key it decrypted with and naming the one it encrypted under: either key selects it.
    const row = [appKey, sandbox, 'ReEncrypt', outsiderKey, 1];
    expect(underOutsiderKey.map((r) => [r.key, r.principal, r.operation, r.destination_key, r.calls])).toEqual([row]);
    expect(underAppKey.map((r) => [r.key, r.principal, r.operation, r.destination_key, r.calls])).toEqual([row]);
    // No total counts it twice: the sample's two ReEncrypts, the payments app's under its own key and this one.
    expect(total([])).toBe(2);
  });

  it('lists the objects a writer of another account had S3 encrypt under a key the bucket owner does not hold, whose KMS calls this trail never sees', () => {
    const dir = join(work, 'partner-writes');
    const db = join(work, 'partner-writes.duckdb');
    const theirKey = `arn:aws:kms:us-east-1:${OTHER_ACCOUNT}:key/3f1c0000-0000-4000-8000-0000000000ff`;
    const partner = { role: 'Uploader', session: 'up-1', account: OTHER_ACCOUNT } as const;
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'writes.json'), JSON.stringify({
      Records: ['in/a.csv', 'in/b.csv'].map((key, i) => s3Record({ eventName: 'PutObject', who: partner, bucket: 'reports', key, sourceIp: '192.0.2.60', sseApplied: 'SSE_KMS', appliedKmsKeyId: theirKey, eventId: `w${i}`, atMs: BASE_TIME_MS + i * 1_000 })),
    }));
    expect(runKdm(['replay', dir, '--db', db]).status).toBe(0);

    const hostages = json<{ object_key: string; calls: number; source_ips: string[] }[]>(['history', '--db', db, '--key', theirKey, '--group-by', 'object', '--format', 'json']);
    const records = json<{ principal: string; operation: string; correlation: string }[]>(['history', '--db', db, '--prefix', 'in/', '--format', 'json']);

    expect(hostages.map((h) => [h.object_key, h.calls, h.source_ips])).toEqual([['in/a.csv', 1, ['192.0.2.60']], ['in/b.csv', 1, ['192.0.2.60']]]);
    expect(records.map((r) => [r.principal, r.operation, r.correlation])).toEqual([
      [`arn:aws:iam::${OTHER_ACCOUNT}:role/Uploader`, 'PutObject', 'data-event'],
      [`arn:aws:iam::${OTHER_ACCOUNT}:role/Uploader`, 'PutObject', 'data-event'],
    ]);
    // The report lists them apart: the key sections count KMS calls, and this trail has none of theirs.
    const page = join(work, 'partner-writes.html');
    expect(runKdm(['report', '--db', db, '--html', page]).status).toBe(0);
    // Without --title, the page is named for what it covers, every use of the keys, not decryptions alone.
    expect(readFileSync(page, 'utf8')).toContain('<h1>KMS key use report</h1>');
    const section = readFileSync(page, 'utf8').match(/<section id="foreign-key-writes">.*?<\/section>/s)?.[0] ?? '';
    for (const text of ['s3://reports/in/a.csv', 's3://reports/in/b.csv', theirKey]) expect(section).toContain(text);
  });

  it('relates one principal\'s findings of two replays into the database, hours apart, and the report links each to the other', () => {
    const theirKey = `arn:aws:kms:us-east-1:${OTHER_ACCOUNT}:key/3f1c0000-0000-4000-8000-0000000000ff`;
    const who = { role: 'BuildAgent', session: 'stolen' } as const;
    const [morning, evening] = [join(work, 'principal-morning'), join(work, 'principal-evening')];
    mkdirSync(morning, { recursive: true });
    mkdirSync(evening, { recursive: true });
    writeFileSync(join(morning, 'a.json'), JSON.stringify({ Records: [kmsRecord({ who, eventName: 'ReEncrypt', requestParameters: { destinationKeyId: theirKey, destinationEncryptionAlgorithm: 'SYMMETRIC_DEFAULT' } })] }));
    writeFileSync(join(evening, 'b.json'), JSON.stringify({ Records: [kmsRecord({ who, atMs: BASE_TIME_MS + 6 * 3_600_000, eventName: 'ScheduleKeyDeletion', requestParameters: { keyId: KEY_ARN, pendingWindowInDays: 7 } })] }));
    const db = join(work, 'principal-findings.duckdb');
    expect(runKdm(['replay', morning, '--db', db]).status).toBe(0);
    const later = runKdm(['replay', evening, '--db', db, '--findings', '-']);
    expect(later.status).toBe(0);
    // The evening's replay sends both: the new finding, and the morning's naming it back.
    const sent = later.stdout.trim().split('\n').map((l) => JSON.parse(l) as { GeneratorId: string; Description: string; RelatedFindings?: { Id: string }[] });
    expect(sent.map((f) => [f.GeneratorId, f.RelatedFindings?.length]).sort()).toEqual([['kms-decrypt-monitor/kms-data-under-foreign-key', 1], ['kms-decrypt-monitor/kms-key-lifecycle', 1]].sort());

    const page = join(work, 'principal-findings.html');
    expect(runKdm(['report', '--db', db, '--html', page]).status).toBe(0);
    const linked = [...readFileSync(page, 'utf8').matchAll(/<td>Its principal, within a day<\/td><td>(.*?)<\/td>/g)].map((m) => (m[1] ?? '').replace(/<[^>]+>/g, ''));
    expect(linked.sort()).toEqual(['kms-data-under-foreign-key', 'kms-key-lifecycle']);
  });

  it('counts such a write once when the writer\'s trail is replayed too, in the same run or a later one', () => {
    const theirKey = `arn:aws:kms:us-east-1:${OTHER_ACCOUNT}:key/3f1c0000-0000-4000-8000-0000000000ff`;
    const partner = { role: 'Uploader', session: 'up-1', account: OTHER_ACCOUNT } as const;
    // Each write's two copies (one sharedEventID) and the KMS call S3 made for it, in the writer's trail only.
    const copy = (key: string, i: number, recipient: string) => ({
      ...s3Record({ eventName: 'PutObject', who: partner, bucket: 'reports', key, sourceIp: '192.0.2.60', sseApplied: 'SSE_KMS', appliedKmsKeyId: theirKey, eventId: `${recipient}-${i}`, atMs: BASE_TIME_MS + i * 1_000 }),
      recipientAccountId: recipient, sharedEventID: `put-${i}`,
    });
    const objects = ['in/a.csv', 'in/b.csv'];
    const ownerTrail = objects.map((key, i) => copy(key, i, ACCOUNT));
    const writerTrail = objects.flatMap((key, i) => [
      copy(key, i, OTHER_ACCOUNT),
      kmsRecord({ eventName: 'GenerateDataKey', who: partner, keyArn: theirKey, s3Arn: `arn:aws:s3:::reports/${key}`, recipientAccountId: OTHER_ACCOUNT, atMs: BASE_TIME_MS + i * 1_000 + 30 }),
    ]);
    const oneRun = join(work, 'org-one-run');
    mkdirSync(oneRun, { recursive: true });
    writeFileSync(join(oneRun, 'a-owner.json'), JSON.stringify({ Records: ownerTrail }));
    writeFileSync(join(oneRun, 'b-writer.json'), JSON.stringify({ Records: writerTrail }));
    const [owner, writer] = [join(work, 'org-owner'), join(work, 'org-writer')];
    mkdirSync(owner, { recursive: true });
    mkdirSync(writer, { recursive: true });
    writeFileSync(join(owner, 'owner.json'), JSON.stringify({ Records: ownerTrail }));
    writeFileSync(join(writer, 'writer.json'), JSON.stringify({ Records: writerTrail }));
    const [oneDb, twoDb] = [join(work, 'org-one-run.duckdb'), join(work, 'org-two-runs.duckdb')];
    expect(runKdm(['replay', oneRun, '--db', oneDb]).status).toBe(0);
    expect(runKdm(['replay', owner, '--db', twoDb]).status).toBe(0);
    expect(runKdm(['replay', writer, '--db', twoDb]).status).toBe(0);

    for (const db of [oneDb, twoDb]) {
      const writes = json<{ object_key: string; operation: string; calls: number; correlation: string }[]>(['history', '--db', db, '--key', theirKey, '--prefix', 'in/', '--format', 'json']);
      const calls = json<{ calls: number }[]>(['history', '--db', db, '--key', theirKey, '--format', 'json', '--group-by', 'principal']);

      expect(writes.map((w) => [w.object_key, w.operation, w.calls, w.correlation]).sort(), db).toEqual([['in/a.csv', 'PutObject', 1, 'object'], ['in/b.csv', 'PutObject', 1, 'object']]);
      expect(calls.map((c) => c.calls), db).toEqual([2]);
    }
  });

  it('selects object records by the account their principal names, not by the account id appearing anywhere in it', () => {
    // Both roles open objects of one bucket; the first is named after the account of the second.
    const dir = join(work, 'accounts');
    const db = join(work, 'accounts.duckdb');
    mkdirSync(dir, { recursive: true });
    const callers = [{ role: `deploy-from-${OTHER_ACCOUNT}`, account: ACCOUNT, object: 'first.csv' }, { role: 'Reader', account: OTHER_ACCOUNT, object: 'second.csv' }];
    const records = callers.flatMap(({ role, account, object }, i) => [
      kmsRecord({ who: { role, account }, s3Arn: `arn:aws:s3:::shared/${object}`, atMs: BASE_TIME_MS + minutes(i) }),
      s3Record({ who: { role, account }, bucket: 'shared', key: object, atMs: BASE_TIME_MS + minutes(i) }),
    ]);
    writeFileSync(join(dir, 'accounts.json'), JSON.stringify({ Records: records }));
    expect(runKdm(['replay', dir, '--db', db]).status).toBe(0);
    const selected = (account: string, groupBy: string) =>
      json<Record<string, unknown>[]>(['history', '--db', db, '--account', account, '--group-by', groupBy, '--format', 'json']);

    for (const [account, object] of [[ACCOUNT, 'first.csv'], [OTHER_ACCOUNT, 'second.csv']] as const) {
      expect(selected(account, 'object').map((r) => r['object_key'])).toEqual([object]);
      // The ledger's rows, which keep the account, select the same caller.
      expect(selected(account, 'principal').map((r) => r['principal'])).toEqual([expect.stringContaining(`::${account}:role/`)]);
    }
    expect(selected('999999999999', 'object')).toEqual([]);
  });

  it('groups by every --group-by given, matches an operation in any case, and says when a time bound selects whole days', () => {
    const repeated = json<Record<string, unknown>[]>(['history', '--db', db, '--group-by', 'principal', '--group-by', 'day,principal', '--format', 'json']);
    const joined = json<Record<string, unknown>[]>(['history', '--db', db, '--group-by', 'principal,day', '--format', 'json']);
    expect(repeated.length).toBeGreaterThan(1);
    expect(repeated).toEqual(joined);
    expect(Object.keys(repeated[0] ?? {}).slice(0, 2)).toEqual(['principal', 'day']);

    const typed = json<Record<string, unknown>[]>(['history', '--db', db, '--operation', 'decrypt', '--format', 'json']);
    expect(typed.length).toBeGreaterThan(0);
    expect(typed).toEqual(json(['history', '--db', db, '--operation', 'Decrypt', '--format', 'json']));

    // The ledger's rows are days: a bound inside one cannot split a row's counts, and the user is told so.
    const withinDay = runKdm(['history', '--db', db, '--from', '2026-10-01T10:00:00Z', '--to', '2026-10-01T11:00:00Z', '--format', 'json']);
    expect(withinDay.status).toBe(0);
    expect(withinDay.stderr).toBe("kdm: note: the ledger counts calls by day: a --from or --to inside a day selects the rows whose first to last call of the day meet the range, with the whole day's counts\n");
    const report = runKdm(['report', '--db', db, '--html', join(work, 'within-day.html'), '--to', '2026-10-01T11:00:00Z']);
    expect(report.status).toBe(0);
    expect(report.stderr).toMatch(/^kdm: note: the ledger counts calls by day/);
    expect(runKdm(['history', '--db', db, '--from', '2026-10-01', '--to', '2026-10-01', '--format', 'json']).stderr).toBe('');
  });

  it('exports counts as JSON numbers, grouped or not', () => {
    const byKey = json<Record<string, unknown>[]>(['history', '--db', db, '--group-by', 'key', '--format', 'json']);
    const rows = json<Record<string, unknown>[]>(['history', '--db', db, '--format', 'json']);
    expect(byKey.length).toBeGreaterThan(0);
    expect(rows.length).toBeGreaterThan(0);
    for (const r of byKey) for (const count of ['calls', 'errors', 'principals', 'keys', 'objects', 'findings']) expect(typeof r[count], count).toBe('number');
    for (const r of rows) for (const count of ['calls', 'errors', 'findings']) expect(typeof r[count], count).toBe('number');
    expect(byKey.reduce((n, r) => n + (r['calls'] as number), 0)).toBe(rows.reduce((n, r) => n + (r['calls'] as number), 0));
  });

  it('writes CSV whose cells cannot run as spreadsheet formulas', () => {
    const csv = runKdm(['history', '--db', db, '--group-by', 'object', '--format', 'csv']).stdout;

    expect(csv.split('\n')[0]).toBe('bucket,object_key,calls,principals,first_seen,last_seen,source_ips');
    expect(csv).toContain(`reports,"'=HYPERLINK(""http://evil"")"`);
    expect(csv).not.toMatch(/(^|,)=HYPERLINK/m);
  });

  it('exports Parquet that DuckDB reads back', async () => {
    const out = join(work, 'history.parquet');
    const run = runKdm(['history', '--db', db, '--group-by', 'key,day', '--format', 'parquet', '--out', out]);
    const rows = await query<{ n: string }>(':memory:', `SELECT count(*) AS n, sum(calls) AS calls FROM read_parquet('${out}')`);

    expect(run.status).toBe(0);
    expect(Number(rows[0]?.n)).toBeGreaterThan(0);
  });

  it('says what is wrong with bad arguments or a file that is not a kdm database', () => {
    const notDb = join(work, 'not-a-db.duckdb');
    writeFileSync(notDb, 'hello');

    expect(runKdm(['history']).stderr).toMatch(/history needs --db <file>/);
    expect(runKdm(['history', '--db', db, '--group-by', 'colour']).stderr).toMatch(/--group-by takes principal, key/);
    expect(runKdm(['history', '--db', db, '--from', 'yesterday']).stderr).toMatch(/--from must be YYYY-MM-DD/);
    // Date.parse reads February 30th as March 2nd: a compliance query would cover days nobody asked for.
    expect(runKdm(['history', '--db', db, '--from', '2026-02-30']).stderr).toBe('kdm: --from is not a date: "2026-02-30"\n');
    expect(runKdm(['history', '--db', db, '--to', '2026-09-31T12:00:00Z']).stderr).toMatch(/--to must be YYYY-MM-DD or an RFC 3339 time/);
    expect(runKdm(['history', '--db', notDb]).stderr).toMatch(/not-a-db\.duckdb: /);
    expect(runKdm(['history', '--db', db, '--format', 'parquet']).stderr).toMatch(/needs --out/);
    // Before reading any log: a findings file that cannot be written.
    const unwritable = runKdm(['replay', EVENTS, '--findings', join(work, 'no-such-dir', 'findings.jsonl')]);
    expect(unwritable.status).toBe(1);
    expect(unwritable.stderr).toMatch(/kdm: cannot write findings to .*no-such-dir.findings\.jsonl: the directory .*no-such-dir does not exist\n/);
    expect(unwritable.stderr).not.toMatch(/partial/);
    const intoDirectory = runKdm(['replay', EVENTS, '--findings', work]);
    expect(intoDirectory.status).toBe(1);
    expect(intoDirectory.stderr).toBe(`kdm: cannot write findings to ${work}: it is a directory\n`);
    expect(unwritable.stderr).not.toMatch(/^\s+at /m);
    expect(unwritable.stderr).not.toMatch(/records/);
  });
});

describe('writing an output file', () => {
  it('names the file that cannot be written and why, before the query when it can tell, as a usage error (exit 1)', () => {
    const db = join(work, 'outputs.duckdb');
    json(['replay', EVENTS, '--db', db, '--summary', 'json']);
    const noDir = join(work, 'no-such-output-dir');
    const aFile = join(work, 'an-output-file');
    writeFileSync(aFile, 'in the way');
    const cases: [readonly string[], RegExp][] = [
      [['history', '--db', db, '--format', 'csv', '--out', join(noDir, 'h.csv')], /cannot write the history to \S*h\.csv: the directory \S*no-such-output-dir does not exist/],
      [['history', '--db', db, '--format', 'parquet', '--out', join(noDir, 'h.parquet')], /cannot write the history to \S*h\.parquet: the directory \S*no-such-output-dir does not exist/],
      [['history', '--db', db, '--format', 'json', '--out', work], /cannot write the history to \S*: it is a directory/],
      [['report', '--db', db, '--html', join(noDir, 'r.html')], /cannot write the report to \S*r\.html: the directory \S*no-such-output-dir does not exist/],
      // Past the check (the parent exists, as a file): the write itself fails, and is told the same way.
      [['history', '--db', db, '--format', 'csv', '--out', join(aFile, 'h.csv')], /cannot write the history to \S*h\.csv: ENOTDIR/],
      [['history', '--db', db, '--format', 'parquet', '--out', join(aFile, 'h.parquet')], /cannot write the history to \S*h\.parquet: IO Error/],
      [['report', '--db', db, '--html', join(aFile, 'r.html')], /cannot write the report to \S*r\.html: ENOTDIR/],
    ];
    for (const [args, message] of cases) {
      const run = runKdm(args);
      expect(run.status, args.join(' ')).toBe(1);
      expect(run.stderr).toMatch(message);
      expect(run.stderr).not.toMatch(/unexpected error/);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
    }
  });
});

describe('interrupting a replay into a database', () => {
  /**
   * `kdm replay <logs> - ...` with standard input held open, so it keeps running; resolves once it has reported
   * the non-log file in `logs` (past its start, its signal handlers set), with the signal sender and the outcome.
   */
  const startHeldReplay = async (logs: string, args: readonly string[]) => {
    writeFileSync(join(logs, 'notes.txt'), 'not a log');
    const child = spawn(process.execPath, [KDM, 'replay', logs, '-', ...args], { cwd: REPO });
    let stderr = '';
    const started = new Promise<void>((resolve) =>
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (stderr.includes('not a CloudTrail file name')) resolve();
      }),
    );
    const ended = new Promise<{ status: number | null; stderr: string }>((resolve) => child.on('close', (status) => resolve({ status, stderr })));
    await started;
    return { kill: (signal: NodeJS.Signals) => child.kill(signal), ended };
  };

  it.each([['SIGINT', 130], ['SIGTERM', 143]] as const)('on %s says what the file keeps and how to go on, and leaves it readable', async (signal, status) => {
    const dir = join(work, `interrupt-${signal}`);
    mkdirSync(dir, { recursive: true });
    const db = join(dir, 'ledger.duckdb');
    const replay = await startHeldReplay(dir, ['--db', db]);
    replay.kill(signal);
    const { status: exited, stderr } = await replay.ended;

    expect(exited).toBe(status);
    expect(stderr).toContain(`kdm: interrupted (${signal}): ${db} holds nothing of this run yet (no checkpoint was made); run the same command again to continue from there\n`);
    expect(runKdm(['history', '--db', db]).stdout).toBe('(no matching decrypt history)\n');
  });

  it('without a database, leaves the findings file as it was and no partial file beside it', async () => {
    const dir = join(work, 'interrupt-findings');
    mkdirSync(join(dir, 'logs'), { recursive: true });
    // Beside the logs: a .jsonl file among them would be one to read, and refused as the findings' path.
    const findings = join(dir, 'findings.jsonl');
    writeFileSync(findings, 'from an earlier run\n');
    const replay = await startHeldReplay(join(dir, 'logs'), ['--findings', findings]);
    expect(readdirSync(dir).some((f) => f.startsWith('findings.jsonl.partial-'))).toBe(true);
    replay.kill('SIGINT');
    const { status, stderr } = await replay.ended;

    expect(status).toBe(130);
    expect(stderr).toContain(`kdm: interrupted (SIGINT); ${findings} was left as it was\n`);
    expect(readFileSync(findings, 'utf8')).toBe('from an earlier run\n');
    expect(readdirSync(dir).sort()).toEqual(['findings.jsonl', 'logs']);
  });
});

describe('an output file that is what the command reads', () => {
  it('refuses to write a report, a history or findings over the database, by any name, or findings over a log being read, and leaves them whole', () => {
    const dir = join(work, 'onto-db');
    mkdirSync(dir, { recursive: true });
    const db = join(dir, 'ledger.duckdb');
    json(['replay', EVENTS, '--db', db, '--summary', 'json']);
    const before = readFileSync(db);
    const link = join(dir, 'link.duckdb');
    symlinkSync(db, link);
    const roundabout = join(dir, '..', 'onto-db', 'ledger.duckdb');

    const cases: [readonly string[], string][] = [
      [['report', '--db', db, '--html', db], `kdm: cannot write the report to ${db}: it is the database (--db ${db}); choose another file\n`],
      [['report', '--db', link, '--html', roundabout], `kdm: cannot write the report to ${roundabout}: it is the database (--db ${link}); choose another file\n`],
      [['history', '--db', db, '--format', 'csv', '--out', link], `kdm: cannot write the history to ${link}: it is the database (--db ${db}); choose another file\n`],
      [['history', '--db', db, '--format', 'csv', '--out', `${db}.wal`], `kdm: cannot write the history to ${db}.wal: it is the database's log (${db}.wal); choose another file\n`],
      [['replay', EVENTS, '--db', db, '--findings', db], `kdm: cannot write findings to ${db}: it is the database (--db ${db}); choose another file\n`],
    ];
    for (const [args, message] of cases) {
      const run = runKdm(args);
      expect(run.status, args.join(' ')).toBe(1);
      expect(run.stderr).toBe(message);
    }
    expect(readFileSync(db).equals(before)).toBe(true);
    // Nor over a log file the replay reads: the findings would replace the evidence they came from.
    const log = join(dir, 'log.json');
    writeFileSync(log, readFileSync(join(REPO, 'events', 'eventbridge', 'kms-decrypt.json')));
    const logBefore = readFileSync(log);
    const ontoLog = runKdm(['replay', dir, '--findings', log]);
    expect(ontoLog.status).toBe(1);
    expect(ontoLog.stderr).toContain(`kdm: cannot write findings to ${log}: it is a log file this replay reads (${log}); choose another file\n`);
    expect(readFileSync(log).equals(logBefore)).toBe(true);
    expect(readdirSync(dir).filter((f) => f.includes('partial'))).toEqual([]);
    // A new database and a findings file of the same new name: the replay would have renamed its findings onto it.
    const fresh = join(dir, 'fresh.duckdb');
    expect(runKdm(['replay', EVENTS, '--db', fresh, '--findings', fresh]).stderr).toBe(`kdm: cannot write findings to ${fresh}: it is the database (--db ${fresh}); choose another file\n`);
    expect(existsSync(fresh)).toBe(false);
  });
});

describe('opening a database file', () => {
  it('tells a missing file, a missing directory and a directory from a damaged database, and creates nothing while reading', () => {
    const missing = join(work, 'no-such.duckdb');
    for (const args of [['history', '--db', missing], ['report', '--db', missing, '--html', join(work, 'never.html')]]) {
      const run = runKdm(args);
      expect(run.status).toBe(1);
      expect(run.stderr).toContain('no-such.duckdb: no such database file: make one with `kdm replay <logs> --db <file>`');
      expect(run.stderr).not.toMatch(/damaged/);
    }
    expect(existsSync(missing)).toBe(false);

    const inMissingDirectory = runKdm(['replay', EVENTS, '--db', join(work, 'no-such-dir', 'kdm.duckdb')]);
    expect(inMissingDirectory.status).toBe(1);
    expect(inMissingDirectory.stderr).toMatch(/kdm\.duckdb: cannot create the database: the directory \S*no-such-dir does not exist/);
    expect(inMissingDirectory.stderr).not.toMatch(/damaged/);

    const underAFile = join(work, 'plain-file');
    writeFileSync(underAFile, 'not a directory');
    const underAFileRun = runKdm(['replay', EVENTS, '--db', join(underAFile, 'kdm.duckdb')]);
    expect(underAFileRun.stderr).toMatch(/kdm\.duckdb: cannot open the database: .*Not a directory/);
    expect(underAFileRun.stderr).not.toMatch(/damaged/);

    const directory = join(work, 'a-directory.duckdb');
    mkdirSync(directory);
    for (const args of [['replay', EVENTS, '--db', directory], ['history', '--db', directory]]) {
      const run = runKdm(args);
      expect(run.status).toBe(1);
      expect(run.stderr).toContain('a-directory.duckdb: is a directory, not a database file');
    }

    const notDb = join(work, 'text-file.duckdb');
    writeFileSync(notDb, 'hello');
    expect(runKdm(['history', '--db', notDb]).stderr).toMatch(/text-file\.duckdb: not a kdm database or damaged: /);
  });
});

describe('kdm report --html', () => {
  const db = join(work, 'report.duckdb');
  const page = join(work, 'report.html');
  beforeAll(() => {
    const dir = join(work, 'hostile-report');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'hostile.json'), JSON.stringify({ Records: hostileRecords() }));
    for (const input of [EVENTS, SIM, dir]) expect(runKdm(['replay', input, '--db', db]).status).toBe(0);
    const run = runKdm(['report', '--db', db, '--html', page, '--title', 'Q4 <b>review</b>']);
    if (run.status !== 0) throw new Error(run.stderr);
  }, 120_000);

  it('refuses the history options it would otherwise ignore', () => {
    const run = runKdm(['report', '--db', db, '--html', join(work, 'ignored.html'), '--format', 'csv', '--group-by', 'day']);
    expect(run.status).toBe(1);
    expect(run.stderr).toBe('kdm: report does not take --group-by, --format (kdm history does); the report is one HTML page (--html)\n');
    expect(existsSync(join(work, 'ignored.html'))).toBe(false);
    expect(runKdm(['report', '--db', db, '--html', join(work, 'ignored.html'), '--limit=3']).stderr).toMatch(/^kdm: report does not take --limit /);
    // Told before history's own checks, which would ask for an --out the report has no use for.
    expect(runKdm(['report', '--db', db, '--html', join(work, 'ignored.html'), '--format', 'parquet']).stderr).toMatch(/^kdm: report does not take --format /);
  });

  it('refuses the history filters that would select some of its sections and not the others (--prefix crashed it on the ledger table)', () => {
    const prefix = runKdm(['report', '--db', db, '--html', join(work, 'ignored.html'), '--prefix', 'q3/']);
    expect(prefix.status).toBe(1);
    expect(prefix.stderr).toBe('kdm: report does not take --prefix: it would filter some of the page\'s sections and not the others; kdm history takes it (kdm history --help)\n');
    const two = runKdm(['report', '--db', db, '--html', join(work, 'ignored.html'), '--path', 'direct', '--operation', 'Decrypt']);
    expect(two.stderr).toBe('kdm: report does not take --path, --operation: they would filter some of the page\'s sections and not the others; kdm history takes them (kdm history --help)\n');
    expect(existsSync(join(work, 'ignored.html'))).toBe(false);
  });

  it('selects findings by key as it selects calls: by alias or key id too, not only by ARN', async () => {
    const [aliased] = await query<{ key: string; alias: string }>(db, `SELECT key, key_alias AS alias FROM ledger WHERE key_alias IS NOT NULL GROUP BY ALL ORDER BY count(*) DESC LIMIT 1`);
    if (aliased === undefined) throw new Error('no aliased key in the ledger');
    // An alias may name keys of several accounts or Regions (events/ and the simulation both have alias/app-data).
    const keysOfAlias = (await query<{ key: string }>(db, `SELECT DISTINCT key FROM ledger WHERE key_alias = '${aliased.alias}'`)).map((r) => r.key);
    const stored = (await query<{ key: string | null }>(db, 'SELECT key FROM findings')).map((f) => f.key);
    const findingsOf = (keys: readonly string[]): number => stored.filter((k) => k !== null && keys.includes(k)).length;
    expect(findingsOf([aliased.key])).toBeGreaterThan(0);
    expect(findingsOf(keysOfAlias)).toBeLessThan(stored.length);
    const keyId = aliased.key.slice(aliased.key.lastIndexOf('/') + 1);
    const told = (keys: readonly string[]): string => {
      const n = findingsOf(keys);
      return `${keys.length} key${keys.length === 1 ? '' : 's'}, ${n} finding${n === 1 ? '' : 's'},`;
    };

    for (const [selector, keys] of [[aliased.alias, keysOfAlias], [aliased.alias.replace(/^alias\//, ''), keysOfAlias], [keyId, [aliased.key]], [aliased.key, [aliased.key]]] as const) {
      const run = runKdm(['report', '--db', db, '--html', join(work, `by-key-${selector.length}.html`), '--key', selector]);
      expect(run.status, run.stderr).toBe(0);
      expect(run.stderr, selector).toContain(told(keys));
    }
  });

  it('lists the objects opened from outside the VPC endpoints, the stolen credentials\' read among them, and says when no read came through one', async () => {
    const db2 = await openLedgerDatabase(db, { readOnly: true });
    try {
      const meta = { source: db, title: 't', generatedAtMs: BASE_TIME_MS };
      const all = await gatherReport(db2.connection, {}, meta);
      expect(all.objectsThroughEndpoints).toBeGreaterThan(0);
      expect(all.publicObjects.length).toBeGreaterThan(0);
      const etl = all.publicObjects.filter((o) => o.principal.endsWith(':role/ReportEtl'));
      expect(etl.map((o) => [o.calls, o.sourceIps])).toEqual([[1, ['198.51.100.32']]]);
      // First: the job's reads otherwise came through its endpoint.
      expect(all.publicObjects[0]?.principal).toMatch(/:role\/ReportEtl$/);
      expect(etl[0]?.principalsEndpointObjects).toBeGreaterThan(10);
      expect(readFileSync(page, 'utf8')).toContain(`s3://${etl[0]?.bucket}/${etl[0]?.objectKey}`);
      // The bundled events reach no endpoint: the page says so instead of listing every read.
      const fromEvents = await gatherReport(db2.connection, { principal: '*:role/ContractorSandbox' }, meta);
      expect(fromEvents.objectsThroughEndpoints).toBe(0);
    } finally {
      db2.close();
    }
  });

  it('shows under a key who encrypted under it by ReEncrypt too, selects that key\'s section by it, and counts each call once in the totals', async () => {
    const outsiderKey = 'arn:aws:kms:us-east-1:777788889999:key/4d5e6f70-8192-4a3b-9c4d-5e6f70819201';
    const appKey = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    const sandbox = 'arn:aws:iam::111122223333:role/ContractorSandbox';
    const etl = 'arn:aws:iam::111122223333:role/ReportEtl';
    const db2 = await openLedgerDatabase(db, { readOnly: true });
    try {
      const meta = { source: db, title: 't', generatedAtMs: BASE_TIME_MS };
      const all = await gatherReport(db2.connection, {}, meta);
      const byOutsiderKey = await gatherReport(db2.connection, { key: outsiderKey }, meta);
      const principalsOf = (keys: typeof all.keys, key: string) => keys.find((k) => k.key === key)?.topPrincipals.map((p) => [p.principal, p.calls]);

      // The ransomware's ReEncrypt under both keys it used: the app key it decrypted with, the outsider's it encrypted under.
      expect(principalsOf(all.keys, outsiderKey)).toEqual(expect.arrayContaining([[sandbox, 1], [etl, 1]]));
      expect(principalsOf(all.keys, appKey)).toEqual(expect.arrayContaining([[sandbox, 3]]));
      // Selected by the outsider's key, the page has its section alone, and its totals count each call once.
      expect(byOutsiderKey.keys.map((k) => [k.key, k.calls])).toEqual([[outsiderKey, 2]]);
      // Each section says what its calls were: under the outsider's key, the ETL's write S3 made once the bucket's
      // default key was changed (GenerateDataKey) and the sandbox's ReEncrypt; the app key's, decryptions among them.
      expect(byOutsiderKey.keys[0]?.operations).toEqual([{ operation: 'GenerateDataKey', calls: 1 }, { operation: 'ReEncrypt', calls: 1 }]);
      const appOperations = all.keys.find((k) => k.key === appKey)?.operations ?? [];
      expect(appOperations.map((o) => o.operation)).toEqual(expect.arrayContaining(['Decrypt', 'ReEncrypt']));
      expect(appOperations.reduce((n, o) => n + o.calls, 0)).toBe(all.keys.find((k) => k.key === appKey)?.calls);
      expect(byOutsiderKey.totals).toMatchObject({ calls: 2, keys: 1 });
      const [ledgerCalls] = await query<{ calls: string }>(db, 'SELECT sum(calls) AS calls FROM ledger');
      expect(all.totals.calls).toBe(Number(ledgerCalls?.calls));
      expect(all.keys.reduce((n, k) => n + k.calls, 0)).toBeGreaterThan(all.totals.calls); // the ReEncrypts, in two sections each
    } finally {
      db2.close();
    }
  });

  it('is one self-contained page: no scripts, no remote resources, a policy that forbids both', () => {
    const html = readFileSync(page, 'utf8');

    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"`);
    expect(html).not.toMatch(/<script|<link|src="http|href="http/i);
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html).toContain('Q4 &lt;b&gt;review&lt;/b&gt;');
    expect(statSync(page).size).toBeLessThan(2_000_000);
  });

  it('renders in headless Chromium with every section and chart, no console errors, and injected markup inert', async (ctx) => {
    const browser = ensureChromium();
    if (!('path' in browser)) {
      console.warn(`report browser check skipped: ${browser.reason}`);
      ctx.skip();
      return;
    }
    const chrome = await chromium.launch({ executablePath: browser.path, args: ['--no-sandbox'] });
    try {
      const tab = await chrome.newPage({ viewport: { width: 1200, height: 900 } });
      const problems: string[] = [];
      tab.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') problems.push(m.text());
      });
      tab.on('pageerror', (e) => problems.push(e.message));
      tab.on('dialog', (d) => {
        problems.push(`dialog: ${d.message()}`);
        void d.dismiss();
      });
      await tab.goto(`file://${page}`);

      for (const id of ['keys', 'findings', 'objects', 'public-objects', 'foreign-key-writes', 'coverage']) expect(await tab.locator(`section#${id}`).count(), id).toBe(1);
      expect(await tab.locator('table.public-objects tbody tr').count()).toBeGreaterThan(0);
      // The simulation's writes of an outside account under its own key.
      expect(await tab.locator('table.foreign-key-writes tbody tr').count()).toBeGreaterThan(0);
      expect(await tab.locator('svg.timeline').count()).toBeGreaterThan(1);
      expect(await tab.locator('svg.timeline rect').count()).toBeGreaterThan(10);
      expect(await tab.locator('svg.findings-chart rect').count()).toBeGreaterThan(3);
      expect(await tab.locator('table.coverage tbody tr').count()).toBeGreaterThan(1);
      expect(await tab.locator('table.new-principals').count()).toBeGreaterThan(0);
      // Nothing runs off the page's width, counts line up on the right, and prose breaks between words, not inside
      // them (only what has no room, such as a long ARN, breaks anywhere).
      // (Expressions in the page's own terms: this project's types have no DOM.)
      expect(await tab.evaluate('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true);
      expect(await tab.evaluate("[...document.querySelectorAll('td')].filter((td) => td.querySelector(':scope > .num') !== null).map((td) => getComputedStyle(td).textAlign)")).toContain('right');
      expect(await tab.evaluate("[...new Set([...document.querySelectorAll('td')].map((td) => getComputedStyle(td).wordBreak))]")).toEqual(['normal']);
      // Evidence links lead somewhere on the page.
      const href = await tab.locator('table.findings a').first().getAttribute('href');
      expect(await tab.locator(href ?? '#none').count()).toBe(1);
      // Injected markup shows as text and never became elements.
      expect(await tab.locator('img').count()).toBe(0);
      expect(await tab.locator('script').count()).toBe(0);
      expect(await tab.locator('body').innerText()).toContain('<img src=x onerror=alert(1)>');
      expect(await tab.title()).toBe('Q4 <b>review</b>');
      mkdirSync(join(REPO, 'test-results'), { recursive: true });
      await tab.screenshot({ path: join(REPO, 'test-results', 'report.png'), fullPage: true });
      expect(problems).toEqual([]);
    } finally {
      await chrome.close();
    }
  }, 600_000);
});
