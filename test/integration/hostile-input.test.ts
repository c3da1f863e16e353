import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { DEFAULT_ENGINE_CONFIG } from '#core/engine-config.ts';
import { ALL_RULES } from '#core/rules/registry.ts';
import { runReplay } from '../../src/cli/replay.ts';
import { REPO, runKdm } from '../helpers/cli.ts';

const BAD = join(REPO, 'test', 'fixtures', 'bad');
const GOOD = join(REPO, 'events', 'eventbridge', 'kms-decrypt.json');

interface Summary {
  records: { read: number; processed: number; skipped: number; failed: number };
  files: { read: number; failed: number; skipped: number };
}

describe('hostile input (test/fixtures/bad, made by scripts/make-bad-fixtures.mjs)', () => {
  const run = runKdm(['replay', BAD, GOOD, '--max-file-mb', '32', '--summary', 'json']);
  const summary = JSON.parse(run.stdout) as Summary;
  const errorLines = run.stderr.split('\n').filter((l) => l.startsWith('kdm: '));

  it('finishes, reads the good file, and says some input could not be read (exit 2)', () => {
    expect(run.status).toBe(2);
    expect(summary.records.processed).toBeGreaterThan(0);
  });

  it.each([
    ['truncated.json.gz', /truncated\.json\.gz: .*(gzip|unexpected end|truncated)/i],
    ['bomb.json.gz', /bomb\.json\.gz: .*32 MiB/],
    ['invalid-utf8.json', /invalid-utf8\.json: invalid UTF-8 \(byte \d+\)/],
    ['not-json.json', /not-json\.json: not JSON \(starts with byte 0x89\)/],
    ['empty.json', /empty\.json: empty file/],
    ['ndjson-mixed.jsonl', /ndjson-mixed\.jsonl record 1: line 2: invalid JSON/],
  ])('names %s with a clear reason', (file, reason) => {
    expect(errorLines.some((l) => reason.test(l)), `${file} in:\n${errorLines.join('\n')}`).toBe(true);
  });

  it('names every record of the wrong-types file it could not use, by index, and uses the rest', () => {
    const failed = errorLines.filter((l) => l.includes('wrong-types.json record '));
    expect(failed.length).toBeGreaterThan(10);
    for (const l of failed) expect(l).toMatch(/wrong-types\.json record \d+: \S/);
  });

  it('counts every record as processed, skipped or failed, and every file', () => {
    const r = summary.records;
    expect(r.processed + r.skipped + r.failed).toBe(r.read);
    expect(summary.files.read + summary.files.skipped).toBeGreaterThanOrEqual(readdirSync(BAD).length);
  });

  it('never writes control or bidirectional-override characters to the terminal', () => {
    // eslint-disable-next-line no-control-regex
    expect(run.stderr + run.stdout).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f\u202a-\u202e\u2066-\u2069]/);
  });

  it('does not let `__proto__`, `constructor` or `prototype` keys reach any prototype', async () => {
    const out = new PassThrough();
    const err = new PassThrough();
    out.resume();
    err.resume();
    const result = await runReplay({ paths: [join(BAD, 'proto-keys.json'), join(BAD, 'wrong-types.json')], summary: 'json', rules: ALL_RULES, config: DEFAULT_ENGINE_CONFIG, stdout: out, stderr: err as unknown as NodeJS.WriteStream, checkStatePlanning: true });

    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(({} as Record<string, unknown>)['isAdmin']).toBeUndefined();
    expect(result.summaryJson['records']).toMatchObject({ processed: expect.any(Number) });
    expect(result.unplannedStateReads).toEqual([]);
  });

  it('stores records carrying lone surrogates (`\\ud800` escapes) in the database instead of failing the run', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kdm-surrogate-'));
    const logs = join(dir, 'logs');
    mkdirSync(logs);
    // A direct call (not S3-made), so it reaches the ledger at once instead of waiting for an S3 request.
    const objectArn = 'arn:aws:s3:::example-bucket/q3\\ud800/report.pdf';
    const identity = '"userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/App/s\\udc00","accountId":"111122223333"}';
    writeFileSync(join(logs, 'lone.json'), `{"Records":[{"eventVersion":"1.11","eventTime":"2026-10-01T10:00:00Z","eventSource":"kms.amazonaws.com","eventName":"Decrypt","awsRegion":"us-east-1","eventID":"lone\\ud800-1",${identity},"sourceIPAddress":"203.0.113.9","requestParameters":{"encryptionContext":{"aws:s3:arn":"${objectArn}"}},"resources":[{"ARN":"arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab","type":"AWS::KMS::Key"}]}]}`);
    const db = join(dir, 'kdm.db');

    const replay = runKdm(['replay', logs, '--db', db, '--summary', 'json']);
    const objects = runKdm(['history', '--db', db, '--group-by', 'object', '--format', 'json']);

    expect(replay.stderr).not.toMatch(/unexpected error|Malformed/);
    expect(replay.status).toBe(0);
    expect(objects.status).toBe(0);
    expect(objects.stdout).toContain('q3\ufffd/report.pdf');
  });

  it('reads a 100 MB single record, keeping its fields clipped, with memory bounded', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kdm-huge-'));
    const file = join(dir, 'huge.json');
    const fd = openSync(file, 'w');
    writeSync(fd, '{"Records":[{"eventVersion":"1.11","eventTime":"2026-10-01T10:00:00Z","eventSource":"kms.amazonaws.com","eventName":"Decrypt","awsRegion":"us-east-1","eventID":"huge-0001","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/App/s","accountId":"111122223333"},"userAgent":"');
    const chunk = 'A'.repeat(1024 * 1024);
    for (let i = 0; i < 100; i++) writeSync(fd, chunk);
    writeSync(fd, '"}]}');
    closeSync(fd);

    const huge = runKdm(['replay', file, '--summary', 'json']);

    expect(huge.status).toBe(0);
    expect((JSON.parse(huge.stdout) as Summary).records.processed).toBe(1);
  });
});
