import { describe, expect, it } from 'vitest';
import { compileConfig, type SuppressionConfig } from '#core/config.ts';
import { withCorrelation } from '#core/correlation/correlate.ts';
import type { KmsCall } from '#core/events/types.ts';
import { mergeDetection, type FindingRecord } from '#core/findings/finding.ts';
import { expiredSuppressions, suppressionFor } from '#core/findings/suppress.ts';
import { BASE_TIME_MS, kmsEvent } from '#core/testing/builders.ts';

const NOW = BASE_TIME_MS;
const ROLE = 'arn:aws:iam::111122223333:role/PaymentsApp';

const findingOf = (event: KmsCall, ruleId = 'kms-unusual-network'): FindingRecord =>
  mergeDetection(undefined, { ruleId, severity: 'MEDIUM', subject: `${ROLE}|x`, aggregationWindowMs: 86_400_000, reason: 'r', event }, NOW);

/** The suppressions a configuration file holds, compiled as the engine gets them. */
const compiled = (...suppressions: Omit<SuppressionConfig, 'reason' | 'expires'>[]) =>
  compileConfig({ suppressions: suppressions.map((s) => ({ reason: 'known', expires: '2099-01-01', ...s })) }).suppressions;

const direct = (o: { sourceIp: string; vpcEndpointId?: string }) => findingOf(kmsEvent({ who: { role: 'PaymentsApp' }, ...o }));
/** A call S3 made for the principal, matched to the GetObject it sent from `network`. */
const throughS3 = (network: { sourceIp: string; vpcEndpointId?: string }) =>
  findingOf(
    withCorrelation(
      kmsEvent({ who: { role: 'PaymentsApp' }, s3Arn: 'arn:aws:s3:::reports/q3.pdf' }),
      'object',
      { operation: 'GetObject', eventId: 'get-1', eventTimeMs: BASE_TIME_MS + 100, bucket: 'reports', objectKey: 'q3.pdf', ...network },
    ),
  );

describe('suppressions', () => {
  it('match on the rule and on every pattern given: principal, key, bucket, account', () => {
    const finding = throughS3({ sourceIp: '198.51.100.23' });
    const match = (s: Omit<SuppressionConfig, 'reason' | 'expires'>) => suppressionFor(finding, compiled(s), NOW)?.id;

    expect(match({ id: 'rule', rule: 'kms-unusual-network' })).toBe('rule');
    expect(match({ id: 'other-rule', rule: 'kms-mass-decrypt' })).toBeUndefined();
    expect(match({ id: 'principal', rule: 'kms-unusual-network', principal: 'arn:aws:iam::*:role/Payments*' })).toBe('principal');
    expect(match({ id: 'other-principal', rule: 'kms-unusual-network', principal: 'arn:aws:iam::*:role/Billing*' })).toBeUndefined();
    expect(match({ id: 'bucket', rule: 'kms-unusual-network', bucket: 'rep*', account: '111122223333' })).toBe('bucket');
    expect(match({ id: 'other-bucket', rule: 'kms-unusual-network', bucket: 'rep*', account: '444455556666' })).toBeUndefined();
  });

  it('match a finding\'s network by VPC endpoint or address range: the call\'s own, or the S3 request\'s behind a call S3 made', () => {
    const office = compiled({ id: 'office', rule: 'kms-unusual-network', networks: ['198.51.100.0/24', '2001:db8::/32'] });
    const endpoint = compiled({ id: 'build-vpc', rule: 'kms-unusual-network', networks: ['vpce-0badc0ffee0badc0f'] });

    expect(suppressionFor(direct({ sourceIp: '198.51.100.23' }), office, NOW)?.id).toBe('office');
    expect(suppressionFor(direct({ sourceIp: '2001:db8:0:1::5' }), office, NOW)?.id).toBe('office');
    expect(suppressionFor(direct({ sourceIp: '203.0.113.7' }), office, NOW)).toBeUndefined();
    expect(suppressionFor(direct({ sourceIp: '10.0.0.5', vpcEndpointId: 'vpce-0badc0ffee0badc0f' }), endpoint, NOW)?.id).toBe('build-vpc');
    expect(suppressionFor(direct({ sourceIp: '10.0.0.5', vpcEndpointId: 'vpce-0a1b2c3d4e5f60718' }), endpoint, NOW)).toBeUndefined();
    // S3's call comes from `AWS Internal`: the request it was matched to is where the principal was.
    expect(suppressionFor(throughS3({ sourceIp: '198.51.100.23' }), office, NOW)?.id).toBe('office');
    expect(suppressionFor(throughS3({ sourceIp: '172.31.9.4', vpcEndpointId: 'vpce-0badc0ffee0badc0f' }), endpoint, NOW)?.id).toBe('build-vpc');
    expect(suppressionFor(throughS3({ sourceIp: '203.0.113.7' }), office, NOW)).toBeUndefined();
    // An S3-made call with no request matched says no network of the principal's.
    expect(suppressionFor(findingOf(kmsEvent({ who: { role: 'PaymentsApp' }, s3Arn: 'arn:aws:s3:::reports/q3.pdf' })), office, NOW)).toBeUndefined();
  });

  it('stop applying once expired, and are reported then', () => {
    const suppressions = compileConfig({ suppressions: [{ id: 'old', rule: 'kms-unusual-network', reason: 'known', expires: '2026-01-01' }] }).suppressions;

    expect(suppressionFor(direct({ sourceIp: '198.51.100.23' }), suppressions, Date.parse('2026-01-01T23:59:59Z'))?.id).toBe('old');
    expect(suppressionFor(direct({ sourceIp: '198.51.100.23' }), suppressions, Date.parse('2026-01-02T00:00:00Z'))).toBeUndefined();
    expect(expiredSuppressions(suppressions, Date.parse('2026-01-02T00:00:00Z')).map((s) => s.id)).toEqual(['old']);
  });
});
