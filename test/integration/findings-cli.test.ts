import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ALL_RULES } from '#core/rules/registry.ts';
import { runKdm } from '../helpers/cli.ts';
import { changeDatabase, copierOf, queryDatabase as query } from '../helpers/duckdb.ts';

/**
 * `kdm findings`: the findings a database holds, listed, filtered, exported and shown one whole. The README's sample
 * day (events/), replayed into a database with its findings written beside it as ASFF, and a suppression of the
 * throttling finding, so that one of the eight is suppressed.
 */
const work = mkdtempSync(join(tmpdir(), 'kdm-findings-'));
const DB = join(work, 'sample.duckdb');
const ASFF = join(work, 'replay-findings.jsonl');
const CONFIG = join(work, 'kdm.config.yaml');
const freshCopy = copierOf(DB, work);
const lines = (text: string): unknown[] => text.trim().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as unknown);
const idsOf = (asff: readonly unknown[]): string[] => asff.map((f) => (f as { Id: string }).Id);
/** The stored findings' ids in the order an analyst reads them: most severe first, then most recently seen, then by id. */
const storedIds = async (db: string, where = 'suppressed_by IS NULL'): Promise<string[]> =>
  (
    await query<{ id: string }>(
      db,
      `SELECT id FROM findings WHERE ${where} ORDER BY CASE severity WHEN 'CRITICAL' THEN 0 WHEN 'HIGH' THEN 1 WHEN 'MEDIUM' THEN 2 WHEN 'LOW' THEN 3 ELSE 4 END, last_seen DESC, id`,
    )
  ).map((r) => r.id);

beforeAll(() => {
  writeFileSync(CONFIG, 'suppressions:\n  - { id: key-rotation, rule: kms-throttled, reason: the key is being rotated, expires: 2999-12-31 }\n');
  const replay = runKdm(['replay', 'events/', '--db', DB, '--findings', ASFF, '--config', CONFIG]);
  expect(replay.stderr).not.toContain('error');
  expect(replay.status).toBe(0);
});

describe('kdm findings', () => {
  it('lists the findings most severe first, each with its reason and id, and counts the suppressed ones it leaves out', async () => {
    const run = runKdm(['findings', '--db', DB]);

    expect(run.status).toBe(0);
    const ids = await storedIds(DB);
    expect(ids).toHaveLength(7);
    expect([...run.stdout.matchAll(/^ {9}id (\S+)$/gm)].map((m) => m[1])).toEqual(ids);
    expect(run.stdout).toMatch(/^HIGH {5}kms-root-usage {2}last seen 2026-10-01T11:05:00\.000Z, 1 event\n {9}The root user of account 111122223333 called Decrypt/m);
    expect(run.stdout).toContain('Also raised by the same principal within a day: kms-principal-several-anomalies');
    expect(run.stdout).not.toContain('kms-throttled');
    expect(run.stderr).toBe('kdm: 7 findings; 1 suppressed finding left out (--suppressed shows them)\n');
  });

  it('shows the suppressed ones too with --suppressed, saying which suppression marks them', () => {
    const run = runKdm(['findings', '--db', DB, '--suppressed']);

    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^LOW {6}kms-throttled {2}last seen 2026-10-01T11:30:00\.000Z, 1 event, suppressed \(key-rotation\)$/m);
    expect(run.stderr).toBe('kdm: 8 findings\n');
  });

  it('writes as ASFF exactly what the replay wrote with --findings, and as OCSF a finding a line', () => {
    const asff = runKdm(['findings', '--db', DB, '--format', 'asff', '--suppressed']);
    const ocsf = runKdm(['findings', '--db', DB, '--format', 'ocsf', '--suppressed']);

    expect(asff.status).toBe(0);
    const byId = (a: unknown, b: unknown) => ((a as { Id: string }).Id < (b as { Id: string }).Id ? -1 : 1);
    expect(lines(asff.stdout).sort(byId)).toEqual(lines(readFileSync(ASFF, 'utf8')).sort(byId));
    expect(ocsf.status).toBe(0);
    const events = lines(ocsf.stdout) as { class_uid: number; finding_info: { uid: string } }[];
    expect(events.map((e) => e.finding_info.uid)).toEqual(idsOf(lines(asff.stdout)));
    expect(new Set(events.map((e) => e.class_uid))).toEqual(new Set([2004]));
  });

  it('selects by rule patterns, severity, principal, key and time, as the database holds them', async () => {
    const ids = (args: readonly string[]): string[] => idsOf(lines(runKdm(['findings', '--db', DB, '--format', 'asff', ...args]).stdout));

    expect(ids(['--rule', 'kms-*,s3-bucket-*'])).toEqual(await storedIds(DB, "suppressed_by IS NULL AND (starts_with(rule_id, 'kms-') OR starts_with(rule_id, 's3-bucket-'))"));
    expect(ids(['--rule', 'kms-root-usage', '--rule', 'vpce-*'])).toEqual(await storedIds(DB, "rule_id IN ('kms-root-usage', 'vpce-outside-credentials')"));
    expect(ids(['--severity', 'low', '--suppressed'])).toHaveLength(8);
    expect(ids(['--severity', 'HIGH', '--suppressed'])).toEqual(await storedIds(DB, "severity = 'HIGH'"));
    expect(ids(['--principal', '*ContractorSandbox'])).toEqual(await storedIds(DB, "principal = 'arn:aws:iam::111122223333:role/ContractorSandbox'"));
    expect(ids(['--key', 'alias/app-data'])).toEqual(await storedIds(DB, "suppressed_by IS NULL AND key = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab'"));
    expect(ids(['--from', '2026-10-01T11:00:00Z', '--to', '2026-10-01T11:10:00Z'])).toEqual(await storedIds(DB, "suppressed_by IS NULL AND last_seen >= TIMESTAMP '2026-10-01 11:00:00' AND first_seen <= TIMESTAMP '2026-10-01 11:10:00'"));
    expect(ids(['--limit', '2'])).toEqual((await storedIds(DB)).slice(0, 2));
    expect(ids(['--from', '2026-10-02'])).toEqual([]);
    expect(runKdm(['findings', '--db', DB, '--from', '2026-10-02']).stdout).toBe('(no matching findings)\n');
  });

  it('shows one finding whole by its id: who, key, object, from where, why, its events, what else was raised, what to do', async () => {
    const [id] = await storedIds(DB, "rule_id = 'kms-s3-data-key-direct-decrypt'");
    const run = runKdm(['findings', '--db', DB, '--id', id as string]);
    const rule = ALL_RULES.find((r) => r.id === 'kms-s3-data-key-direct-decrypt');

    expect(run.status).toBe(0);
    // A labelled field's value, its wrapped lines joined again.
    const field = (label: string): string => {
      const shown = run.stdout.split('\n');
      const at = shown.findIndex((l) => l.startsWith(`${label} `));
      expect(at, label).toBeGreaterThanOrEqual(0);
      const rest = shown.slice(at + 1);
      const more = rest.slice(0, rest.findIndex((l) => !l.startsWith(' ')));
      return [(shown[at] as string).slice(label.length), ...more].map((l) => l.trim()).join(' ');
    };
    expect(field('Finding')).toBe(id);
    expect(field('Rule')).toBe(`kms-s3-data-key-direct-decrypt: ${rule?.title} (${rule?.status})`);
    expect(field('Principal')).toBe('arn:aws:iam::111122223333:role/ContractorSandbox (AssumedRole), session bob, access key ASIAEXAMPLEEXAMPLE01');
    expect(field('Key')).toBe('arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab (alias/app-data)');
    expect(field('Object')).toBe('s3://example-finance-reports/q3/board-pack.pdf');
    expect(field('Network')).toMatch(/^from 198\.51\.100\.23, with Boto3\//);
    expect(field('Events')).toBe('5f1c2a00-0000-4000-8000-000000000022');
    expect(field('Same principal')).toContain('kms-decrypt-monitor/kms-principal-several-anomalies/');
    expect(field('What to do')).toBe(rule?.runbook);
    expect(run.stderr).toBe('');
  });

  it('shows a suppressed finding asked for by its id, with its suppression', async () => {
    const [id] = await storedIds(DB, 'suppressed_by IS NOT NULL');
    const run = runKdm(['findings', '--db', DB, '--id', id as string]);

    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^Suppressed +by key-rotation: the key is being rotated$/m);
  });

  it('decides the suppressions again with --config, as of now, to try one on the findings already found', async () => {
    const trial = join(work, 'trial.yaml');
    writeFileSync(
      trial,
      [
        'suppressions:',
        '  - { id: break-glass, rule: kms-root-usage, reason: the break-glass drill, expires: 2999-12-31 }',
        '  - { id: last-drill, rule: kms-root-usage, reason: an older drill, expires: 2020-01-31 }',
        '',
      ].join('\n'),
    );
    const run = runKdm(['findings', '--db', DB, '--config', trial, '--format', 'asff']);

    expect(run.status).toBe(0);
    // The root user's decrypt is hidden now, and the throttled call, which only the replay's configuration suppressed, shown.
    const expected = await storedIds(DB, "rule_id <> 'kms-root-usage'");
    expect(idsOf(lines(run.stdout))).toEqual(expected);
    expect(run.stderr).toBe(
      'kdm: warning: suppression last-drill (kms-root-usage) expired on 2020-01-31 and no longer applies\n' +
        `kdm: 7 findings; 1 suppressed finding left out (--suppressed shows them); by ${trial}'s suppressions, 1 finding newly suppressed and 1 no longer\n`,
    );
    const limited = runKdm(['findings', '--db', DB, '--config', trial, '--format', 'asff', '--limit', '3']);
    expect(idsOf(lines(limited.stdout))).toEqual(expected.slice(0, 3));
    const [root] = await storedIds(DB, "rule_id = 'kms-root-usage'");
    expect(runKdm(['findings', '--db', DB, '--config', trial, '--id', root as string]).stdout).toMatch(/^Suppressed +by break-glass: the break-glass drill$/m);
    expect(runKdm(['findings', '--db', DB, '--config', join(work, 'none.yaml')]).stderr).toContain('none.yaml');
  });

  it('writes csv and json of a row a finding, to a file with --out', async () => {
    const out = join(work, 'findings.csv');
    const csv = runKdm(['findings', '--db', DB, '--format', 'csv', '--out', out]);
    const json = JSON.parse(runKdm(['findings', '--db', DB, '--format', 'json']).stdout) as Record<string, unknown>[];

    expect(csv.status).toBe(0);
    expect(csv.stdout).toBe('');
    expect(csv.stderr).toBe(`kdm: 7 findings written to ${out}; 1 suppressed finding left out (--suppressed shows them)\n`);
    const [header, ...rows] = readFileSync(out, 'utf8').trim().split('\n');
    expect(header?.split(',')).toEqual(Object.keys(json[0] ?? {}));
    expect(rows).toHaveLength(7);
    expect(json.map((r) => r['id'])).toEqual(await storedIds(DB));
    const story = json.find((r) => r['rule'] === 'kms-principal-several-anomalies');
    expect(story).toMatchObject({ severity: 'HIGH', principal: 'arn:aws:iam::111122223333:role/ContractorSandbox', events: 3, api: null, event_ids: [] });
    expect(story?.['same_principal']).toHaveLength(3);
  });

  it('counts the findings by rule, principal, day and more with --group-by, a story counting no events of its own', async () => {
    const byRule = JSON.parse(runKdm(['findings', '--db', DB, '--group-by', 'rule', '--format', 'json']).stdout) as Record<string, unknown>[];
    const stored = await query<{ rule: string; findings: number; events: number; first_seen: string; last_seen: string }>(
      DB,
      `SELECT rule_id AS rule, count(*)::INT AS findings, sum(CASE WHEN rule_id = 'kms-principal-several-anomalies' THEN 0 ELSE event_count END)::INT AS events,
              strftime(min(first_seen), '%Y-%m-%dT%H:%M:%S.%g') || 'Z' AS first_seen, strftime(max(last_seen), '%Y-%m-%dT%H:%M:%S.%g') || 'Z' AS last_seen
       FROM findings WHERE suppressed_by IS NULL GROUP BY rule_id`,
    );
    expect(byRule.map(({ highest_severity: _, ...row }) => row).sort((a, b) => String(a['rule']).localeCompare(String(b['rule'])))).toEqual(
      stored.sort((a, b) => a.rule.localeCompare(b.rule)),
    );

    const byPrincipal = runKdm(['findings', '--db', DB, '--group-by', 'principal,severity']);
    expect(byPrincipal.status).toBe(0);
    const [header, first] = byPrincipal.stdout.split('\n');
    expect(header?.split(/ {2,}/)).toEqual(['PRINCIPAL', 'SEVERITY', 'FINDINGS', 'EVENTS', 'FIRST_SEEN', 'LAST_SEEN']);
    // The contractor's role: the direct decrypt, the bucket's new key, the re-encryption and their story, all HIGH.
    expect(first?.split(/ {2,}/).slice(0, 4)).toEqual(['arn:aws:iam::111122223333:role/ContractorSandbox', 'HIGH', '4', '3']);
    expect(byPrincipal.stderr).toMatch(/^kdm: 7 findings in \d+ groups; 1 suppressed finding left out/);

    const byDay = JSON.parse(runKdm(['findings', '--db', DB, '--group-by', 'day', '--suppressed', '--format', 'json']).stdout) as { day: string; findings: number }[];
    expect(byDay).toEqual([{ day: '2026-10-01', findings: 8, events: 7, highest_severity: 'HIGH', first_seen: expect.any(String), last_seen: expect.any(String) }]);

    expect(runKdm(['findings', '--db', DB, '--group-by', 'object']).stderr).toBe('kdm: --group-by takes rule, severity, principal, key, account, region, bucket, day (got "object")\n');
    expect(runKdm(['findings', '--db', DB, '--group-by', 'rule', '--format', 'asff']).stderr).toBe('kdm: --group-by counts findings, and --format asff writes findings: use text, csv or json\n');
  });

  it('names a finding whose record cannot be read, writes the rest, and exits 2', async () => {
    const db = freshCopy();
    const [damaged] = await storedIds(db);
    await changeDatabase(db, async (c) => {
      await c.run(`UPDATE findings SET record = '{"kind":"finding"' WHERE id = $id`, { id: damaged as string });
    });
    const run = runKdm(['findings', '--db', db, '--format', 'asff']);

    expect(run.status).toBe(2);
    expect(run.stderr).toContain(`kdm: finding ${damaged} in ${db} cannot be read: its record is not JSON (`);
    expect(run.stderr).toMatch(/kdm: 6 findings; 1 suppressed finding left out \(--suppressed shows them\); 1 finding that could not be read left out\n$/);
    expect(idsOf(lines(run.stdout))).toEqual((await storedIds(db)).filter((id) => id !== damaged));
  });

  it('lists a finding of a rule this version does not have, and leaves it out of ASFF, saying so', async () => {
    const db = freshCopy();
    const [id] = await storedIds(db, "rule_id = 'kms-root-usage'");
    await changeDatabase(db, async (c) => {
      await c.run(`UPDATE findings SET rule_id = 'kms-retired-rule', record = replace(record, '"ruleId":"kms-root-usage"', '"ruleId":"kms-retired-rule"') WHERE id = $id`, { id: id as string });
    });

    const text = runKdm(['findings', '--db', db, '--rule', 'kms-retired-*']);
    expect(text.status).toBe(0);
    expect(text.stdout).toMatch(/^HIGH {5}kms-retired-rule {2}last seen/m);
    const detail = runKdm(['findings', '--db', db, '--id', id as string]);
    expect(detail.stdout).toMatch(/^Rule +kms-retired-rule \(not a rule of this version\)$/m);
    expect(detail.stdout).not.toContain('What to do');
    const asff = runKdm(['findings', '--db', db, '--format', 'asff']);
    expect(asff.status).toBe(0);
    expect(idsOf(lines(asff.stdout))).not.toContain(id);
    expect(asff.stderr).toBe('kdm: 6 findings; 1 suppressed finding left out (--suppressed shows them); 1 finding of rules this version does not have (kms-retired-rule) left out of ASFF\n');
  });

  it('refuses what it cannot answer, saying why', () => {
    const refused = (args: readonly string[]): string => {
      const run = runKdm(['findings', ...args]);
      expect(run.status, args.join(' ')).toBe(1);
      return run.stderr;
    };
    expect(refused([])).toBe('kdm: findings needs --db <file> (a database built by `kdm replay <logs> --db <file>`)\n');
    expect(refused(['--db', DB, '--rule', 'kms-mass-decrypts'])).toBe('kdm: --rule kms-mass-decrypts names no rule (kdm rules list names them)\n');
    expect(refused(['--db', DB, '--severity', 'urgent'])).toBe('kdm: --severity takes INFORMATIONAL, LOW, MEDIUM, HIGH, CRITICAL (got "urgent")\n');
    expect(refused(['--db', DB, '--format', 'table'])).toBe('kdm: --format must be text, csv, json, asff, ocsf (got "table")\n');
    expect(refused(['--db', DB, '--id', 'x', '--severity', 'HIGH'])).toBe('kdm: --id names one finding, and takes no filter beside it (got --severity)\n');
    expect(refused(['--db', DB, '--id', 'kms-decrypt-monitor/none'])).toBe(`kdm: ${DB} holds no finding kms-decrypt-monitor/none (kdm findings --db ${DB} lists them, each with its id)\n`);
    expect(refused(['--db', DB, '--out', DB])).toContain('it is the database');
    expect(refused(['--db', DB, '--sevrity', 'HIGH'])).toContain('did you mean --severity?');
  });
});
