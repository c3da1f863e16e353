import { describe, expect, it } from 'vitest';
import { renderReportHtml, type ReportData, type ReportPublicObject } from '../../../src/report/html.ts';

const at = Date.UTC(2026, 9, 9, 16, 30);
const report = (publicObjects: readonly ReportPublicObject[], objectsThroughEndpoints: number): ReportData => ({
  title: 'Report', source: 'k.duckdb', generatedAtMs: at, filters: [], totals: { calls: 1, keys: 0, principals: 1, objects: 1 }, keys: [], findings: [], buckets: [], objects: [], publicObjects, objectsThroughEndpoints, foreignKeyWrites: [],
});
/** The section's body after its explanation, with the markup taken out, a cell per " | ". */
const sectionOf = (html: string): string =>
  (html.match(/<section id="public-objects">.*?<\/p>\n(.*?)<\/section>/s)?.[1] ?? '').replace(/<\/t[dh]><t[dh]>/g, ' | ').replace(/<\/tr>(?:<\/thead><tbody>)?<tr>/g, '\n').replace(/<[^>]+>/g, '');

describe('the report\'s objects opened from outside the VPC endpoints', () => {
  const stolen: ReportPublicObject = { bucket: 'reports', objectKey: 'q3/<b>board</b>.pdf', principal: 'arn:aws:iam::111122223333:role/ReportEtl', calls: 1, sourceIps: ['198.51.100.32'], lastSeenMs: at, principalsEndpointObjects: 2_431 };

  it('lists them with how many reads of the principal came through an endpoint, escaping what events chose', () => {
    const html = renderReportHtml(report([stolen, { ...stolen, principal: 'arn:aws:iam::111122223333:role/Analyst', principalsEndpointObjects: 0 }], 2_431));

    expect(sectionOf(html)).toBe(
      'Object | Principal | Calls | Source IPs | Last opened | Its reads through endpoints\n' +
        's3://reports/q3/&lt;b&gt;board&lt;/b&gt;.pdf | arn:aws:iam::111122223333:role/ReportEtl | 1 | 198.51.100.32 | 2026-10-09T16:30:00Z | 2,431\n' +
        's3://reports/q3/&lt;b&gt;board&lt;/b&gt;.pdf | arn:aws:iam::111122223333:role/Analyst | 1 | 198.51.100.32 | 2026-10-09T16:30:00Z | none',
    );
  });

  it('says none, or that no read came through an endpoint at all rather than list every read', () => {
    expect(sectionOf(renderReportHtml(report([], 12)))).toBe('None.');
    expect(sectionOf(renderReportHtml(report([stolen], 0)))).toBe('No object in the period was opened through a VPC endpoint: every read came through S3\'s public endpoint, so this list would hold them all.');
  });
});
