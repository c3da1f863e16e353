import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, closeSync, copyFileSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync, mkdirSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { kmsRecord, s3Record } from '#core/testing/builders.ts';
import { DEFAULT_ENGINE_CONFIG } from '#core/engine-config.ts';
import { DEFAULT_THREADS, DEFAULT_THREADS_READING_JAVASCRIPT, lateEventsNote, lookupsReadApartNote, READER_THREADS_FROM_BYTES } from '../../src/cli/replay.ts';
import { nativeReaderStatus } from '#adapters/local/native-records.ts';
import { ONE_PAGE_OF_A_LOOKUP } from '#adapters/local/cloudtrail-files.ts';
import { DATASETS_DIR, allDatasetRecords, datasetFiles, datasetRecords, hasDatasets } from '../helpers/datasets.ts';
import { lookupEventsOutput } from '../helpers/event-history.ts';
import { queryDatabase } from '../helpers/duckdb.ts';
import { KDM, REPO, runKdm } from '../helpers/cli.ts';

interface SummaryJson {
  records: { read: number; processed: number; skipped: number; failed: number; skippedByReason: Record<string, number> };
  files: { read: number; failed: number; skipped: number; skippedByReason: Record<string, number> };
  events: { kms: number; s3: number; other: number; network: number };
  kms: { byOperation: Record<string, number> };
  keys: { key: string; alias: string | null; calls: number; s3Made: number; direct: number; distinctPrincipals: number }[];
  findings: { total: number; byRule: Record<string, number>; bySeverity: Record<string, number> };
}

const summaryOf = (stdout: string): SummaryJson => JSON.parse(stdout) as SummaryJson;

describe('kdm replay on the bundled sample events (the README run command)', () => {
  it('reads every shape, accounts for every record and exits 0', () => {
    const run = runKdm(['replay', 'events/', '--summary', 'json']);

    expect(run.status).toBe(0);
    const s = summaryOf(run.stdout);
    expect(s.records).toMatchObject({ read: 28, processed: 25, failed: 0, skipped: 3, skippedByReason: { duplicate: 2, 'insight-event': 1 } });
    expect(s.records.processed + s.records.skipped + s.records.failed).toBe(s.records.read);
    expect(s.files).toEqual({ read: 11, failed: 0, skipped: 1, skippedByReason: { 'digest-file': 1 } });
    expect(s.events).toMatchObject({ kms: 16, s3: 6, other: 1, network: 2 });
    expect(s.kms.byOperation).toEqual({ Decrypt: 9, GenerateDataKey: 4, Encrypt: 1, ReEncrypt: 2 });
    const key = s.keys.find((k) => k.key.endsWith('key/1234abcd-12ab-34cd-56ef-1234567890ab'));
    expect(key).toMatchObject({ alias: 'alias/app-data', calls: 14, s3Made: 4, direct: 10 });
    expect(run.stderr).toMatch(/skipped: .*CloudTrail-Digest.*digest file/);
    // What the sample day is made to show, the ransomware's default key, the write it took hostage, the ciphertext
    // it re-encrypted under its key and its own credentials used through the VPC endpoint among it.
    // And the contractor role's three findings of the day, together one story.
    expect(s.findings).toMatchObject({
      total: 8,
      byRule: { 'kms-data-under-foreign-key': 1, 'kms-principal-several-anomalies': 1, 'kms-root-usage': 1, 'kms-s3-data-key-direct-decrypt': 1, 'kms-throttled': 1, 's3-bucket-default-key-changed': 1, 's3-put-without-required-kms': 1, 'vpce-outside-credentials': 1 },
      bySeverity: { HIGH: 7, LOW: 1 },
    });
  });

  it('relates the contractor role\'s three findings of the sample day, each naming the other two, and raises one finding of the three that names them', () => {
    const run = runKdm(['replay', 'events/', '--findings', '-']);
    type Asff = { Id: string; GeneratorId: string; Description: string; Severity: { Label: string }; RelatedFindings?: { Id: string }[]; Action?: unknown; ProductFields: Record<string, string> };
    const findings = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as Asff);
    const ofContractor = findings.filter((f) => f.Description.startsWith('arn:aws:iam::111122223333:role/ContractorSandbox'));
    const story = ofContractor.filter((f) => f.GeneratorId === 'kms-decrypt-monitor/kms-principal-several-anomalies');
    const contractor = ofContractor.filter((f) => !story.includes(f));

    expect(run.status).toBe(0);
    expect(findings).toHaveLength(8);
    expect(contractor.map((f) => f.GeneratorId.split('/')[1]).sort()).toEqual(['kms-data-under-foreign-key', 'kms-s3-data-key-direct-decrypt', 's3-bucket-default-key-changed']);
    expect(story).toHaveLength(1);
    for (const f of contractor) {
      expect(f.RelatedFindings?.map((r) => r.Id).sort()).toEqual(ofContractor.map((c) => c.Id).filter((id) => id !== f.Id).sort());
      expect(f.Description).toMatch(/Within a day of it, the same principal also raised [a-z0-9-]+, [a-z0-9-]+, [a-z0-9-]+ \(see its related findings\)\.$/);
    }
    // The story, HIGH, tells the day's rules in the order they came, names their findings, and stands for no one call.
    const [day] = story;
    expect(day?.Severity.Label).toBe('HIGH');
    expect(day?.Description).toMatch(/^arn:aws:iam::111122223333:role\/ContractorSandbox raised findings of 3 rules on 2026-10-01 \(UTC\) \(threshold 3\): kms-s3-data-key-direct-decrypt, s3-bucket-default-key-changed, kms-data-under-foreign-key\. /);
    expect(day?.RelatedFindings?.map((r) => r.Id).sort()).toEqual(contractor.map((c) => c.Id).sort());
    expect(day?.Action).toBeUndefined();
    expect(day?.ProductFields['kdm/EventIds']).toBeUndefined();
    expect(day?.ProductFields['kdm/EventCount']).toBe('3');
    for (const f of findings.filter((g) => !ofContractor.includes(g))) for (const r of f.RelatedFindings ?? []) expect(ofContractor.map((c) => c.Id)).not.toContain(r.Id);
  });

  it('prints a readable table by default', () => {
    const run = runKdm(['replay', 'events/']);

    expect(run.status).toBe(0);
    expect(run.stdout).toContain('Records   processed 25, skipped 3 (duplicate 2, insight-event 1), failed 0');
    expect(run.stdout).toMatch(/KEY\s+ALIAS\s+CALLS\s+S3-MADE\s+DIRECT/);
    expect(run.stdout).toContain('arn:aws:iam::111122223333:role/PaymentsApp');
    // Under a finding's reason, what its principal raised besides (the contractor role's re-encryption).
    expect(run.stdout).toMatch(/and sees every decrypt\.\n {9}Also raised by the same principal within a day: kms-principal-several-anomalies,\n {9}kms-s3-data-key-direct-decrypt, s3-bucket-default-key-changed\.\n/);
  });

  it('reads standard input for -', () => {
    const input = gzipSync(JSON.stringify({ Records: [kmsRecord({ eventId: 'stdin-1' }), kmsRecord({ eventId: 'stdin-2' })] }));

    const run = runKdm(['replay', '-', '--summary', 'json'], input);

    expect(run.status).toBe(0);
    expect(summaryOf(run.stdout).records).toMatchObject({ read: 2, processed: 2 });
  });

  it('reads delivery files one after another on standard input (cat *.json.gz | kdm replay -), as it reads the files', () => {
    const file = (...ids: string[]): Buffer => gzipSync(JSON.stringify({ Records: ids.map((id) => kmsRecord({ eventId: id })) }));
    const input = Buffer.concat([file('cat-1', 'cat-2'), file('cat-3')]);

    const run = runKdm(['replay', '-', '--summary', 'json'], input);

    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(summaryOf(run.stdout).records).toMatchObject({ read: 3, processed: 3, failed: 0 });
  });

  it('writes findings as JSONL to a file without disturbing the summary', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kdm-'));
    const out = join(dir, 'findings.jsonl');

    const run = runKdm(['replay', 'events/', '--summary', 'json', '--findings', out]);

    expect(run.status).toBe(0);
    const lines = readFileSync(out, 'utf8').split('\n').filter(Boolean);
    expect(lines.length).toBe(summaryOf(run.stdout).findings.total + 0);
    for (const line of lines) expect(JSON.parse(line)).toHaveProperty(['ProductFields', 'kdm/RuleId']);
    const hostage = lines.map((l) => JSON.parse(l) as { Description: string; ProductFields: Record<string, string> }).find((f) => f.ProductFields['kdm/RuleId'] === 's3-put-without-required-kms');
    // The KMS call S3 made, matched to its PutObject: the object is named once, with its request.
    expect(hostage?.Description).toMatch(/^arn:aws:iam::111122223333:role\/ReportEtl \(session etl-run-20261001\) of account 111122223333 wrote an object through S3 PutObject of s3:\/\/example-finance-reports\/q4\/forecast-v2\.xlsx from 10\.20\.30\.40 via vpce-0a1b2c3d4e5f60718 in us-east-1, and S3 encrypted it under key arn:aws:kms:us-east-1:777788889999:key\/4d5e6f70-8192-4a3b-9c4d-5e6f70819201 of account 777788889999/);
  });
});

describe('kdm replay on bad input', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kdm-bad-'));
  const good = kmsRecord({ eventId: 'good-1' });
  writeFileSync(join(dir, 'a-good.json'), JSON.stringify({ Records: [good] }));
  writeFileSync(join(dir, 'b-truncated.json.gz'), gzipSync(JSON.stringify({ Records: [good, good] })).subarray(0, 30));
  writeFileSync(join(dir, 'c-invalid.json'), '{"Records": [');
  writeFileSync(join(dir, 'd-not-cloudtrail.json'), '{"hello": 1}');
  writeFileSync(join(dir, 'e-records-not-array.json'), '{"Records": 5}');
  writeFileSync(join(dir, 'f-missing-fields.json'), JSON.stringify({ Records: [{ eventSource: 'kms.amazonaws.com', eventName: 'Decrypt' }, kmsRecord({ eventId: 'good-2' })] }));
  writeFileSync(join(dir, 'g-empty.json'), '');
  writeFileSync(join(dir, 'h-version.json'), JSON.stringify({ Records: [{ ...kmsRecord({ eventId: 'v' }), eventVersion: '9.0' }] }));
  writeFileSync(join(dir, 'i-proto.json'), JSON.stringify({ Records: [kmsRecord({ eventId: 'p', context: { PROTO: 'x', constructor: 'y' } })] }).replace('"PROTO"', '"__proto__"'));
  writeFileSync(join(dir, 'j-bad-utf8.jsonl'), Buffer.concat([Buffer.from(`${JSON.stringify(kmsRecord({ eventId: 'u1' }))}\n`), Buffer.from([0x7b, 0xc3, 0x28, 0x7d, 0x0a])]));
  mkdirSync(join(dir, 'nested'));
  writeFileSync(join(dir, 'nested', 'k-big.json'), JSON.stringify({ Records: [kmsRecord({ eventId: 'big', userAgent: 'x'.repeat(5_000_000) })] }));

  it('names each problem with its file and record, goes on, counts everything and exits 2', () => {
    const run = runKdm(['replay', dir, '--summary', 'json']);

    expect(run.status).toBe(2);
    const s = summaryOf(run.stdout);
    expect(s.records.processed + s.records.skipped + s.records.failed).toBe(s.records.read);
    expect(s.records).toMatchObject({ read: 8, processed: 5, failed: 3 });
    expect(s.files).toMatchObject({ read: 11, failed: 4, skipped: 1 });
    const lines = run.stderr.trim().split('\n');
    expect(lines).toEqual(expect.arrayContaining([
      expect.stringMatching(/b-truncated\.json\.gz: gzip data is truncated/),
      expect.stringMatching(/c-invalid\.json: invalid JSON/),
      expect.stringMatching(/d-not-cloudtrail\.json: JSON is not CloudTrail/),
      expect.stringMatching(/e-records-not-array\.json: "Records" is number, not an array/),
      expect.stringMatching(/f-missing-fields\.json record 0: missing field eventTime/),
      expect.stringMatching(/g-empty\.json: empty file/),
      expect.stringMatching(/h-version\.json record 0: unsupported eventVersion "9\.0"/),
      expect.stringMatching(/j-bad-utf8\.jsonl record 1: line 2: invalid UTF-8/),
    ]));
    for (const line of lines) expect(line.startsWith('kdm: ')).toBe(true);
  });
});

describe('kdm usage errors', () => {
  it.each([
    [['replay'], /replay needs at least one path/],
    [['replay', 'events/', '--summary', 'xml'], /--summary must be table or json/],
    [['replay', 'events/', '--bogus'], /^kdm: unknown option --bogus for kdm replay \(kdm replay --help lists the options\)$/m],
    [['replay', 'events/', '--sumary', 'json'], /^kdm: unknown option --sumary for kdm replay: did you mean --summary\? \(kdm replay --help lists the options\)$/m],
    [['replay', 'events/', '--db'], /^kdm: --db needs a value \(kdm replay --help/m],
    [['replay', 'events/', '--db', '--summary', 'json'], /^kdm: --db needs a value, and got the option --summary: a value that starts with a dash is written --db=--summary /m],
    [['history', '--db', 'x.duckdb', '--sinse', '2026-10-01'], /^kdm: unknown option --sinse for kdm history \(kdm history --help/m],
    [['history', '--db', 'x.duckdb', 'extra'], /^kdm: history takes no argument "extra" \(kdm history --help/m],
    [['report', '--db', 'x.duckdb', '--html', 'x.html', '--tittle', 'Q4'], /^kdm: unknown option --tittle for kdm report: did you mean --title\?/m],
    [['report', '--html', 'x.html'], /^kdm: report needs --db <file> \(a database built by `kdm replay <logs> --db <file>`\)$/m],
    [['simulate', '--out', 'x', '--event', '5'], /^kdm: unknown option --event for kdm simulate: did you mean --events\?/m],
    [['rules', 'list', '--fromat', 'json'], /^kdm: unknown option --fromat for kdm rules list: did you mean --format\? \(kdm rules list --help/m],
    [['rules'], /^kdm: kdm rules needs list, test, docs, patterns or member-template \(got nothing; kdm rules --help\)$/m],
    [['config'], /^kdm: usage: kdm config validate <file> \(kdm config --help\)$/m],
    [['replay', 'events/', '--fail-on', 'SEVERE'], /--fail-on must be one of/],
    // A cap larger than a Buffer made zlib refuse every gzip file as a bomb; past V8's string limit no file parses.
    [['replay', 'events/', '--max-file-mb', '1e9'], /--max-file-mb must be a positive number up to 511/],
    [['replay', 'events/', '--max-file-mb', '512'], /--max-file-mb must be a positive number up to 511/],
    [['frobnicate'], /unknown command "frobnicate"/],
  ])('%j exits 1 with one line and no stack trace', (args, message) => {
    const run = runKdm(args);

    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(message);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it.each([
    [['replay', '--help'], /^kdm — kms-decrypt-monitor/],
    [['history', '--help'], /^kdm history — /],
    [['report', '-h'], /^kdm report — /],
    [['simulate', '--help'], /^kdm simulate — [^]*--records-per-file <n>/],
    [['rules', '--help'], /^kdm rules — [^]*kdm rules member-template/],
    [['rules', 'docs', '--help'], /^kdm rules — /],
    [['backtest', '--help'], /^kdm backtest — [^]*Exit codes: 0 every label detected/],
    [['config', '--help'], /^kdm config validate <file> — /],
    [['config', 'validate', '-h'], /^kdm config validate <file> — /],
    // Help wins over the rest of the line, for every command alike.
    [['replay', '--bogus', '--help'], /^kdm — kms-decrypt-monitor/],
    [['prune', '--db', '--help'], /^kdm prune — /],
    [['simulate', '--out', 'x', '--nope', '-h'], /^kdm simulate — /],
    [['backtest', 'logs/', '--labels', '--help'], /^kdm backtest — /],
    [['history', '--bogus', '--help'], /^kdm history — /],
  ])('%j prints the command\'s help and exits 0', (args, help) => {
    const run = runKdm(args);

    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(help);
  });

  it('simulate says what it wrote, in counts a person would write', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'kdm-sim-told-')), 'logs');

    const run = runKdm(['simulate', '--out', dir, '--events', '10']);

    expect(run.status).toBe(0);
    expect(run.stderr).toBe(`kdm: wrote 10 records in 1 file and 0 anomaly labels to ${dir}\n`);
  });

  it('simulate says when --out is a file, or under one, instead of an unexpected error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kdm-sim-out-'));
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');

    const onFile = runKdm(['simulate', '--out', file, '--events', '10']);
    expect(onFile.status).toBe(1);
    expect(onFile.stderr).toBe(`kdm: cannot write the simulation to ${file}: it is a file; --out takes a directory (created when absent)\n`);
    const underFile = runKdm(['simulate', '--out', join(file, 'sub'), '--events', '10']);
    expect(underFile.status).toBe(1);
    expect(underFile.stderr).toMatch(/^kdm: cannot write the simulation to \S+a-file\/sub: ENOTDIR: not a directory/);
    expect(underFile.stderr).not.toMatch(/unexpected error/);
  });

  it.runIf(process.platform === 'linux')('simulate says when --out cannot be made, instead of hanging (a directory under /proc)', () => {
    const run = spawnSync(process.execPath, [KDM, 'simulate', '--out', '/proc/kdm-simulate-test', '--events', '10'], { encoding: 'utf8', timeout: 20_000 });

    expect(run.error).toBeUndefined();
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^kdm: cannot write the simulation to \/proc\/kdm-simulate-test: ENOENT/);
  });

  it('exits 2 naming a path that does not exist, after reading the others', () => {
    const run = runKdm(['replay', 'events/eventbridge/kms-decrypt.json', 'no/such/file.json', '--summary', 'json']);

    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/no\/such\/file\.json: cannot open: no such file or directory \(ENOENT\)/);
    expect(summaryOf(run.stdout).records.processed).toBe(1);
  });

  it('warns when the paths hold no CloudTrail log file, and says nothing more when a path was already reported', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kdm-no-logs-'));
    const empty = join(dir, 'empty');
    const notes = join(dir, 'notes');
    mkdirSync(empty);
    mkdirSync(notes);
    writeFileSync(join(notes, 'readme.txt'), 'not a log');

    const run = runKdm(['replay', empty, notes, '--summary', 'json']);
    expect(run.status).toBe(0);
    expect(run.stderr).toMatch(/readme\.txt: not a CloudTrail file name/);
    expect(run.stderr).toContain(`kdm: warning: no CloudTrail log files under ${empty}, ${notes} (log files end in .json, .jsonl or .ndjson, optionally .gz)`);
    expect(summaryOf(run.stdout).files).toEqual({ read: 0, failed: 0, skipped: 1, skippedByReason: { 'not-a-log-file': 1 } });

    const missing = runKdm(['replay', join(dir, 'no-such-dir'), '--summary', 'json']);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/no-such-dir: cannot open: no such file or directory \(ENOENT\)/);
    expect(missing.stderr).not.toMatch(/warning/);

    expect(runKdm(['replay', 'events/', '--summary', 'json']).stderr).not.toMatch(/warning/);
  });
});

describe('kdm replay and a directory it may not list', () => {
  // Root may list anything: as root, the replay runs as nobody (setpriv, from util-linux) to meet the refusal.
  const asRoot = process.getuid?.() === 0;
  const setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));
  const asNobody = (args: readonly string[], cwd?: string) =>
    spawnSync(setpriv as string, ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, ...args], { encoding: 'utf8', ...(cwd !== undefined ? { cwd } : {}) });
  // Nobody must be able to read the built CLI too (a checkout under a private directory is not).
  const canRefuse = process.platform === 'linux' && (!asRoot || (setpriv !== undefined && asNobody(['-e', `require('fs').accessSync(${JSON.stringify(KDM)}, 4)`]).status === 0));
  if (!canRefuse) console.warn('skipped: running as root without setpriv, or where nobody cannot read dist/kdm.js: a directory cannot refuse to be listed');

  it.runIf(canRefuse)('names it as one failed path and reads the rest of the tree (exit 2)', () => {
    const root = mkdtempSync(join(tmpdir(), 'kdm-locked-'));
    chmodSync(root, 0o755);
    const logs = join(root, 'logs');
    for (const d of ['a-open', 'b-locked', 'c-open']) {
      mkdirSync(join(logs, d), { recursive: true });
      writeFileSync(join(logs, d, `${d}.json`), JSON.stringify({ Records: [kmsRecord({ eventId: `in-${d}` })] }));
    }
    chmodSync(join(logs, 'b-locked'), 0o000);
    const args = [KDM, 'replay', logs, '--summary', 'json'];
    const run = asRoot ? asNobody(args, root) : spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8' });

    expect(run.stderr).toBe(`kdm: error: ${join(logs, 'b-locked')}: cannot list the directory: permission denied (EACCES)\n`);
    expect(run.status).toBe(2);
    expect(summaryOf(run.stdout).records.processed).toBe(2);
    expect(summaryOf(run.stdout).files).toMatchObject({ read: 2, failed: 1 });
    chmodSync(join(logs, 'b-locked'), 0o755);
  });
});

describe('kdm replay and --max-file-mb', () => {
  const MiB = 1024 * 1024;
  const recordOf = (bytes: number) => {
    const record = JSON.stringify({ Records: [kmsRecord({ eventId: `size-${bytes}`, userAgent: '' })] });
    return Buffer.from(record.replace('"userAgent":""', `"userAgent":"${'u'.repeat(bytes - record.length)}"`));
  };

  it('refuses a file larger on disk than the cap can hold without reading it, and keeps one just within it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kdm-cap-'));
    // Sparse: 3 GiB on disk for nothing. Reading it whole would fail (over 2 GiB) or take the memory the cap is for.
    const huge = join(dir, 'a-huge.json');
    closeSync(openSync(huge, 'w'));
    truncateSync(huge, 3 * 1024 * MiB);
    // Stored without compression, the gzip file is larger than the cap while its contents are within it.
    const within = recordOf(MiB - 100);
    writeFileSync(join(dir, 'b-within.json.gz'), gzipSync(within, { level: 0 }));
    expect(statSync(join(dir, 'b-within.json.gz')).size).toBeGreaterThan(MiB);

    const run = runKdm(['replay', dir, '--max-file-mb', '1', '--summary', 'json']);

    expect(run.status).toBe(2);
    expect(run.stderr).toContain(`kdm: error: ${huge}: file is 3072 MiB, more than the 1 MiB cap (--max-file-mb) can hold once read`);
    expect(run.stderr).not.toMatch(/b-within/);
    expect(summaryOf(run.stdout).records.processed).toBe(1);
    expect(summaryOf(run.stdout).files).toMatchObject({ read: 2, failed: 1 });
  });

  it('stops reading standard input past the cap and says so, with much more on offer', async () => {
    const child = spawn(process.execPath, [KDM, 'replay', '-', '--max-file-mb', '1', '--summary', 'json'], { cwd: REPO });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // 64 times the cap on offer: a replay that read its input whole would take all of it.
    const line = Buffer.from(`${JSON.stringify(kmsRecord({ eventId: 'endless' }))}\n`);
    const chunk = Buffer.concat(Array.from({ length: Math.ceil((256 * 1024) / line.length) }, () => line));
    const offer = 64 * MiB;
    let offered = 0;
    child.stdin.on('error', () => undefined);
    const feed = (): void => {
      while (child.stdin.writable && offered < offer) {
        offered += chunk.length;
        if (!child.stdin.write(chunk)) return void child.stdin.once('drain', feed);
      }
      if (child.stdin.writable) child.stdin.end();
    };
    feed();
    const status = await new Promise<number | null>((resolve) => child.on('close', resolve));

    expect(status).toBe(2);
    expect(offered).toBeLessThan(offer / 4);
    expect(stderr).toContain('kdm: error: <stdin>: standard input is more than the 1 MiB cap (--max-file-mb) can hold once read; its records were not read (give larger input as files)');
    expect(summaryOf(stdout).files).toMatchObject({ read: 1, failed: 1 });
  });
});

describe.runIf(hasDatasets)('kdm replay on the shared public datasets (9,136 real records)', () => {
  it('reads every record without crashing and accounts for each one', () => {
    const run = runKdm(['replay', DATASETS_DIR, '--summary', 'json']);

    const s = summaryOf(run.stdout);
    expect(s.records.read).toBe(allDatasetRecords().length);
    expect(s.records.read).toBe(9136);
    expect(s.records.processed + s.records.skipped + s.records.failed).toBe(s.records.read);
    // Hand-trimmed Panther fixtures lack eventTime or eventID: named as failures, the rest go on. Nine more are
    // network activity events, which need no eventID: S3's seven are kept for the rules that read them, and EC2's and
    // CloudTrail's are skipped as such.
    expect(s.records.failed).toBe(11);
    expect(s.records.skippedByReason['network-activity-event']).toBe(2);
    expect(s.events.network).toBe(7);
    expect(run.status).toBe(2);
    expect(s.events.kms).toBeGreaterThan(150);
    expect(s.events.s3).toBeGreaterThan(10);
    expect(run.stderr).not.toMatch(/unexpected error/);
  });

  it('tells of the S3 reads through a VPC endpoint with another account\'s credentials, and of the one its policy denied, in Panther\'s network activity test records', () => {
    const file = join(DATASETS_DIR, 'panther-analysis-tests', 'panther-analysis-test-events-s3.json.gz');
    const out = join(mkdtempSync(join(tmpdir(), 'kdm-vpce-')), 'findings.jsonl');
    const network = (datasetRecords(file) as Record<string, unknown>[]).filter((r) => r['eventCategory'] === 'NetworkActivity');
    const callers = (deniedToo: boolean) => network
      .filter((r) => (r['errorCode'] === 'VpceAccessDenied') === deniedToo)
      .map((r) => `${(r['userIdentity'] as { accountId: string }).accountId}>${(r['vpcEndpointAccountId'] ?? r['recipientAccountId']) as string}`);
    // Seven reads through endpoints: one denied, and two more let through for an account that does not own the endpoint.
    expect(network).toHaveLength(7);
    expect(callers(true)).toEqual(['111111111111>222222222222']);
    expect(callers(false).filter((c) => c.split('>')[0] !== c.split('>')[1])).toHaveLength(2);

    runKdm(['replay', file, '--findings', out]);
    const findings = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { GeneratorId: string; Description: string; Resources: { Type: string; Id: string }[] })
      .filter((f) => f.GeneratorId.startsWith('kms-decrypt-monitor/vpce-'));

    // The two outside callers' reads are one finding per endpoint: one names its endpoint, the other's record does not.
    expect(findings.map((f) => f.GeneratorId.split('/')[1]).sort()).toEqual(['vpce-access-denied', 'vpce-outside-credentials', 'vpce-outside-credentials']);
    const denied = findings.find((f) => f.GeneratorId === 'kms-decrypt-monitor/vpce-access-denied');
    expect(denied?.Description).toContain('account 111111111111 called S3 GetObject through VPC endpoint vpce-EXAMPLE08c1b6b9b7 of account 222222222222');
    expect(denied?.Resources).toContainEqual({ Type: 'Other', Id: 'arn:aws:ec2:us-east-1:222222222222:vpc-endpoint/vpce-EXAMPLE08c1b6b9b7', Partition: 'aws', Region: 'us-east-1' });
  });

  it('tells of a trail made to log one region only from the call (Panther\'s UpdateTrail test record), not from a VPC endpoint owner\'s network record of it', () => {
    const file = join(DATASETS_DIR, 'panther-analysis-tests', 'panther-analysis-test-events-other.json.gz');
    const dir = mkdtempSync(join(tmpdir(), 'kdm-trail-'));
    const singleRegionFindings = (out: string) => readFileSync(out, 'utf8').trim().split('\n').filter((l) => l !== '')
      .map((l) => JSON.parse(l) as { Severity: { Label: string }; Description: string; Resources: { Id: string }[] })
      .filter((f) => / made trail .* only/.test(f.Description));
    // Panther's record is a network activity event: the endpoint owner's record of the call, which is skipped.
    const [record, ...others] = (datasetRecords(file) as Record<string, unknown>[]).filter((r) => r['eventName'] === 'UpdateTrail');
    expect(others).toHaveLength(0);
    expect(record).toMatchObject({ eventCategory: 'NetworkActivity', eventType: 'AwsVpceEvent', requestParameters: { name: 'management-events', isMultiRegionTrail: false } });
    runKdm(['replay', file, '--findings', join(dir, 'network.jsonl')]);
    expect(singleRegionFindings(join(dir, 'network.jsonl'))).toEqual([]);

    // The call itself, a management event with the same parameters, is told of.
    writeFileSync(join(dir, 'call.json'), JSON.stringify({ Records: [{ ...record, eventCategory: 'Management', eventType: 'AwsApiCall', eventID: 'b1c2d3e4-0000-4000-8000-000000000335' }] }));
    runKdm(['replay', join(dir, 'call.json'), '--findings', join(dir, 'call.jsonl')]);
    const single = singleRegionFindings(join(dir, 'call.jsonl'));
    expect(single.map((f) => [f.Severity.Label, f.Resources[0]?.Id])).toEqual([['MEDIUM', 'arn:aws:cloudtrail:us-east-1:111111111111:trail/management-events']]);
    expect(single[0]?.Description).toMatch(/made trail management-events log us-east-1 only: KMS calls and S3 data events in every other region are no longer recorded/);
  });

  it('finds Panther\'s object copied under an attacker\'s key, not its twin copied under its own account\'s key, and reads a real console session\'s default encryption as SSE-S3', () => {
    const dir = join(DATASETS_DIR, 'panther-analysis-tests');
    const out = join(mkdtempSync(join(tmpdir(), 'kdm-foreign-key-')), 'findings.jsonl');
    runKdm(['replay', join(dir, 'panther-analysis-test-events-s3.json.gz'), '--findings', out]);

    const hostage = readFileSync(out, 'utf8').trim().split('\n')
      .map((l) => JSON.parse(l) as { GeneratorId: string; Severity: { Label: string }; Description: string })
      .filter((f) => f.GeneratorId.endsWith('s3-put-without-required-kms'));
    expect(hostage.map((f) => f.Severity.Label)).toEqual(['HIGH']);
    expect(hostage[0]?.Description).toMatch(/wrote s3:\/\/victim-data-bucket\/important-file\.txt of account 111111111111 .*under key arn:aws:kms:us-east-1:999999999999:key\/attacker-key-id of account 999999999999/);
    // Its object copied in place under a key the caller provided (SSE-C), as the Codefinger campaign did. The fixture
    // shares its eventID with four others, so a replay of the file drops it as a duplicate: it is replayed alone.
    const sseCRecord = datasetRecords(join(dir, 'panther-analysis-test-events-s3.json.gz')).filter((r) => JSON.stringify(r).includes('server-side-encryption-customer-algorithm'));
    expect(sseCRecord).toHaveLength(1);
    const alone = mkdtempSync(join(tmpdir(), 'kdm-sse-c-'));
    writeFileSync(join(alone, 'sse-c.json'), JSON.stringify({ Records: sseCRecord }));
    runKdm(['replay', alone, '--findings', join(alone, 'findings.jsonl')]);
    const sseC = readFileSync(join(alone, 'findings.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { GeneratorId: string; Severity: { Label: string }; Description: string });
    expect(sseC.map((f) => [f.GeneratorId, f.Severity.Label])).toEqual([['kms-decrypt-monitor/s3-put-without-required-kms', 'HIGH']]);
    expect(sseC[0]?.Description).toMatch(/copied an object to s3:\/\/example-bucket\/example-object .*under a key it provided itself \(SSE-C\)/);

    // Three buckets set to SSE-S3 in a real console session: a configuration that requires their key is told.
    const session = join(DATASETS_DIR, 'permiso-cloud-console-cartographer', 'permiso-console-session-events-s3.json.gz');
    const quiet = runKdm(['replay', session, '--summary', 'json']);
    expect(summaryOf(quiet.stdout).findings.byRule['s3-bucket-default-key-changed']).toBeUndefined();
    const config = join(mkdtempSync(join(tmpdir(), 'kdm-required-')), 'kdm.config.yaml');
    // The session's bucket names are anonymised with capitals, which S3 refuses: a pattern reaches them.
    writeFileSync(config, "buckets:\n  - name: 'random*'\n    requiredKmsKey: alias/buckets\n");
    const told = summaryOf(runKdm(['replay', session, '--summary', 'json', '--config', config]).stdout);
    expect(told.findings.byRule['s3-bucket-default-key-changed']).toBe(3);
  });

  it('tells each thing done to one trail in its own finding, at the severity of what it says (a real console session)', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'kdm-trail-')), 'findings.jsonl');
    const run = runKdm(['replay', join(DATASETS_DIR, 'permiso-cloud-console-cartographer', 'permiso-console-session-events-other.json.gz'), '--findings', out]);

    expect(run.status).toBe(0);
    const trailFindings = readFileSync(out, 'utf8').trim().split('\n')
      .map((l) => JSON.parse(l) as { GeneratorId: string; Severity: { Label: string }; Description: string; Resources: { Id: string }[] })
      .filter((f) => f.GeneratorId.endsWith('cloudtrail-kms-blind-spot') && f.Description.includes('myTrailName'))
      .map((f) => [f.Severity.Label, f.Description.slice(0, f.Description.indexOf(' trail ')), f.Resources[0]?.Id]);
    // The session set the selectors to management events only, then stopped logging, then deleted the trail.
    const trail = 'arn:aws:cloudtrail:us-east-2:200802171337:trail/myTrailName';
    expect(trailFindings).toEqual([
      ['MEDIUM', 'a caller the record does not name (it has no userIdentity) changed the event selectors of', trail],
      ['HIGH', 'a caller the record does not name (it has no userIdentity) stopped logging on', trail],
      ['HIGH', 'a caller the record does not name (it has no userIdentity) deleted', trail],
    ]);
  });
});

describe('kdm replay on Event history output (aws cloudtrail lookup-events)', () => {
  // A finding's description may count what was read before it was decided (the object reads of its bucket), which
  // moves with where batches end: its id, events and severity do not.
  const findingsOf = (file: string): unknown[] =>
    readFileSync(file, 'utf8').trim().split('\n').map((l) => {
      const f = JSON.parse(l) as { Id: string; Severity: { Label: string }; Description: string; ProductFields: Record<string, string> };
      // The description too: what a finding says must not depend on how the input was split into files or batches.
      return [f.Id, f.Severity.Label, f.ProductFields['kdm/EventCount'], f.ProductFields['kdm/EventIds'], f.Description];
    });
  const replayed = (paths: readonly string[], threads: string) => {
    const out = join(mkdtempSync(join(tmpdir(), 'kdm-lookup-out-')), 'findings.jsonl');
    const run = runKdm(['replay', ...paths, '--threads', threads, '--summary', 'json', '--findings', out]);
    const summary = JSON.parse(run.stdout) as Record<string, unknown>;
    delete summary['durationMs'];
    delete summary['files'];
    return { status: run.status, summary, findings: findingsOf(out), stderr: run.stderr };
  };

  it.skipIf(!hasDatasets)('reads every one of the shared datasets\' real records given as lookup-events output, and fails the same ones for the same reasons, on one thread and on reader threads', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kdm-lookup-'));
    const files = datasetFiles();
    // As the CLI prints it: pretty-printed with four spaces, one file per lookup.
    files.forEach((file, i) => writeFileSync(join(dir, `lookup-${i}.json`), JSON.stringify(lookupEventsOutput(datasetRecords(file)), null, 4)));
    const size = readdirSync(dir).reduce((total, f) => total + statSync(join(dir, f)).size, 0);
    expect(size).toBeGreaterThan(READER_THREADS_FROM_BYTES);

    const delivered = replayed([DATASETS_DIR], '1');
    const looked = replayed([dir], '1');
    const lookedThreaded = replayed([dir], '3');

    // A lookup's events are read in the order of their times, and the fixtures' times span 2014 to 2026 in no order:
    // which copies of an id are told as duplicates, and what is late, follow the order, and the totals do not.
    expect(looked.summary['records']).toMatchObject({ read: 9136, failed: 11 });
    expect(looked.status).toBe(delivered.status);
    expect(lookedThreaded).toEqual(looked);
    // The records that fail, fail for the same reasons, named by lookup file and place in its Events.
    const reasons = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('kdm: error:')).map((l) => l.replace(/^kdm: error: .*? record (\d+): /, 'record $1: ')).sort();
    expect(reasons(looked.stderr)).toEqual(reasons(delivered.stderr));
    expect(reasons(looked.stderr)).toHaveLength(11);
  });

  /** A directory's log files in the order a replay of the directory reads them (by name, as bytes). */
  const logFilesOf = (dir: string): string[] =>
    readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.json.gz') && !f.includes('CloudTrail-Digest')).map((f) => join(dir, f)).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  /** The files as one text: delivery files as cat *.json.gz joins them, and their records as lookups >> appends them. */
  const joinedForms = (files: readonly string[]): { readonly catted: string; readonly appended: string } => {
    const dir = mkdtempSync(join(tmpdir(), 'kdm-joined-'));
    writeFileSync(join(dir, 'catted.json.gz'), Buffer.concat(files.map((f) => readFileSync(f))));
    writeFileSync(join(dir, 'appended.json'), files.map((f) => `${JSON.stringify(lookupEventsOutput(datasetRecords(f)), null, 4)}\n`).join(''));
    return { catted: join(dir, 'catted.json.gz'), appended: join(dir, 'appended.json') };
  };

  it('reads a simulation joined into one text, its delivery files as cat *.json.gz joins them and as lookups >> appends them, as it reads the files: the same summary and findings, on one thread and on reader threads', () => {
    const sim = mkdtempSync(join(tmpdir(), 'kdm-joined-sim-'));
    expect(runKdm(['simulate', '--out', sim, '--events', '20000', '--anomalies', '--seed', '5']).status).toBe(0);
    const { catted, appended } = joinedForms(logFilesOf(sim));
    expect(statSync(appended).size).toBeGreaterThan(READER_THREADS_FROM_BYTES);

    const delivered = replayed([sim], '1');
    expect(delivered.findings.length).toBeGreaterThan(30);
    for (const threads of ['1', '3']) {
      for (const path of [catted, appended]) {
        const joined = replayed([path], threads);
        expect(joined.summary).toEqual(delivered.summary);
        expect(joined.findings).toEqual(delivered.findings);
        expect(joined.status).toBe(0);
        expect(joined.stderr).toBe('');
      }
    }
  });

  it('reads lookups by event source, each newest first as LookupEvents returns them, joined into one text (cat history-*.json | kdm replay -), as it reads the delivery files of the same records', () => {
    const sim = mkdtempSync(join(tmpdir(), 'kdm-lookups-sim-'));
    expect(runKdm(['simulate', '--out', sim, '--events', '20000', '--anomalies', '--seed', '5']).status).toBe(0);
    const records = logFilesOf(sim).flatMap((f) => datasetRecords(f)) as { eventSource: string; eventTime: string }[];
    const newestFirst = [...records].sort((a, b) => Date.parse(b.eventTime) - Date.parse(a.eventTime));
    const sources = [...new Set(records.map((r) => r.eventSource))].sort();
    expect(sources.length).toBeGreaterThan(1);
    const text = sources.map((source) => `${JSON.stringify(lookupEventsOutput(newestFirst.filter((r) => r.eventSource === source)), null, 4)}\n`).join('');

    const out = join(mkdtempSync(join(tmpdir(), 'kdm-lookups-out-')), 'findings.jsonl');
    const run = runKdm(['replay', '-', '--summary', 'json', '--findings', out], text);
    const summary = JSON.parse(run.stdout) as Record<string, unknown>;
    delete summary['durationMs'];
    delete summary['files'];
    const delivered = replayed([sim], '1');

    expect(run.stderr).toBe('');
    expect(summary).toEqual(delivered.summary);
    expect(findingsOf(out)).toEqual(delivered.findings);
    expect(summary['events']).toMatchObject({ late: 0 });

    // The same lookups as files of their own (history-*.json, a lookup a file), on one thread and on reader threads:
    // read together, as the one text is, and each file counted as read.
    const dir = mkdtempSync(join(tmpdir(), 'kdm-lookups-apart-'));
    sources.forEach((source, i) => writeFileSync(join(dir, `history-${i}.json`), JSON.stringify(lookupEventsOutput(newestFirst.filter((r) => r.eventSource === source)))));
    for (const threads of ['1', '3']) {
      const apart = runKdm(['replay', dir, '--threads', threads, '--summary', 'json', '--findings', out]);
      const apartSummary = JSON.parse(apart.stdout) as Record<string, unknown>;
      expect(apartSummary['files']).toEqual({ read: sources.length, failed: 0, skipped: 0, skippedByReason: {} });
      delete apartSummary['durationMs'];
      delete apartSummary['files'];
      expect(apart.stderr).toBe('');
      expect(apartSummary).toEqual(delivered.summary);
      expect(findingsOf(out)).toEqual(delivered.findings);
    }

    // Beside a trail's files, read by reader threads or on this thread, before the lookups or after them: the same.
    for (const paths of [[sim, dir], [dir, sim]]) {
      const [alone, threaded] = ['1', '3'].map((threads) => replayed(paths, threads));
      expect(threaded).toEqual(alone);
      expect(alone?.status).toBe(0);
    }

    // Lookups that hold more text together than --max-file-mb lets a replay hold are read as before: each in its own
    // order, one after another, the second's events months behind the first's. Said, and counted.
    const sizes = readdirSync(dir).map((f) => statSync(join(dir, f)).size);
    const capMb = Math.ceil(Math.max(...sizes) / 1048576);
    const total = sizes.reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThan(capMb * 1048576);
    const apart = runKdm(['replay', dir, '--threads', '1', '--max-file-mb', String(capMb), '--summary', 'json']);
    const late = (JSON.parse(apart.stdout) as { events: { late: number } }).events.late;
    expect(late).toBeGreaterThan(1000);
    expect(apart.stderr).toBe(lookupsReadApartNote(sources.length, total, capMb * 1048576) + lateEventsNote(late, DEFAULT_ENGINE_CONFIG.correlation.latenessMs));
  });

  it('reads lookups given as files together, beside a trail\'s files; names a lookup\'s bad event by its file and place; notes each file in the database with its records', async () => {
    // The sample trail's files of one account as lookups, and its other account's file as it was delivered.
    const trailFiles = logFilesOf(join(REPO, 'events', 'cloudtrail')).filter((f) => f.includes('_CloudTrail_'));
    const delivered = trailFiles.filter((f) => f.includes('/444455556666_'));
    expect(delivered).toHaveLength(1);
    const records = trailFiles.filter((f) => !delivered.includes(f)).flatMap((f) => datasetRecords(f)) as { eventSource: string; eventTime: string }[];
    const newestFirst = [...records].sort((a, b) => Date.parse(b.eventTime) - Date.parse(a.eventTime));
    const dir = mkdtempSync(join(tmpdir(), 'kdm-lookups-db-'));
    const kms = newestFirst.filter((r) => r.eventSource === 'kms.amazonaws.com');
    const others = newestFirst.filter((r) => r.eventSource !== 'kms.amazonaws.com');
    expect(kms.length).toBeGreaterThan(1);
    expect(others.length).toBeGreaterThan(1);
    const broken = lookupEventsOutput(others) as { Events: Record<string, unknown>[] };
    // Its third event lost its record: said as the third of that file's events, the rest read.
    delete (broken.Events[2] as Record<string, unknown>)['CloudTrailEvent'];
    writeFileSync(join(dir, 'history-kms.json'), JSON.stringify(lookupEventsOutput(kms), null, 4));
    writeFileSync(join(dir, 'history-other.json'), JSON.stringify(broken, null, 4));
    const deliveredFile = delivered[0] as string;
    copyFileSync(deliveredFile, join(dir, deliveredFile.slice(deliveredFile.lastIndexOf('/') + 1)));
    const db = join(mkdtempSync(join(tmpdir(), 'kdm-lookups-ledger-')), 'ledger.duckdb');

    const first = runKdm(['replay', dir, '--db', db, '--summary', 'json']);
    const summary = JSON.parse(first.stdout) as { files: unknown; records: { read: number; failed: number }; events: { late: number } };
    expect(first.status).toBe(2);
    expect(first.stderr).toBe(`kdm: error: ${join(dir, 'history-other.json')} record 2: an Event history event (aws cloudtrail lookup-events) without its CloudTrailEvent, the record itself: kdm reads the record, not the summary beside it (keep CloudTrailEvent in the output, e.g. no --query that leaves it out)\n`);
    expect(summary.files).toEqual({ read: 3, failed: 0, skipped: 0, skippedByReason: {} });
    expect(summary.records).toMatchObject({ read: records.length + datasetRecords(deliveredFile).length, failed: 1 });
    expect(summary.events.late).toBe(0);

    const again = runKdm(['replay', dir, '--db', db, '--summary', 'json']);
    expect(again.status).toBe(0);
    expect((JSON.parse(again.stdout) as { files: unknown }).files).toEqual({ read: 0, failed: 0, skipped: 3, skippedByReason: { 'already-replayed': 3 } });
    // Each file noted with the records read from it (the broken event is not among them).
    const noted = await queryDatabase<{ records: number }>(db, 'SELECT records::INT AS records FROM ingested_files');
    expect(noted.map((f) => f.records).sort((x, y) => x - y)).toEqual([kms.length, others.length - 1, datasetRecords(deliveredFile).length].sort((x, y) => x - y));
  });

  it.skipIf(!hasDatasets)('reads every record of the shared datasets joined into one text, and fails the same ones for the same reasons', () => {
    const { catted, appended } = joinedForms(logFilesOf(DATASETS_DIR));
    const delivered = replayed([DATASETS_DIR], '1');
    const reasons = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('kdm: error:')).map((l) => l.replace(/^kdm: error: .*? record \d+: /, '')).sort();

    for (const path of [catted, appended]) {
      const joined = replayed([path], '3');
      // Their times span 2014 to 2026 out of order, so which copies of an id are told as duplicates depends on how
      // records fall into batches (a copy that comes after its id's entry expired is read again): the totals do not.
      expect(joined.summary['records']).toMatchObject({ read: 9136, failed: 11 });
      expect(reasons(joined.stderr)).toEqual(reasons(delivered.stderr));
      expect(joined.status).toBe(2);
    }
  });

  const sampleDayRecords = (): unknown[] =>
    readdirSync('events/cloudtrail', { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.json.gz') && !f.includes('CloudTrail-Digest'))
      .sort()
      .flatMap((f) => datasetRecords(join(REPO, 'events/cloudtrail', f)));

  it('reads the sample day from a page of lookup-events output, finds what the delivery files give, and warns that a NextToken means more events matched', () => {
    const records = sampleDayRecords();
    const dir = mkdtempSync(join(tmpdir(), 'kdm-lookup-page-'));
    const page = join(dir, 'kms-events.json');
    writeFileSync(page, JSON.stringify(lookupEventsOutput(records, 'eyJOZXh0VG9rZW4iOiAiMSJ9'), null, 4));

    const run = runKdm(['replay', page, '--summary', 'json']);

    expect(run.status).toBe(0);
    expect(run.stderr).toBe(`kdm: warning: ${page}: ${ONE_PAGE_OF_A_LOOKUP}\n`);
    const s = summaryOf(run.stdout);
    expect(s.files).toEqual({ read: 1, failed: 0, skipped: 0, skippedByReason: {} });
    expect(s.records).toMatchObject({ read: records.length, failed: 0 });
    expect(s.findings.total).toBe(summaryOf(runKdm(['replay', 'events/', '--summary', 'json']).stdout).findings.total);
  });

  it('reads lookup-events output as Windows PowerShell\'s > saves it (UTF-16LE with a byte-order mark), on one thread and on reader threads', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kdm-lookup-utf16-'));
    const text = JSON.stringify(lookupEventsOutput(sampleDayRecords()), null, 4).replaceAll('\n', '\r\n');
    writeFileSync(join(dir, 'kms-events.json'), Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`${text}\r\n`, 'utf16le')]));

    const one = replayed([dir], '1');
    const threaded = replayed([dir], '3');
    const asUtf8 = join(mkdtempSync(join(tmpdir(), 'kdm-lookup-utf8-')), 'kms-events.json');
    writeFileSync(asUtf8, text);

    expect(one.status).toBe(0);
    expect(one.stderr).toBe('');
    expect(one.summary).toEqual(replayed([asUtf8], '1').summary);
    expect(one.findings.length).toBeGreaterThan(0);
    expect(threaded).toEqual(one);
  });
});

describe('kdm replay --threads', () => {
  it.skipIf(!hasDatasets)('gives the same summary and findings reading on one or two more threads as on one (shared datasets, events/, a simulation)', () => {
    const sim = mkdtempSync(join(tmpdir(), 'kdm-threads-'));
    expect(runKdm(['simulate', '--out', sim, '--events', '20000', '--anomalies', '--seed', '5']).status).toBe(0);
    const run = (threads: string) => {
      const out = join(mkdtempSync(join(tmpdir(), 'kdm-threads-out-')), 'findings.jsonl');
      const r = runKdm(['replay', DATASETS_DIR, 'events/', sim, '--threads', threads, '--summary', 'json', '--findings', out]);
      const summary = JSON.parse(r.stdout) as Record<string, unknown>;
      delete summary['durationMs'];
      const findings = readFileSync(out, 'utf8').trim().split('\n').map((l) => {
        const f = JSON.parse(l) as { Id: string; ProductFields: Record<string, string> };
        return [f.Id, f.ProductFields['kdm/EventCount'], f.ProductFields['kdm/EventIds']];
      });
      return { status: r.status, summary, findings, stderr: r.stderr };
    };

    const one = run('1');
    const two = run('2');
    const three = run('3');

    expect(two.status).toBe(one.status);
    expect(two.summary).toEqual(one.summary);
    expect(two.findings).toEqual(one.findings);
    expect(two.stderr).toBe(one.stderr);
    expect(three).toEqual(two);
    expect(one.findings.length).toBeGreaterThan(30);
  });

  it('tells of the monitor\'s EventBridge rule disabled, reading on one thread or on reader threads (whose records cross threads encoded)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kdm-tamper-'));
    const record = {
      eventVersion: '1.09', eventTime: '2026-10-01T12:00:00Z', eventSource: 'events.amazonaws.com', eventName: 'DisableRule', awsRegion: 'eu-west-1',
      userIdentity: { type: 'AssumedRole', arn: 'arn:aws:sts::444455556666:assumed-role/DevOps/mallory', accountId: '444455556666' },
      sourceIPAddress: '198.51.100.7', userAgent: 'aws-cli/2.17.0', requestParameters: { name: 'kms-decrypt-monitor-kms-calls' },
      eventID: '0b6a7c1e-0000-4000-8000-000000000001', readOnly: false, eventType: 'AwsApiCall', recipientAccountId: '444455556666',
    };
    writeFileSync(join(dir, 'events.json'), JSON.stringify({ Records: [record] }));

    for (const threads of ['1', '2']) {
      const run = runKdm(['replay', dir, '--threads', threads, '--findings', '-']);
      const findings = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as { GeneratorId: string; Severity: { Label: string }; Description: string });

      expect(run.status, threads).toBe(0);
      expect(findings.map((f) => [f.GeneratorId, f.Severity.Label]), threads).toEqual([['kms-decrypt-monitor/eventbridge-monitor-rule-tampered', 'HIGH']]);
      expect(findings[0]?.Description).toMatch(/DevOps \(session mallory\) disabled the monitor's EventBridge rule kms-decrypt-monitor-kms-calls on event bus default in eu-west-1/);
    }
  });

  it('refuses a thread count it cannot use', () => {
    for (const n of ['0', '5', '1.5', 'two']) expect(runKdm(['replay', 'events/', '--threads', n]).stderr).toMatch(/--threads must be a whole number from 1 to 4/);
  });

  it.runIf(availableParallelism() > 1)('reads less than 2 MiB on its own thread unless told, and more, or what is left to read of it, on one reader, or two where they read in JavaScript', () => {
    // A replay run with a preload that counts the worker threads that came online and those given files.
    const COUNTER = join(REPO, 'test', 'fixtures', 'threads', 'count-readers.mjs');
    const ADDED_LOG = '111122223333_CloudTrail_us-east-1_20261001T0925Z_a1b2c3d4e5f6a7b8.json.gz';
    const run = (args: readonly string[], env: Readonly<Record<string, string>> = {}) =>
      spawnSync(process.execPath, ['--import', COUNTER, KDM, 'replay', ...args, '--summary', 'json'], { cwd: REPO, encoding: 'utf8', env: { ...process.env, ...env } });
    const replay = (args: readonly string[], env: Readonly<Record<string, string>> = {}) => {
      const r = run(args, env);
      expect(r.status, r.stderr).toBe(0);
      const summary = summaryOf(r.stdout) as unknown as Record<string, unknown>;
      delete summary['durationMs'];
      return { summary, threads: /worker threads: (\d+) online, (\d+) given work/.exec(r.stderr)?.slice(1).map(Number) };
    };
    const sim = mkdtempSync(join(tmpdir(), 'kdm-threads-'));
    expect(runKdm(['simulate', '--out', sim, '--events', '30000', '--seed', '9']).status).toBe(0);
    const logs = readdirSync(sim, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.json.gz'));
    expect(logs.reduce((n, f) => n + statSync(join(sim, f)).size, 0)).toBeGreaterThan(READER_THREADS_FROM_BYTES);

    const small = replay(['events/']);
    expect(small.threads).toEqual([0, 0]);
    expect(replay(['events/', '--threads', '3'])).toEqual({ ...small, threads: [2, 2] });

    // Where this machine built the native reader, one reader; its absence is covered by KDM_NATIVE=off below.
    const readers = nativeReaderStatus().state === 'on' ? DEFAULT_THREADS - 1 : DEFAULT_THREADS_READING_JAVASCRIPT - 1;
    const large = replay([sim]);
    expect(large.threads).toEqual([readers, readers]);
    expect(replay([sim, '--threads', '1'])).toEqual({ ...large, threads: [0, 0] });
    const readersInJavaScript = DEFAULT_THREADS_READING_JAVASCRIPT - 1;
    expect(readersInJavaScript).toBe(2);
    expect(replay([sim], { KDM_NATIVE: 'off' })).toEqual({ ...large, threads: [readersInJavaScript, readersInJavaScript] });

    // Into a database: what is left to read once planned decides. The second replay finds every file in it but one
    // added since, so the readers started for the listing are given nothing, and ended: the one file is read here.
    const db = join(mkdtempSync(join(tmpdir(), 'kdm-threads-db-')), 'kdm.duckdb');
    expect(replay([sim, '--db', db]).threads).toEqual([readers, readers]);
    const added = join(sim, 'added');
    mkdirSync(added);
    copyFileSync(join(REPO, 'events', 'cloudtrail', 'AWSLogs', '111122223333', 'CloudTrail', 'us-east-1', '2026', '10', '01', ADDED_LOG), join(added, ADDED_LOG));
    const again = replay([sim, '--db', db]);
    expect(again.threads?.[1]).toBe(0);
    expect(again.summary['files']).toMatchObject({ read: 1 });

    // A replay that fails once its readers may have started ends them, and exits (a thread left running would keep
    // the process, and this test, waiting): a database that cannot be opened, findings over a log it reads.
    const directory = mkdtempSync(join(tmpdir(), 'kdm-threads-dir-'));
    const unopened = run([sim, '--db', directory]);
    expect(unopened.status).toBe(1);
    expect(unopened.stderr).toContain('is a directory, not a database file');
    const overLog = run([sim, '--findings', join(sim, logs[0] as string)]);
    expect(overLog.status).toBe(1);
    expect(overLog.stderr).toMatch(/it is a log file this replay reads/);
  });
});

describe('kdm replay --from --to: a window of event time', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kdm-window-'));
  const sim = join(dir, 'sim');
  const fromMs = Date.parse('2026-10-08T00:00:00Z');
  const toMs = Date.parse('2026-10-09T23:59:59.999Z');
  const logsOf = (root: string): string[] =>
    readdirSync(root, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.json.gz'))
      .map((f) => join(root, f))
      .sort();
  const timesOf = (file: string): number[] => (JSON.parse(gunzipSync(readFileSync(file)).toString('utf8')) as { Records: { eventTime: string }[] }).Records.map((r) => Date.parse(r.eventTime));

  /** A directory of a trail's log files, each written under the name a trail gives it for its delivery minute (`20261010T1159Z`). */
  const trailNamedByDelivery = (name: string): { trail: string; write: (delivered: string, records: readonly unknown[]) => void } => {
    const trail = join(dir, name);
    mkdirSync(trail);
    return { trail, write: (delivered, records) => writeFileSync(join(trail, `111122223333_CloudTrail_us-east-1_${delivered}_x.json.gz`), gzipSync(JSON.stringify({ Records: records }))) };
  };

  it('reads no log file a trail delivered before --from, nor a day after --to, evaluates the window\'s events only, and counts every other record it read as skipped', () => {
    expect(runKdm(['simulate', '--out', sim, '--events', '4000', '--days', '10', '--seed', '3', '--anomalies']).status).toBe(0);
    const logs = logsOf(sim);
    const deliveredIn = (f: string): string => /_(\d{8}T\d{4}Z)_/.exec(f)?.[1] ?? '';
    // Named for its delivery, after its last record: such a file delivered before --from holds none of the window. One
    // delivered in the correlation window's minute before --from is read, for the S3 requests of the calls at the edge.
    const deliveredBefore = logs.filter((f) => Math.max(...timesOf(f)) < fromMs && deliveredIn(f) < '20261007T2359Z');
    // Delivered in a minute that begins more than a day (the default --delivery-lag) and the correlation window after --to.
    const deliveredAfter = logs.filter((f) => deliveredIn(f) > '20261011T0001Z');
    const read = logs.filter((f) => !deliveredBefore.includes(f) && !deliveredAfter.includes(f));
    const inWindow = read.flatMap(timesOf).filter((t) => t >= fromMs && t <= toMs).length;
    expect(deliveredBefore.length).toBeGreaterThan(5);
    expect(deliveredAfter.length).toBeGreaterThan(0);
    // The files left unread after --to hold none of the window's records (kdm simulate delivers in minutes, as trails do).
    expect(deliveredAfter.flatMap(timesOf).filter((t) => t <= toMs)).toEqual([]);
    // Unreadable, they would fail the run were they read.
    writeFileSync(deliveredBefore[0] as string, 'not gzip');
    writeFileSync(deliveredAfter[0] as string, 'not gzip');

    const run = runKdm(['replay', sim, '--from', '2026-10-08', '--to', '2026-10-09', '--summary', 'json', '--findings', join(dir, 'window.jsonl')]);

    expect(run.status).toBe(0);
    const s = summaryOf(run.stdout);
    expect(s.files).toEqual({
      read: read.length,
      failed: 0,
      skipped: deliveredBefore.length + deliveredAfter.length + 1,
      // The one more: kdm simulate's labels beside the logs.
      skippedByReason: { 'delivered-after-to': deliveredAfter.length, 'delivered-before-from': deliveredBefore.length, 'not-a-log-file': 1 },
    });
    expect(s.records.read).toBe(read.flatMap(timesOf).length);
    expect(s.records.skippedByReason).toEqual({ 'outside-time-range': s.records.read - inWindow });
    expect(s.records.processed).toBe(inWindow);
    expect(run.stderr).toContain(`kdm: skipped ${deliveredBefore.length} log files a trail delivered before --from 2026-10-08, unread: a file holds only records written before its delivery\n`);
    expect(run.stderr).toContain(`kdm: skipped ${deliveredAfter.length} log file${deliveredAfter.length === 1 ? '' : 's'} a trail delivered more than 1d after --to 2026-10-09, unread: CloudTrail delivers a record in about 5 minutes, so they hold none of the window's unless its delivery was held up (--delivery-lag any reads them)\n`);
    expect(run.stderr).not.toMatch(/error/);
    const findings = readFileSync(join(dir, 'window.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { FirstObservedAt: string; LastObservedAt: string });
    expect(findings.length).toBeGreaterThan(5);
    for (const f of findings) {
      expect(Date.parse(f.FirstObservedAt)).toBeGreaterThanOrEqual(fromMs);
      expect(Date.parse(f.LastObservedAt)).toBeLessThanOrEqual(toMs);
    }
  });

  it('matches an S3-made call just inside --to with its S3 request just after it, so the window\'s edge raises no false finding', () => {
    const edgeSim = join(dir, 'edge-sim');
    expect(runKdm(['simulate', '--out', edgeSim, '--events', '4000', '--days', '10', '--seed', '3', '--anomalies']).status).toBe(0);
    interface Trail { readonly eventID: string; readonly eventTime: string; readonly eventName: string; readonly userIdentity: { readonly arn?: string }; readonly requestParameters?: { readonly encryptionContext?: Record<string, string>; readonly bucketName?: string; readonly key?: string } }
    const records = logsOf(edgeSim).flatMap((f) => (JSON.parse(gunzipSync(readFileSync(f)).toString('utf8')) as { Records: Trail[] }).Records);
    const reads = records.filter((r) => r.eventName === 'GetObject');
    // The last Decrypt after the learning week that S3 made for a read whose data event comes after it, within seconds.
    const learnedMs = Date.parse('2026-10-08T00:00:00Z');
    const edge = records.findLast((k) => {
      const arn = k.requestParameters?.encryptionContext?.['aws:s3:arn'];
      const atMs = Date.parse(k.eventTime);
      return k.eventName === 'Decrypt' && arn?.includes('/') === true && atMs > learnedMs &&
        reads.some((g) => `arn:aws:s3:::${g.requestParameters?.bucketName ?? ''}/${g.requestParameters?.key ?? ''}` === arn && g.userIdentity.arn === k.userIdentity.arn && Date.parse(g.eventTime) > atMs && Date.parse(g.eventTime) - atMs < 10_000);
    });
    expect(edge).toBeDefined();

    const run = runKdm(['backtest', edgeSim, '--to', edge?.eventTime ?? '']);

    // Every label before the edge detected, and no finding on an unlabelled event: the call at the edge was matched.
    expect(run.stderr).not.toMatch(/error/);
    expect(run.stdout).toMatch(/^Precision {2}1\.000 /m);
    expect(run.status).toBe(0);
  });

  it('reads a log file delivered in the minute before --from, for the S3 request of a call just inside it', () => {
    const { trail, write } = trailNamedByDelivery('edge-trail');
    const fromMs = Date.parse('2026-10-10T12:00:00Z');
    const who = { role: 'Analyst', session: 'alice' };
    // Delivered by 12:00:00: only records written before --from, one of them the S3 request of the call just after it.
    write('20261010T1159Z', [s3Record({ who, bucket: 'reports', key: 'q3.pdf', atMs: fromMs - 800 })]);
    // The call, and a read of another object in the window: the bucket's reads are logged, so an unmatched call is a finding.
    write('20261010T1205Z', [kmsRecord({ who, s3Arn: 'arn:aws:s3:::reports/q3.pdf', atMs: fromMs + 200 }), s3Record({ who, bucket: 'reports', key: 'other.pdf', atMs: fromMs + 60_000 })]);

    const run = runKdm(['replay', trail, '--from', '2026-10-10T12:00:00Z', '--summary', 'json']);

    expect(run.status).toBe(0);
    expect(run.stderr).toBe('');
    const s = summaryOf(run.stdout) as SummaryJson & { correlation: { object: number; none: number } };
    expect(s.files).toMatchObject({ read: 2, skipped: 0 });
    expect(s.records).toMatchObject({ read: 3, processed: 2, skippedByReason: { 'outside-time-range': 1 } });
    expect(s.correlation).toMatchObject({ object: 1, none: 0 });
    expect(s.findings.total).toBe(0);
  });

  it('reads the files a trail delivered within --delivery-lag after --to, a day unless told, and every file with any', () => {
    const { trail, write } = trailNamedByDelivery('late-trail');
    const toMs = Date.parse('2026-10-10T12:00:00Z');
    const who = { role: 'Analyst', session: 'alice' };
    write('20261010T1205Z', [kmsRecord({ who, eventId: 'on-time', atMs: toMs - 600_000 })]);
    // A delivery held up for 20 hours, with a call of the window.
    write('20261011T0800Z', [kmsRecord({ who, eventId: 'held-up', atMs: toMs - 300_000 }), kmsRecord({ who, eventId: 'next-day', atMs: toMs + 19 * 3_600_000 })]);
    write('20261013T1205Z', [kmsRecord({ who, eventId: 'days-later', atMs: toMs + 3 * 86_400_000 })]);
    const replayed = (...lag: string[]) => {
      const run = runKdm(['replay', trail, '--to', '2026-10-10T12:00:00Z', ...lag, '--summary', 'json']);
      expect(run.status).toBe(0);
      return { stderr: run.stderr, s: summaryOf(run.stdout) };
    };

    const byDefault = replayed();
    const sixHours = replayed('--delivery-lag', '6h');
    const any = replayed('--delivery-lag', 'any');

    expect(byDefault.s.files).toEqual({ read: 2, failed: 0, skipped: 1, skippedByReason: { 'delivered-after-to': 1 } });
    expect(byDefault.s.records).toMatchObject({ read: 3, processed: 2, skippedByReason: { 'outside-time-range': 1 } });
    expect(byDefault.stderr).toBe("kdm: skipped 1 log file a trail delivered more than 1d after --to 2026-10-10T12:00:00Z, unread: CloudTrail delivers a record in about 5 minutes, so they hold none of the window's unless its delivery was held up (--delivery-lag any reads them)\n");
    expect(sixHours.s.files).toEqual({ read: 1, failed: 0, skipped: 2, skippedByReason: { 'delivered-after-to': 2 } });
    expect(sixHours.s.records).toMatchObject({ read: 1, processed: 1 });
    expect(sixHours.stderr).toMatch(/^kdm: skipped 2 log files a trail delivered more than 6h after --to 2026-10-10T12:00:00Z, unread: /);
    expect((byDefault.s as SummaryJson & { window: unknown }).window).toEqual({ from: null, to: '2026-10-10T12:00:00.000Z', learnFrom: null, deliveryLagMs: 86_400_000 });
    expect((any.s as SummaryJson & { window: unknown }).window).toEqual({ from: null, to: '2026-10-10T12:00:00.000Z', learnFrom: null, deliveryLagMs: null });
    expect(runKdm(['replay', trail, '--to', '2026-10-10T12:00:00Z', '--delivery-lag', '6h']).stdout).toContain('\nWindow    to 2026-10-10T12:00:00.000Z, files delivered up to 6h after it\n');
    expect(runKdm(['replay', trail, '--to', '2026-10-10T12:00:00Z', '--delivery-lag', 'any']).stdout).toContain('\nWindow    to 2026-10-10T12:00:00.000Z\n');
    expect(any.s.files).toEqual({ read: 3, failed: 0, skipped: 0, skippedByReason: {} });
    expect(any.s.records).toMatchObject({ read: 4, processed: 2, skippedByReason: { 'outside-time-range': 2 } });
    expect(any.stderr).toBe('');
  });

  it('refuses a --delivery-lag without --to, or that is no duration', () => {
    expect(runKdm(['replay', 'events/', '--from', '2026-10-01', '--delivery-lag', '2d']).stderr).toBe('kdm: --delivery-lag needs --to: it says which files delivered after the window ends may still hold its records\n');
    expect(runKdm(['replay', 'events/', '--to', '2026-10-01', '--delivery-lag', 'soon']).stderr).toBe('kdm: --delivery-lag must be a duration such as 6h or 2d, or any to read every file after --to (got "soon")\n');
    expect(runKdm(['replay', 'events/', '--db', join(dir, 'lag.duckdb'), '--delivery-lag', '2d']).stderr).toMatch(/^kdm: --from and --to replay a window of time, and --db keeps a continuous history/);
  });

  it('says when no event read lies inside the window, and when the events read lie', () => {
    const all = summaryOf(runKdm(['replay', 'events/', '--summary', 'json']).stdout) as SummaryJson & { events: { firstEventTime: string; lastEventTime: string } };
    expect('window' in all).toBe(false);
    const events = all.records.processed + (all.records.skippedByReason['duplicate'] ?? 0);

    // Every file read: the trail's, delivered years after --to, are otherwise skipped unread (and said to be).
    const run = runKdm(['replay', 'events/', '--from', '2020-01-01', '--to', '2020-02-01', '--delivery-lag', 'any', '--summary', 'json']);

    expect(run.status).toBe(0);
    expect(summaryOf(run.stdout).records.skippedByReason['outside-time-range']).toBe(events);
    expect(run.stderr).toContain(`kdm: note: no event read lies inside --from 2020-01-01 --to 2020-02-01: the ${events} events read run from ${all.events.firstEventTime} to ${all.events.lastEventTime}\n`);
    expect(runKdm(['replay', 'events/', '--from', '2020-01-01', '--to', '2020-02-01']).stderr).toMatch(/^kdm: skipped 6 log files a trail delivered more than 1d after --to 2020-02-01, unread: /m);
    // A window that holds some of them says nothing of the kind.
    expect(runKdm(['replay', 'events/', '--to', all.events.firstEventTime]).stderr).not.toContain('no event read lies inside');
  });

  it('learns from the days from --learn-from to --from as well, and leaves out the findings last seen before --from', () => {
    const learnSim = join(dir, 'learn-sim');
    expect(runKdm(['simulate', '--out', learnSim, '--events', '4000', '--days', '10', '--seed', '5', '--anomalies']).status).toBe(0);
    const findingsOf = (file: string) => readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { Id: string; LastObservedAt: string });
    const fromMs = Date.parse('2026-10-10T00:00:00Z');

    const all = runKdm(['replay', learnSim, '--findings', join(dir, 'all.jsonl')]);
    const learned = runKdm(['replay', learnSim, '--learn-from', '2026-10-01', '--from', '2026-10-10', '--findings', join(dir, 'learned.jsonl')]);
    const learnedJson = runKdm(['replay', learnSim, '--learn-from', '2026-10-01', '--from', '2026-10-10', '--summary', 'json']);

    expect(all.status).toBe(0);
    expect(learned.status).toBe(0);
    // From the first day to the last, the replay reads what the whole replay reads: the window's findings are the
    // whole replay's last seen inside it, each as the whole replay words it.
    const inWindow = findingsOf(join(dir, 'all.jsonl')).filter((f) => Date.parse(f.LastObservedAt) >= fromMs);
    const leftOut = findingsOf(join(dir, 'all.jsonl')).length - inWindow.length;
    expect(leftOut).toBeGreaterThan(0);
    expect(inWindow.length).toBeGreaterThan(0);
    expect(findingsOf(join(dir, 'learned.jsonl')).map((f) => f.Id)).toEqual(inWindow.map((f) => f.Id));
    expect(learned.stderr).toContain(`kdm: ${leftOut} findings last seen before --from 2026-10-10, in the days read to learn from (--learn-from), left out\n`);
    expect(learned.stdout).toContain('\nWindow    from 2026-10-10T00:00:00.000Z, learned from 2026-10-01T00:00:00.000Z\n');
    expect(all.stdout).not.toContain('Window');
    expect((summaryOf(learnedJson.stdout) as SummaryJson & { window: unknown }).window).toEqual({ from: '2026-10-10T00:00:00.000Z', to: null, learnFrom: '2026-10-01T00:00:00.000Z', findingsLeftOut: leftOut });
  });

  it('takes a time for either bound, and filters files of any other name (exports, standard input) by their records', () => {
    const records = [0, 1, 2, 3].map((h) => kmsRecord({ atMs: Date.parse('2026-10-01T10:00:00Z') + h * 3_600_000 }));
    const run = spawnSync(process.execPath, [KDM, 'replay', '-', '--from', '2026-10-01T11:00:00Z', '--to', '2026-10-01T12:30:00Z', '--summary', 'json'], { input: records.map((r) => JSON.stringify(r)).join('\n'), encoding: 'utf8' });

    expect(run.status).toBe(0);
    expect(summaryOf(run.stdout).records).toMatchObject({ read: 4, processed: 2, skipped: 2, skippedByReason: { 'outside-time-range': 2 } });
    expect((summaryOf(run.stdout) as SummaryJson & { window: unknown }).window).toEqual({ from: '2026-10-01T11:00:00.000Z', to: '2026-10-01T12:30:00.000Z', learnFrom: null, deliveryLagMs: 86_400_000 });
  });

  it('refuses a window with --db, a --from after --to, and a bound that is no time, saying what to do', () => {
    const withDb = runKdm(['replay', 'events/', '--from', '2026-10-01', '--db', join(dir, 'x.duckdb')]);
    expect(withDb.status).toBe(1);
    expect(withDb.stderr).toContain('--db keeps a continuous history: replay all the logs into the database, and ask kdm history for the window');
    expect(existsSync(join(dir, 'x.duckdb'))).toBe(false);
    expect(runKdm(['replay', 'events/', '--from', '2026-10-02', '--to', '2026-10-01']).stderr).toBe('kdm: --from is after --to\n');
    expect(runKdm(['replay', 'events/', '--to', '2026-02-30']).stderr).toBe('kdm: --to is not a date: "2026-02-30"\n');
    expect(runKdm(['replay', 'events/', '--since', '2026-10-01']).stderr).toContain('did you mean --from?');
    expect(runKdm(['replay', 'events/', '--learn-from', '2026-10-02', '--from', '2026-10-01']).stderr).toBe('kdm: --learn-from is after --from\n');
    expect(runKdm(['replay', 'events/', '--learn-from', '2026-10-01', '--to', '2026-10-02']).stderr).toBe('kdm: --learn-from needs --from: the learning it begins ends where the window does\n');
    expect(runKdm(['replay', 'events/', '--learn-from', '2026-10-01', '--db', join(dir, 'x.duckdb')]).stderr).toContain('--db keeps a continuous history');
  });
});
