import { describe, expect, it } from 'vitest';
import { renderReportHtml, type ReportData, type ReportKey } from '../../../src/report/html.ts';

const at = Date.UTC(2026, 9, 9, 16, 30);
const signingKey: ReportKey = {
  key: 'arn:aws:kms:us-east-1:111122223333:key/1a2b3c4d-0000-4000-8000-00000000a007',
  alias: 'alias/release-signing',
  calls: 59,
  principals: 4,
  errors: 0,
  operations: [{ operation: 'Sign', calls: 59 }],
  networks: [],
  perDay: [{ day: '2026-10-09', principal: 'arn:aws:iam::111122223333:role/ReleasePipeline', calls: 4 }],
  topPrincipals: [],
  newPrincipals: [],
};
const report = (keys: readonly ReportKey[]): ReportData => ({
  title: 'Report', source: 'k.duckdb', generatedAtMs: at, filters: [], totals: { calls: 59, keys: keys.length, principals: 4, objects: 0 }, keys, findings: [], buckets: [], objects: [], publicObjects: [], objectsThroughEndpoints: 0, foreignKeyWrites: [],
});
/** The first paragraph of each key's section, with the markup taken out. */
const summariesOf = (html: string): string[] => [...html.matchAll(/<section class="key"[^>]*><h3>.*?<\/h3><p>(.*?)<\/p>/gs)].map((m) => (m[1] ?? '').replace(/<[^>]+>/g, ''));

describe('a key\'s section in the report', () => {
  it('says what the key\'s calls were, so that an auditor tells a signing key\'s signatures from a data key\'s decryptions', () => {
    const dataKey: ReportKey = { ...signingKey, key: 'arn:aws:kms:us-east-1:111122223333:key/k2', alias: 'alias/s3-reports', calls: 7_947, principals: 5, errors: 88, operations: [{ operation: 'Decrypt', calls: 6_012 }, { operation: 'GenerateDataKey', calls: 1_935 }] };

    expect(summariesOf(renderReportHtml(report([signingKey, dataKey])))).toEqual([
      '59 calls by 4 principals. By operation: Sign 59.',
      '7,947 calls by 5 principals, 88 failed. By operation: Decrypt 6,012, GenerateDataKey 1,935.',
    ]);
  });

  it('says which networks the key\'s calls came through, so that an auditor sees those from outside the endpoints', () => {
    const dataKey: ReportKey = { ...signingKey, calls: 7_947, operations: [{ operation: 'Decrypt', calls: 7_947 }], networks: [{ network: 'vpce-0a1b2c3d4e5f60718', calls: 7_900 }, { network: 'public', calls: 40 }, { network: '', calls: 7 }] };

    expect(summariesOf(renderReportHtml(report([dataKey])))).toEqual(['7,947 calls by 4 principals. By operation: Decrypt 7,947. By network: vpce-0a1b2c3d4e5f60718 7,900, public 40, none said 7.']);
  });

  it('escapes an operation\'s name as it escapes every string from events', () => {
    const html = renderReportHtml(report([{ ...signingKey, operations: [{ operation: '<img src=x onerror=alert(1)>', calls: 1 }] }]));

    expect(html).not.toContain('<img src=x');
    expect(summariesOf(html)[0]).toContain('By operation: &lt;img src=x onerror=alert(1)&gt; 1.');
  });
});
