import { describe, expect, it } from 'vitest';
import { formatSummaryTable, mostSevere } from '../../src/cli/format-summary.ts';
import { mergeDetection, type FindingRecord } from '#core/findings/finding.ts';
import type { Severity } from '#core/rules/define-rule.ts';
import { createSummary, fileSkipped, recordEvent } from '#core/summary.ts';
import { BASE_TIME_MS, kmsEvent, minutes } from '#core/testing/builders.ts';

const finding = (i: number, severity: Severity, reason = `Reason ${i}.`): FindingRecord =>
  mergeDetection(undefined, {
    ruleId: `rule-${i}`,
    severity,
    subject: `subject-${i}`,
    aggregationWindowMs: 3_600_000,
    reason,
    event: kmsEvent({ atMs: BASE_TIME_MS + minutes(i) }),
  }, BASE_TIME_MS);

describe('kdm replay summary: its first line', () => {
  it('says how long the read took, in milliseconds under a second and in seconds with the rate from there', () => {
    const summary = createSummary();
    summary.files.read = 9;
    summary.records.read = 22;
    expect(formatSummaryTable(summary, [], 21.4).split('\n')[0]).toBe('kms-decrypt-monitor: read 9 files, 22 records in 21 ms');
    expect(formatSummaryTable(summary, [], 999.4).split('\n')[0]).toBe('kms-decrypt-monitor: read 9 files, 22 records in 999 ms');
    expect(formatSummaryTable(summary, [], 999.6).split('\n')[0]).toBe('kms-decrypt-monitor: read 9 files, 22 records in 1.0 s (22 records/s)');
    summary.files.read = 5_024;
    summary.records.read = 1_000_000;
    expect(formatSummaryTable(summary, [], 7_360).split('\n')[0]).toBe('kms-decrypt-monitor: read 5,024 files, 1,000,000 records in 7.4 s (135,870 records/s)');
  });
});

describe('kdm replay summary: its Files line', () => {
  it('appears only when a file failed or was skipped, and gives the skipped files by reason', () => {
    const summary = createSummary();
    summary.files.read = 3;
    expect(formatSummaryTable(summary, [], 10)).not.toContain('Files');
    fileSkipped(summary, 'digest-file');
    fileSkipped(summary, 'delivered-after-to');
    fileSkipped(summary, 'delivered-after-to');
    expect(formatSummaryTable(summary, [], 10).split('\n')).toContain('Files     failed 0, skipped 3 (delivered-after-to 2, digest-file 1)');
    summary.files.failed = 1;
    summary.files.skipped = 0;
    summary.files.skippedByReason.clear();
    expect(formatSummaryTable(summary, [], 10).split('\n')).toContain('Files     failed 1, skipped 0');
  });
});

describe('kdm replay summary: the findings themselves', () => {
  it('lists the ten most severe active findings, most severe and then most recent first, each with its whole reason', () => {
    const findings = [
      ...Array.from({ length: 9 }, (_, i) => finding(i, 'LOW')),
      finding(20, 'HIGH'),
      finding(21, 'MEDIUM'),
      finding(22, 'HIGH'),
      { ...finding(23, 'CRITICAL'), suppressedBy: { id: 'known-job', reason: 'nightly job', expiresMs: BASE_TIME_MS } } as FindingRecord,
    ];

    const text = formatSummaryTable(createSummary(), findings, 1_000);
    const listed = text.slice(text.indexOf('Most severe findings'));

    expect(mostSevere(findings.filter((f) => f.suppressedBy === undefined), 10).map((f) => f.ruleId)).toEqual(
      ['rule-22', 'rule-20', 'rule-21', 'rule-8', 'rule-7', 'rule-6', 'rule-5', 'rule-4', 'rule-3', 'rule-2'],
    );
    expect(listed.split('\n')[0]).toBe('Most severe findings (10 of 12; each in full, as ASFF, with --findings <file>)');
    // A replay into a database says where to read them all.
    const intoDatabase = formatSummaryTable(createSummary(), findings, 1_000, { db: 'kdm.duckdb' });
    expect(intoDatabase.slice(intoDatabase.indexOf('Most severe findings')).split('\n')[0]).toBe(
      'Most severe findings (10 of 12; kdm findings --db kdm.duckdb lists them all, and shows one whole by its id; each in full, as ASFF, with --findings <file>)',
    );
    expect(listed).toMatch(/^HIGH {5}rule-22 {2}last seen 2026-\S+Z, 1 event\n {9}Reason 22\.$/m);
    expect(listed).not.toContain('rule-23');
    expect(listed).not.toContain('rule-1 ');
  });

  it('says under a finding\'s reason what the same call and its principal raised besides, by rule, and nothing when there is none', () => {
    const f = { ...finding(1, 'HIGH'), related: ['kms-decrypt-monitor/kms-unusual-client/0/0'], samePrincipal: ['kms-decrypt-monitor/kms-mass-decrypt/1/0', 'kms-decrypt-monitor/kms-mass-decrypt/2/0', 'kms-decrypt-monitor/kms-unusual-region/3/0'] };

    // The lines under the reason, wrapped as it is.
    expect(formatSummaryTable(createSummary(), [f], 1_000).replace(/\n {9}/g, ' ')).toMatch(
      /\nHIGH {5}rule-1 .*, 1 event Reason 1\. Also raised on the same call: kms-unusual-client; by the same principal within a day: kms-mass-decrypt \(2\), kms-unusual-region\.$/,
    );
    expect(formatSummaryTable(createSummary(), [finding(1, 'HIGH')], 1_000)).not.toContain('Also raised');
  });

  it('wraps a long reason at word boundaries and shows control characters from the logs inert', () => {
    const arn = `arn:aws:kms:us-east-1:111122223333:key/${'a'.repeat(120)}`;
    const reason = `${'word '.repeat(60)}then ${arn} and a bell\u0007 with \u001b[31mred`;

    const text = formatSummaryTable(createSummary(), [finding(1, 'HIGH', reason)], 1_000);
    const reasonLines = text.split('\n').filter((l) => l.startsWith('         '));

    expect(reasonLines.length).toBeGreaterThan(3);
    for (const line of reasonLines) if (!line.includes(arn)) expect(line.length).toBeLessThanOrEqual(109);
    expect(reasonLines.map((l) => l.trim()).join(' ')).toContain(arn);
    expect(text).not.toMatch(/[\u0007\u001b]/);
  });
});

describe('kdm replay summary: its Buckets table', () => {
  it('says a bucket without data events has none, and a directory bucket\'s were not read (kdm reads none of S3 Express\'s)', () => {
    const summary = createSummary();
    recordEvent(summary, kmsEvent({ s3Arn: 'arn:aws:s3:::reports/q3.pdf' }));
    recordEvent(summary, kmsEvent({ context: { 'aws:s3express:arn': 'arn:aws:s3express:us-east-1:111122223333:bucket/trades--use1-az4--x-s3' }, viaService: 'AWS Internal' }));

    const lines = formatSummaryTable(summary, [], 10).split('\n');

    expect(lines.find((l) => l.startsWith('reports '))).toMatch(/^reports\s+no\s+no\s+1\s*$/);
    expect(lines.find((l) => l.startsWith('trades--use1-az4--x-s3 '))).toMatch(/^trades--use1-az4--x-s3\s+not read \(directory bucket\)\s+yes\s+1\s*$/);
  });
});
