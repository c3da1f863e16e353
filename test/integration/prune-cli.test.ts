import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { beforeAll, describe, expect, it } from 'vitest';
import { runKdm } from '../helpers/cli.ts';
import { asWrittenBeforeNetworks, copierOf, queryDatabase as query } from '../helpers/duckdb.ts';

/**
 * `kdm prune`: a retention period for the local ledger. Ten simulated days with labelled anomalies on the last two
 * (findings from 2026-10-09 on), replayed into a database that each test copies, so that each starts from the same.
 * Before 2026-10-10 they include two writes of another account under its own key (object records from their data
 * events alone), two re-encryptions under that account's keys (a ledger row, two findings), two calls with a
 * workload's credentials away from its VPC endpoint (two findings; the ledger does not count by network), two with
 * workloads' credentials from the AWS CLI (two findings; nor by client), and a report read through S3 with the ETL
 * job's credentials from the AWS CLI (a ledger row, an object record and a finding). Each day the release pipeline
 * signs and the token service makes MACs (two ledger rows a day), and on 2026-10-09 two roles new to the signing key
 * sign and the root user makes two MACs (three ledger rows; five findings: the root user's first MAC is also a new
 * principal's on the key, its second no longer is). Four of the findings before 2026-10-10 are kms-principal-several-anomalies'
 * (principals' days with findings of three rules or more).
 */
const work = mkdtempSync(join(tmpdir(), 'kdm-prune-'));
const SIM = join(work, 'sim');
const REPLAYED = join(work, 'replayed.duckdb');
const freshCopy = copierOf(REPLAYED, work);
const days = async (db: string): Promise<string[]> =>
  (await query<{ day: string }>(db, 'SELECT DISTINCT CAST(day AS VARCHAR) AS day FROM ledger ORDER BY day')).map((r) => r.day);
/** The principals' entries of findings in the engine state: each one's key, and the ids of the findings it names. */
const principalEntriesOf = async (db: string): Promise<{ k: string; ids: string[] }[]> =>
  (await query<{ k: string; v: string }>(db, `SELECT k, v FROM engine_state WHERE starts_with(k, 'pfind#') ORDER BY k`)).map(({ k, v }) => ({ k, ids: Object.keys((JSON.parse(v) as { findings: Record<string, unknown> }).findings) }));
const countsOf = async (db: string) =>
  (
    await query<Record<string, number>>(
      db,
      `SELECT (SELECT count(*) FROM ledger)::INT AS ledger, (SELECT count(*) FROM object_access)::INT AS objects, (SELECT count(*) FROM findings)::INT AS findings,
              (SELECT count(*) FROM engine_state)::INT AS state, (SELECT count(*) FROM ingested_files)::INT AS files`,
    )
  )[0] ?? {};

beforeAll(() => {
  expect(runKdm(['simulate', '--out', SIM, '--events', '4000', '--days', '10', '--seed', '3', '--anomalies']).status).toBe(0);
  expect(runKdm(['replay', SIM, '--db', REPLAYED]).status).toBe(0);
});

describe('kdm prune', () => {
  it('counts with --dry-run what it would remove, and changes nothing', async () => {
    const db = freshCopy();
    const before = await countsOf(db);
    const run = runKdm(['prune', '--db', db, '--before', '2026-10-10', '--dry-run']);

    expect(run.stdout).toBe(`${db}: would remove 178 ledger rows, 1,610 object records and 61 findings from before 2026-10-10; nothing changed (--dry-run)\n`);
    expect(run.status).toBe(0);
    expect(await countsOf(db)).toEqual(before);
  });

  it("removes the days before the day given, and the findings last seen before it; keeps the baselines and the files read", async () => {
    const db = freshCopy();
    const before = await countsOf(db);
    const principalsBefore = await principalEntriesOf(db);
    const run = runKdm(['prune', '--db', db, '--before', '2026-10-10']);

    expect(run.stdout).toBe(`${db}: removed 178 ledger rows, 1,610 object records and 61 findings from before 2026-10-10; the history is kept from 2026-10-10\n`);
    expect(run.status).toBe(0);
    expect(await days(db)).toEqual(['2026-10-10']);
    const after = await countsOf(db);
    // The principals' entries let go of the findings removed, and go with the last of them; the rest of the state stays.
    const entries = await principalEntriesOf(db);
    expect(entries.length).toBeLessThan(principalsBefore.length);
    expect(entries.length).toBeGreaterThan(0);
    const kept = new Set((await query<{ id: string }>(db, 'SELECT id FROM findings')).map((r) => r.id));
    for (const { ids } of entries) for (const id of ids) expect(kept).toContain(id);
    const stateAfter = (before['state'] ?? 0) - principalsBefore.length + entries.length;
    expect(after).toEqual({ ...before, ledger: (before['ledger'] ?? 0) - 178, objects: (before['objects'] ?? 0) - 1_610, findings: (before['findings'] ?? 0) - 61, state: stateAfter });
    expect(await query(db, `SELECT count(*)::INT AS n FROM object_access WHERE day < DATE '2026-10-10'`)).toEqual([{ n: 0 }]);
    expect(await query(db, `SELECT count(*)::INT AS n FROM findings WHERE last_seen < TIMESTAMP '2026-10-10'`)).toEqual([{ n: 0 }]);
  });

  it('is told by kdm history and kdm report wherever they reach back before it', () => {
    const db = freshCopy();
    expect(runKdm(['prune', '--db', db, '--before', '2026-10-05']).status).toBe(0);
    const note = 'kdm: note: the history before 2026-10-05 was removed from this database (kdm prune)\n';

    const all = runKdm(['history', '--db', db, '--group-by', 'day', '--format', 'csv']);
    expect(all.stderr).toBe(note);
    expect(all.stdout.split('\n').filter((line) => /^2026-10-0[1-4]/.test(line))).toEqual([]);
    expect(runKdm(['history', '--db', db, '--from', '2026-10-04']).stderr).toBe(note);
    expect(runKdm(['history', '--db', db, '--from', '2026-10-05']).stderr).toBe('');

    const page = join(work, 'pruned.html');
    const report = runKdm(['report', '--db', db, '--html', page]);
    expect(report.stderr).toContain(note);
    expect(readFileSync(page, 'utf8')).toContain('History before 2026-10-05 removed (kdm prune)');
    expect(runKdm(['report', '--db', REPLAYED, '--html', join(work, 'whole.html')]).stderr).not.toContain('removed');
    // A period from the pruned day on lost nothing, and the page, like the note, does not say otherwise.
    const later = join(work, 'pruned-later.html');
    expect(runKdm(['report', '--db', db, '--html', later, '--from', '2026-10-05']).stderr).not.toContain('removed');
    expect(readFileSync(later, 'utf8')).not.toContain('kdm prune');
  });

  it('keeps the latest day any prune gave: an earlier one removes nothing more and says where the history starts', () => {
    const db = freshCopy();
    expect(runKdm(['prune', '--db', db, '--before', '2026-10-05']).status).toBe(0);
    const again = runKdm(['prune', '--db', db, '--before', '2026-10-03']);

    expect(again.stdout).toBe(`${db}: removed 0 ledger rows, 0 object records and 0 findings from before 2026-10-03; the history is kept from 2026-10-05 (an earlier prune removed the days before it)\n`);
    expect(runKdm(['history', '--db', db, '--from', '2026-10-04']).stderr).toContain('the history before 2026-10-05 was removed');
  });

  it('leaves a database that later replays continue: the files read are still known, and logs of removed days are told apart', async () => {
    const db = freshCopy();
    expect(runKdm(['prune', '--db', db, '--before', '2026-10-09']).status).toBe(0);
    const kept = await countsOf(db);

    const again = runKdm(['replay', SIM, '--db', db]);
    expect(again.status).toBe(0);
    expect(again.stderr).toContain('kdm: skipped 33 files already replayed into');
    expect(await countsOf(db)).toEqual(kept);

    // Other logs of the same ten days: their calls are read and their findings kept, but not their rows of the removed
    // days, and the replay says so.
    const other = join(work, 'other-sim');
    expect(runKdm(['simulate', '--out', other, '--events', '2000', '--days', '10', '--seed', '4']).status).toBe(0);
    const late = runKdm(['replay', other, '--db', db, '--summary', 'json']);
    expect(late.status).toBe(0);
    const removedDays = async () => (await query<{ n: number }>(db, `SELECT ((SELECT count(*) FROM ledger WHERE day < DATE '2026-10-09') + (SELECT count(*) FROM object_access WHERE day < DATE '2026-10-09'))::INT AS n`))[0]?.n;
    expect(await removedDays()).toBe(0);
    expect(late.stderr).toMatch(new RegExp(`^kdm: note: ${db.replaceAll('/', '\\/').replaceAll('.', '\\.')} keeps no history before 2026-10-09 \\(kdm prune removed it\\): [1-9][\\d,]* ledger rows and [\\d,]+ object records? of those days, from calls read now, were not kept \\(findings on them were\\)$`, 'm'));
    expect((await days(db))[0]).toBe('2026-10-09');
    expect(runKdm(['history', '--db', db]).stderr).toBe('kdm: note: the history before 2026-10-09 was removed from this database (kdm prune)\n');

    // Rows of those days that a kdm from before 2026-12-06 added back are told apart.
    const instance = await DuckDBInstance.create(db);
    const connection = await instance.connect();
    await connection.run(`INSERT INTO ledger SELECT * REPLACE (DATE '2026-10-05' AS day) FROM ledger WHERE day = DATE '2026-10-09' LIMIT 3`);
    connection.closeSync();
    instance.closeSync();
    const rows = '3 ledger rows';
    expect(runKdm(['history', '--db', db]).stderr).toBe(`kdm: note: the history before 2026-10-09 was removed from this database (kdm prune); it holds ${rows} of those days, replayed since\n`);
    const page = join(work, 'replayed-since.html');
    expect(runKdm(['report', '--db', db, '--html', page]).status).toBe(0);
    expect(readFileSync(page, 'utf8')).toContain(`History before 2026-10-09 removed (kdm prune), but for ${rows} replayed since`);
  });

  it('counts a file an earlier kdm made without changing it, and says so when the prune upgrades it', async () => {
    const db = freshCopy();
    // Schema 1 as it was: rows with an id column, no ReEncrypt destination and no network (test/integration/ledger-cli.test.ts makes one the same way).
    const instance = await DuckDBInstance.create(db);
    const setup = await instance.connect();
    await asWrittenBeforeNetworks(setup);
    await setup.run(`ALTER TABLE ledger DROP COLUMN destination_key`);
    await setup.run(`ALTER TABLE ledger ADD COLUMN id VARCHAR`);
    await setup.run(`UPDATE ledger SET id = 'ledger#' || day::VARCHAR || '#' || to_json([key, principal, account, region, bucket, operation, path])::VARCHAR`);
    await setup.run(`UPDATE kdm_meta SET value = '1' WHERE name = 'schema'`);
    setup.closeSync();
    instance.closeSync();

    expect(runKdm(['prune', '--db', db, '--before', '2026-10-10', '--dry-run']).stdout).toContain('would remove 173 ledger rows');
    expect(await query(db, `SELECT value FROM kdm_meta WHERE name = 'schema'`)).toEqual([{ value: '1' }]);
    const run = runKdm(['prune', '--db', db, '--before', '2026-10-10']);
    expect(run.stderr).toMatch(new RegExp(`^kdm: ${db.replaceAll('.', '\\.')}: upgraded to schema 5: ledger \\(\\d+ rows\\)`));
    expect(run.stdout).toContain('removed 173 ledger rows');
    expect(await days(db)).toEqual(['2026-10-10']);
  });

  it('refuses to remove every day of the history, naming the newest (delete the file for that)', async () => {
    const db = freshCopy();
    const run = runKdm(['prune', '--db', db, '--before', '2026-10-11']);

    expect(run.stderr).toBe('kdm: --before 2026-10-11 would remove the whole of the history (its newest day is 2026-10-10): kdm prune keeps at least a day; to remove all of it, delete the file\n');
    expect(run.status).toBe(1);
    expect(await days(db)).toHaveLength(10);
  });

  it('refuses what is not a day, a missing option, a file that is not there, and a DuckDB file kdm did not make (adding nothing to it)', async () => {
    const db = freshCopy();
    const refused = (args: readonly string[]) => {
      const run = runKdm(['prune', ...args]);
      expect(run.status).toBe(1);
      return run.stderr;
    };
    expect(refused(['--db', db, '--before', '2026-02-30'])).toBe('kdm: --before must be a day, YYYY-MM-DD (got "2026-02-30")\n');
    expect(refused(['--db', db, '--before', '30d'])).toBe('kdm: --before must be a day, YYYY-MM-DD (got "30d")\n');
    expect(refused(['--db', db])).toBe('kdm: prune needs --before <YYYY-MM-DD>: the history of the days before it is removed\n');
    expect(refused(['--before', '2026-10-05'])).toBe('kdm: prune needs --db <file> (a database built by `kdm replay <logs> --db <file>`)\n');
    const absent = join(work, 'absent.duckdb');
    expect(refused(['--db', absent, '--before', '2026-10-05'])).toBe(`kdm: ${absent}: no database here: kdm prune removes history from a database kdm replay --db built\n`);
    expect(existsSync(absent)).toBe(false);

    const other = join(work, 'other.duckdb');
    const instance = await DuckDBInstance.create(other);
    const connection = await instance.connect();
    await connection.run('CREATE TABLE measurements (x INTEGER)');
    connection.closeSync();
    instance.closeSync();
    expect(refused(['--db', other, '--before', '2026-10-05'])).toContain('not a kdm database');
    expect(await query(other, `SELECT table_name FROM information_schema.tables ORDER BY table_name`)).toEqual([{ table_name: 'measurements' }]);
  });

  it('answers --help, and a mistyped option with the one meant', () => {
    const help = runKdm(['prune', '--help']);
    expect(help.stdout).toMatch(/^kdm prune — remove the decrypt history/);
    expect(help.status).toBe(0);
    const typo = runKdm(['prune', '--db', 'x.duckdb', '--befor', '2026-10-05']);
    expect(typo.stderr).toBe('kdm: unknown option --befor for kdm prune: did you mean --before? (kdm prune --help lists the options)\n');
    expect(typo.status).toBe(1);
  });
});
