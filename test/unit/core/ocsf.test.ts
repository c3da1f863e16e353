import { describe, expect, it } from 'vitest';
import { mergeDetection, withRelatedFindings } from '#core/findings/finding.ts';
import { toOcsf } from '#core/findings/ocsf.ts';
import { ruleById } from '#core/rules/registry.ts';
import { BASE_TIME_MS, kmsEvent } from '#core/testing/builders.ts';

describe('OCSF Detection Finding', () => {
  const rule = ruleById('kms-s3-data-key-direct-decrypt')!;
  const detection = { ruleId: rule.id, severity: 'HIGH' as const, subject: 's', aggregationWindowMs: 3_600_000, reason: 'Decrypted outside S3.', event: kmsEvent({ context: { 'aws:s3:arn': 'arn:aws:s3:::b/k' }, sourceIp: '198.51.100.23', atMs: BASE_TIME_MS }) };

  it('renders class 2004 with severity, times, analytic, resources and evidence', () => {
    const f = mergeDetection(undefined, detection, BASE_TIME_MS + 5_000);

    const o = toOcsf(f, rule, '0.1.0');

    expect(o).toMatchObject({
      class_uid: 2004,
      category_uid: 2,
      activity_id: 1,
      type_uid: 200401,
      severity_id: 4,
      severity: 'High',
      status_id: 1,
      time: BASE_TIME_MS + 5_000,
      start_time: BASE_TIME_MS,
      metadata: { version: '1.3.0', product: { name: 'KMS Decrypt Monitor', version: '0.1.0' } },
      finding_info: { uid: f.id, title: rule.title, analytic: { uid: rule.id, type_id: 1 }, related_events: [{ uid: f.eventIds[0] }] },
      cloud: { provider: 'AWS', region: 'us-east-1', account: { uid: '111122223333' } },
      evidences: [{ api: { operation: 'Decrypt', service: { name: 'kms.amazonaws.com' } }, src_endpoint: { ip: '198.51.100.23' } }],
    });
    expect((o['resources'] as { type: string }[]).map((r) => r.type)).toEqual(['AWS::KMS::Key', 'AWS::S3::Object']);
  });

  it('names a grant\'s grantee among the resources', () => {
    const lifecycle = ruleById('kms-key-lifecycle')!;
    const grantee = 'arn:aws:iam::999988887777:role/Collector';
    const grant = kmsEvent({ eventName: 'CreateGrant', requestParameters: { granteePrincipal: grantee, operations: ['Decrypt'] } });
    const f = mergeDetection(undefined, { ...detection, ruleId: lifecycle.id, event: grant, resource: { type: 'KmsGrantee', arn: grantee, name: 'Collector' } }, BASE_TIME_MS);

    expect(toOcsf(f, lifecycle, '0.1.0')['resources']).toContainEqual({ uid: 'arn:aws:iam::999988887777:role/Collector', type: 'AWS::KMS::Grantee', name: 'Collector' });
  });

  it('says Update once the finding changed, and Suppressed when a suppression matched', () => {
    const first = mergeDetection(undefined, detection, BASE_TIME_MS + 5_000);
    const updated = { ...mergeDetection(first, { ...detection, event: kmsEvent({ context: { 'aws:s3:arn': 'arn:aws:s3:::b/k' }, sourceIp: '198.51.100.23', atMs: BASE_TIME_MS + 10 }) }, BASE_TIME_MS + 6_000), suppressedBy: { id: 'sup', reason: 'known' } };

    expect(toOcsf(updated, rule, '0.1.0')).toMatchObject({ activity_id: 2, type_uid: 200402, status_id: 3, status: 'Suppressed', is_alert: false });
  });
  it('relates the findings other rules raised on its events by their metadata.uid, after its CloudTrail events', () => {
    const f = mergeDetection(undefined, detection, BASE_TIME_MS + 5_000);
    const network = 'kms-decrypt-monitor/kms-unusual-network/00000000000001/1759276800000';

    expect((toOcsf(withRelatedFindings(f, [network], BASE_TIME_MS + 5_000), rule, '0.1.0')['finding_info'] as { related_events: unknown[] }).related_events).toEqual([
      { uid: f.eventIds[0], product_uid: 'cloudtrail' },
      { uid: network, product_uid: 'kms-decrypt-monitor', type_uid: 200401, type: 'Detection Finding: Create' },
    ]);
  });
});
