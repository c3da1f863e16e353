import { describe, expect, it } from 'vitest';
import { principalsOfSeveralRules, renderReportHtml, type ReportData, type ReportFinding } from '../../../src/report/html.ts';

const at = Date.UTC(2026, 9, 9, 16, 30);
const finding = (over: Partial<ReportFinding>): ReportFinding => ({
  id: 'kms-decrypt-monitor/kms-root-usage/0751d784942aff/1791572400000',
  ruleId: 'kms-root-usage',
  severity: 'HIGH',
  reason: 'The root user called Decrypt.',
  firstSeenMs: at,
  lastSeenMs: at,
  eventCount: 1,
  eventIds: ['58f2deef-52a9-4f51-a690-00000000052b'],
  principal: 'arn:aws:iam::111122223333:root',
  ...over,
});
const report = (findings: readonly ReportFinding[]): ReportData => ({
  title: 'Report', source: 'k.duckdb', generatedAtMs: at, filters: [], totals: { calls: 1, keys: 1, principals: 1, objects: 0 }, keys: [], findings, buckets: [], objects: [], publicObjects: [], objectsThroughEndpoints: 0, foreignKeyWrites: [],
});
/** The rows of a finding's evidence table, as "Field: value" with the markup taken out. */
const evidenceOf = (html: string): string[] =>
  [...(html.match(/<table class="evidence-fields">.*?<\/table>/s)?.[0] ?? '').matchAll(/<tr><td>(.*?)<\/td><td>(.*?)<\/td><\/tr>/g)].map((m) => `${m[1]}: ${(m[2] ?? '').replace(/<[^>]+>/g, '')}`);

describe('a finding\'s evidence in the report', () => {
  it('leaves out the key and the object a finding has not, and says a single call happened once', () => {
    expect(evidenceOf(renderReportHtml(report([finding({})])))).toEqual([
      'Finding id: kms-decrypt-monitor/kms-root-usage/0751d784942aff/1791572400000',
      'Principal: arn:aws:iam::111122223333:root',
      'Seen: once at 2026-10-09T16:30:00Z',
      'CloudTrail eventIDs: 58f2deef-52a9-4f51-a690-00000000052b',
    ]);
  });

  it('has no eventIDs row for a finding that keeps no events (a principal\'s day), only the findings it names', () => {
    const day = finding({ id: 'kms-decrypt-monitor/kms-principal-several-anomalies/13d5fe651cf9ca/1791504000000', ruleId: 'kms-principal-several-anomalies', eventIds: [], eventCount: 3, lastSeenMs: at + 3_600_000, samePrincipal: ['kms-decrypt-monitor/kms-root-usage/0751d784942aff/1791572400000'] });

    expect(evidenceOf(renderReportHtml(report([day])))).toEqual([
      'Finding id: kms-decrypt-monitor/kms-principal-several-anomalies/13d5fe651cf9ca/1791504000000',
      'Principal: arn:aws:iam::111122223333:root',
      'Seen: 3 calls from 2026-10-09T16:30:00Z to 2026-10-09T17:30:00Z',
      'Its principal, within a day: kms-decrypt-monitor/kms-root-usage/0751d784942aff/1791572400000',
    ]);
  });

  it('names the bucket alone for a finding about a bucket\'s settings', () => {
    const setting = finding({ ruleId: 's3-bucket-default-key-changed', bucket: 'reports', key: 'arn:aws:kms:us-east-1:999988887777:key/k9' });

    expect(evidenceOf(renderReportHtml(report([setting]))).slice(2, 4)).toEqual(['Key: arn:aws:kms:us-east-1:999988887777:key/k9', 'Bucket: reports']);
  });

  it('gives the key, the object and the span of many calls', () => {
    const many = finding({ key: 'arn:aws:kms:us-east-1:111122223333:key/k1', bucket: 'reports', objectKey: 'q3/a.pdf', eventCount: 10, lastSeenMs: at + 72_000 });

    expect(evidenceOf(renderReportHtml(report([many]))).slice(2, 5)).toEqual([
      'Key: arn:aws:kms:us-east-1:111122223333:key/k1',
      'Object: s3://reports/q3/a.pdf',
      'Seen: 10 calls from 2026-10-09T16:30:00Z to 2026-10-09T16:31:12Z',
    ]);
  });
});

describe('objects written by other accounts under keys the bucket owner does not hold, in the report', () => {
  const section = (html: string): string => html.match(/<section id="foreign-key-writes">.*?<\/section>/s)?.[0] ?? '';

  it('lists each with its key, writer, writes and last write, escaped', () => {
    const html = renderReportHtml({
      ...report([]),
      foreignKeyWrites: [{ bucket: 'reports', objectKey: 'in/<b>a</b>.csv', key: 'arn:aws:kms:us-east-1:999988887777:key/k9', principal: 'arn:aws:iam::999988887777:role/Uploader', writes: 2, lastSeenMs: at }],
    });
    const rows = [...section(html).matchAll(/<tr>(.*?)<\/tr>/gs)].map((m) => (m[1] ?? '').replace(/<\/t[dh]>/g, ' | ').replace(/<[^>]+>/g, '').trim());

    expect(rows).toEqual([
      'Object | Key | Writer | Writes | Last written |',
      's3://reports/in/&lt;b&gt;a&lt;/b&gt;.csv | arn:aws:kms:us-east-1:999988887777:key/k9 | arn:aws:iam::999988887777:role/Uploader | 2 | 2026-10-09T16:30:00Z |',
    ]);
  });

  it('says there are none', () => {
    expect(section(renderReportHtml(report([])))).toContain('<p class="muted">None.</p>');
  });
});

describe('the report\'s bucket coverage', () => {
  it('marks a bucket without data events, and says a directory bucket\'s are not read rather than missing', () => {
    const bucket = (name: string) => ({ bucket: name, dataEvents: 0, readEvents: 0, bucketKeyCalls: 1, objectKeyCalls: 0, sse: {}, kmsKeys: {} });
    const html = renderReportHtml({ ...report([]), buckets: [bucket('reports'), bucket('trades--use1-az4--x-s3')] });
    const rows = [...(html.match(/<table class="coverage">.*?<\/table>/s)?.[0] ?? '').matchAll(/<tr><td>(.*?)<\/td><td>(.*?)<\/td>/g)].map((m) => `${(m[1] ?? '').replace(/<[^>]+>/g, '')}: ${(m[2] ?? '').replace(/<[^>]+>/g, '')}`);

    expect(rows).toEqual(['reports: no data events', 'trades--use1-az4--x-s3: not read (a directory bucket: kdm does not read S3 Express data events)']);
  });
  it('links the findings other rules raised on its events, and names by id one the page leaves out', () => {
    const network = finding({ id: 'kms-decrypt-monitor/kms-unusual-network/00000000000001/1791572400000', ruleId: 'kms-unusual-network', severity: 'MEDIUM' });
    const leftOut = 'kms-decrypt-monitor/kms-unusual-region/00000000000002/1791572400000';
    const client = finding({ id: 'kms-decrypt-monitor/kms-unusual-client/00000000000001/1791572400000', ruleId: 'kms-unusual-client', severity: 'HIGH', related: [network.id, leftOut] });
    const html = renderReportHtml(report([client, { ...network, related: [client.id] }]));
    const raisedWith = [...html.matchAll(/<td>Raised with it<\/td><td>(.*?)<\/td>/g)].map((m) => m[1]);

    expect(raisedWith).toEqual([
      `<a href="#finding-kms-decrypt-monitor_kms-unusual-network_00000000000001_1791572400000">kms-unusual-network</a> <code>${leftOut}</code>`,
      '<a href="#finding-kms-decrypt-monitor_kms-unusual-client_00000000000001_1791572400000">kms-unusual-client</a>',
    ]);
    expect(html).toContain('id="finding-kms-decrypt-monitor_kms-unusual-network_00000000000001_1791572400000"');
    expect(evidenceOf(renderReportHtml(report([finding({})])))).not.toContainEqual(expect.stringMatching(/^Raised with it/));
  });

  it('links the findings its principal raised within a day of it, apart from those raised with it', () => {
    const mass = finding({ id: 'kms-decrypt-monitor/kms-mass-decrypt/00000000000003/1791576000000', ruleId: 'kms-mass-decrypt' });
    const leftOut = 'kms-decrypt-monitor/kms-key-lifecycle/00000000000004/1791583200000';
    const network = finding({ id: 'kms-decrypt-monitor/kms-unusual-network/00000000000001/1791572400000', ruleId: 'kms-unusual-network', samePrincipal: [mass.id, leftOut] });

    expect(evidenceOf(renderReportHtml(report([network, { ...mass, samePrincipal: [network.id] }])))).toContain(`Its principal, within a day: kms-mass-decrypt ${leftOut}`);
    expect(renderReportHtml(report([network, mass]))).toContain('<td>Its principal, within a day</td><td><a href="#finding-kms-decrypt-monitor_kms-mass-decrypt_00000000000003_1791576000000">kms-mass-decrypt</a>');
    expect(evidenceOf(renderReportHtml(report([mass])))).not.toContainEqual(expect.stringMatching(/^Its principal/));
  });
});

describe('the principals behind findings of several rules, in the report', () => {
  const contractor = 'arn:aws:iam::111122223333:role/ContractorSandbox';
  const etl = 'arn:aws:iam::111122223333:role/ReportEtl';
  const of = (principal: string, ruleId: string, firstSeenMs: number, over: Partial<ReportFinding> = {}): ReportFinding =>
    finding({ id: `kms-decrypt-monitor/${ruleId}/${principal.length}/${firstSeenMs}`, ruleId, principal, firstSeenMs, lastSeenMs: firstSeenMs, ...over });

  it('lists each principal with findings of more than one rule, most rules first, its findings in the order they began', () => {
    const findings = [
      of(etl, 'kms-throttled', at + 60_000), of(etl, 's3-put-without-required-kms', at + 120_000),
      of(contractor, 's3-bucket-default-key-changed', at + 30_000), of(contractor, 'kms-s3-data-key-direct-decrypt', at), of(contractor, 'kms-data-under-foreign-key', at + 90_000),
      // One rule twice is not several; nor is a suppressed finding counted.
      of('arn:aws:iam::111122223333:role/Batch', 'kms-mass-decrypt', at), of('arn:aws:iam::111122223333:role/Batch', 'kms-mass-decrypt', at + 3_600_000),
      of('arn:aws:iam::111122223333:role/Batch', 'kms-unusual-region', at, { suppressedBy: 'dr-drill' }),
    ];

    expect(principalsOfSeveralRules(findings).map((p) => [p.principal, p.findings.map((f) => f.ruleId), p.firstSeenMs - at, p.lastSeenMs - at])).toEqual([
      [contractor, ['kms-s3-data-key-direct-decrypt', 's3-bucket-default-key-changed', 'kms-data-under-foreign-key'], 0, 90_000],
      [etl, ['kms-throttled', 's3-put-without-required-kms'], 60_000, 120_000],
    ]);
    const section = renderReportHtml(report(findings)).match(/<table class="several-rules">.*?<\/table>/s)?.[0] ?? '';
    expect([...section.matchAll(/<tr><td>(.*?)<\/td><td>(.*?)<\/td>/g)].map((m) => `${(m[1] ?? '').replace(/<[^>]+>/g, '')}: ${(m[2] ?? '').replace(/<[^>]+>/g, '')}`)).toEqual([
      `${contractor}: kms-s3-data-key-direct-decrypt s3-bucket-default-key-changed kms-data-under-foreign-key`,
      `${etl}: kms-throttled s3-put-without-required-kms`,
    ]);
  });

  it('says there are none', () => {
    expect(renderReportHtml(report([finding({})]))).toContain('None: no principal raised findings of more than one rule.');
  });
});
