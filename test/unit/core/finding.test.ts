import { describe, expect, it } from 'vitest';
import { findingIdOf, MAX_RELATED_FINDINGS, mergeDetection, MAX_EVIDENCE_IDS, relatedFindingsByEvent, ruleIdOfFindingId, withRelatedFindings } from '#core/findings/finding.ts';
import { describeFinding, toAsff, truncateText } from '#core/findings/asff.ts';
import { toOcsf } from '#core/findings/ocsf.ts';
import { runRuleCase } from '#core/rules/run-cases.ts';
import type { Detection } from '#core/rules/define-rule.ts';
import { ruleById } from '#core/rules/registry.ts';
import { BASE_TIME_MS, kmsEvent, minutes, otherEvent, s3Event } from '#core/testing/builders.ts';
import { withCorrelation } from '#core/correlation/correlate.ts';
import { origin } from '#core/rules/wording.ts';

const detection = (atMs: number, eventId?: string): Detection => ({
  ruleId: 'kms-unusual-principal',
  severity: 'MEDIUM',
  subject: 'arn:aws:iam::111122223333:role/Intruder|key',
  aggregationWindowMs: 24 * 3_600_000,
  reason: 'First Decrypt by Intruder.',
  event: kmsEvent({ atMs, who: { role: 'Intruder', session: 'evil' }, sourceIp: '198.51.100.9', vpcEndpointId: 'vpce-1', ...(eventId !== undefined ? { eventId } : {}) }),
});

describe('finding aggregation', () => {
  it('folds detections of one rule, subject and window into one finding', () => {
    let f = mergeDetection(undefined, detection(BASE_TIME_MS), 1_000);
    for (let i = 1; i < 30; i++) f = mergeDetection(f, detection(BASE_TIME_MS + minutes(i)), 1_000 + i);

    expect(f.eventCount).toBe(30);
    expect(f.eventIds).toHaveLength(MAX_EVIDENCE_IDS);
    expect(f.firstSeenMs).toBe(BASE_TIME_MS);
    expect(f.lastSeenMs).toBe(BASE_TIME_MS + minutes(29));
  });

  it('keeps one id for detections in the same window and a new one in the next window', () => {
    expect(findingIdOf(detection(BASE_TIME_MS))).toBe(findingIdOf(detection(BASE_TIME_MS + minutes(60))));
    expect(findingIdOf(detection(BASE_TIME_MS))).not.toBe(findingIdOf(detection(BASE_TIME_MS + 24 * 3_600_000)));
  });

  it('moves UpdatedAt strictly forward even when the clock stands still or goes back', () => {
    const first = mergeDetection(undefined, detection(BASE_TIME_MS), 5_000);
    const createdAt = first.createdAtMs;
    const second = mergeDetection(first, detection(BASE_TIME_MS + 1), 5_000);
    const third = mergeDetection(second, detection(BASE_TIME_MS + 2), 4_000);

    expect(createdAt).toBe(5_000);
    expect(second.updatedAtMs).toBe(5_001);
    expect(third.updatedAtMs).toBe(5_002);
  });

  it('says what the most severe of its detections says: a HIGH one takes over a MEDIUM finding\'s reason and who, where', () => {
    const medium = detection(BASE_TIME_MS, 'first');
    const high: Detection = {
      ...medium,
      severity: 'HIGH',
      reason: 'First Decrypt by Intruder with a key marked sensitive.',
      event: kmsEvent({ atMs: BASE_TIME_MS + minutes(5), eventId: 'second', who: { role: 'Intruder', session: 'other' }, sourceIp: '203.0.113.5', context: { case: 'x' } }),
    };
    // What the adapters add after a merge: the context hashed, what KMS said of the key, a suppression.
    const stored = { ...mergeDetection(undefined, medium, 1_000), contextHashed: true, keyFacts: { lookup: 'ok' as const, aliases: [], tags: {} }, suppressedBy: { id: 's', reason: 'r' } };

    const escalated = mergeDetection(stored, high, 2_000);

    expect(escalated).toMatchObject({ severity: 'HIGH', reason: high.reason, network: { sourceIp: '203.0.113.5' }, principal: { sessionName: 'other' }, encryptionContext: { case: 'x' } });
    expect(escalated).toMatchObject({ id: stored.id, createdAtMs: 1_000, updatedAtMs: 2_000, firstSeenMs: BASE_TIME_MS, lastSeenMs: BASE_TIME_MS + minutes(5), eventCount: 2, eventIds: ['first', 'second'] });
    // They described the old headline: the caller works them out again for the new one.
    expect(escalated.contextHashed).toBeUndefined();
    expect(escalated.keyFacts).toBeUndefined();
    expect(escalated.suppressedBy).toBeUndefined();

    const later = mergeDetection(escalated, detection(BASE_TIME_MS + minutes(9), 'third'), 3_000);
    expect(later).toMatchObject({ severity: 'HIGH', reason: high.reason, eventCount: 3, network: { sourceIp: '203.0.113.5' } });
  });

  it('counts a write once, whether its data event or the KMS call S3 made for it is detected first', () => {
    const write = s3Event({ eventName: 'PutObject', eventId: 'put-1', atMs: BASE_TIME_MS, bucket: 'finance', key: 'q4/x.csv' });
    const call = withCorrelation(kmsEvent({ eventId: 'gdk-1', atMs: BASE_TIME_MS, eventName: 'GenerateDataKey', s3Arn: 'arn:aws:s3:::finance/q4/x.csv' }), 'object', {
      operation: 'PutObject', eventId: 'put-1', eventTimeMs: BASE_TIME_MS, bucket: 'finance', objectKey: 'q4/x.csv',
    });
    const of = (event: Detection['event']): Detection => ({ ruleId: 's3-put-without-required-kms', severity: 'HIGH', subject: 'finance|key', aggregationWindowMs: 24 * 3_600_000, reason: 'r', event });

    const dataEventFirst = mergeDetection(mergeDetection(undefined, of(write), 1_000), of(call), 2_000);
    const callFirst = mergeDetection(mergeDetection(undefined, of(call), 1_000), of(write), 2_000);
    const nextWrite = mergeDetection(dataEventFirst, of(s3Event({ eventName: 'PutObject', eventId: 'put-2', atMs: BASE_TIME_MS + 1, bucket: 'finance', key: 'q4/y.csv' })), 3_000);

    expect(dataEventFirst).toMatchObject({ eventCount: 1, eventIds: ['put-1', 'gdk-1'], updatedAtMs: 2_000 });
    expect(callFirst).toMatchObject({ eventCount: 1, eventIds: ['gdk-1', 'put-1'], updatedAtMs: 1_000 });
    expect(nextWrite).toMatchObject({ eventCount: 2, eventIds: ['put-1', 'gdk-1', 'put-2'] });
  });

  it('changes nothing when the same evidence is merged again (a replayed delivery)', () => {
    const first = mergeDetection(undefined, detection(BASE_TIME_MS, 'same-id'), 1_000);
    const again = mergeDetection(first, detection(BASE_TIME_MS, 'same-id'), 2_000);

    expect(again.eventCount).toBe(1);
    expect(again.updatedAtMs).toBe(1_000);
  });
});

describe('related findings', () => {
  const onCall = (ruleId: string, eventId: string, subject = 'arn:aws:iam::111122223333:role/Intruder'): Detection => ({ ...detection(BASE_TIME_MS, eventId), ruleId, subject });

  it('relates the findings of several rules on one event, each to the others, and nothing for an event of one finding', () => {
    const client = onCall('kms-unusual-client', 'call-1');
    const network = onCall('kms-unusual-network', 'call-1');
    const region = onCall('kms-unusual-region', 'call-2');
    // The client finding's second detection, on another call: still one finding.
    const related = relatedFindingsByEvent([client, network, onCall('kms-unusual-client', 'call-2'), region]);

    expect(related).toEqual(new Map([
      [findingIdOf(client), [findingIdOf(network), findingIdOf(region)]],
      [findingIdOf(network), [findingIdOf(client)]],
      [findingIdOf(region), [findingIdOf(client)]],
    ]));
    expect(relatedFindingsByEvent([client, onCall('kms-unusual-client', 'call-1')]).size).toBe(0);
    // Events without an id (some of Event history's lookups) relate nothing.
    const withoutId = (d: Detection): Detection => ({ ...d, event: { ...d.event, eventId: '' } });
    expect(relatedFindingsByEvent([withoutId(client), withoutId(network)]).size).toBe(0);
    expect(ruleIdOfFindingId(findingIdOf(network))).toBe('kms-unusual-network');
  });

  it('adds related ids once, up to ASFF\'s ten, moving UpdatedAt forward only when it adds one', () => {
    const f = mergeDetection(undefined, onCall('kms-unusual-client', 'call-1'), 5_000);
    const others = Array.from({ length: 12 }, (_, i) => `kms-decrypt-monitor/rule-${i}/0/0`);

    const once = withRelatedFindings(f, [others[0] as string, f.id], 5_000);
    expect(once.related).toEqual([others[0]]);
    expect(once.updatedAtMs).toBe(5_001);
    expect(f.related).toBeUndefined();
    expect(withRelatedFindings(once, [others[0] as string], 6_000)).toBe(once);
    const full = withRelatedFindings(once, others, 7_000);
    expect(full.related).toEqual(others.slice(0, MAX_RELATED_FINDINGS));
    expect(full.updatedAtMs).toBe(7_000);
    expect(withRelatedFindings(full, ['kms-decrypt-monitor/one-more/0/0'], 8_000)).toBe(full);
  });

  it('keeps them when a more severe detection takes the finding over', () => {
    const medium = withRelatedFindings(mergeDetection(undefined, detection(BASE_TIME_MS, 'first'), 1_000), ['kms-decrypt-monitor/kms-unusual-network/0/0'], 1_000);
    const high: Detection = { ...detection(BASE_TIME_MS + minutes(5), 'second'), severity: 'HIGH', reason: 'Worse.' };

    expect(mergeDetection(medium, high, 2_000).related).toEqual(['kms-decrypt-monitor/kms-unusual-network/0/0']);
  });
});

describe('ASFF rendering', () => {
  const rule = ruleById('kms-unusual-principal')!;
  const finding = mergeDetection(undefined, detection(BASE_TIME_MS), Date.UTC(2026, 10, 22));
  const asff = toAsff(finding, rule) as unknown as Record<string, unknown> & { ProductFields: Record<string, string>; Resources: { Type: string; Id: string }[] };

  it('says who, which key, where from, why and what to do', () => {
    expect(asff).toMatchObject({
      SchemaVersion: '2018-10-08',
      AwsAccountId: '111122223333',
      ProductArn: 'arn:aws:securityhub:us-east-1:111122223333:product/111122223333/default',
      GeneratorId: 'kms-decrypt-monitor/kms-unusual-principal',
      Severity: { Label: 'MEDIUM', Original: 'MEDIUM' },
      Types: ['Unusual Behaviors/User', 'TTPs/Collection'],
      Action: { ActionType: 'AWS_API_CALL', AwsApiCallAction: { Api: 'Decrypt', ServiceName: 'kms.amazonaws.com', CallerType: 'remoteIp', RemoteIpDetails: { IpAddressV4: '198.51.100.9' } } },
      Remediation: { Recommendation: { Text: rule.runbook.slice(0, 512) } },
      RecordState: 'ACTIVE',
    });
    expect(asff.ProductFields).toMatchObject({
      'kdm/RuleId': 'kms-unusual-principal',
      'kdm/EventCount': '1',
      'kdm/Principal': 'arn:aws:iam::111122223333:role/Intruder',
      'kdm/SessionName': 'evil',
      'kdm/SourceIp': '198.51.100.9',
      'kdm/VpcEndpointId': 'vpce-1',
    });
    expect(asff.ProductFields['kdm/EventIds']?.split(' ')).toEqual(finding.eventIds);
    expect(asff.Resources.map((r) => r.Type)).toEqual(['AwsKmsKey', 'AwsIamRole']);
    expect(asff['Description']).toBe(`First Decrypt by Intruder. Seen once at ${new Date(BASE_TIME_MS).toISOString()} from source 198.51.100.9, VPC endpoint vpce-1, region us-east-1.`);
    expect(asff['CreatedAt']).toBe(asff['UpdatedAt']);
  });

  it('keeps a role or user ARN with a long IAM path within a resource id\'s 512 characters', () => {
    const arn = (kind: string) => `arn:aws:iam::111122223333:${kind}/${'team/'.repeat(110)}Reader`;
    for (const [type, kind, resource] of [['AssumedRole', 'role', 'AwsIamRole'], ['IAMUser', 'user', 'AwsIamUser']] as const) {
      const rendered = toAsff({ ...finding, principal: { ...finding.principal, type, id: arn(kind) } }, rule) as unknown as { Resources: { Type: string; Id: string }[] };
      const principal = rendered.Resources.find((r) => r.Type === resource);

      expect(arn(kind).length).toBeGreaterThan(512);
      expect(principal?.Id.length).toBeLessThanOrEqual(512);
      expect(principal?.Id.startsWith(`arn:aws:iam::111122223333:${kind}/team/`)).toBe(true);
    }
  });

  it('truncates with a visible marker and never splits a character', () => {
    const text = `${'a'.repeat(250)}😀😀😀😀😀`;

    const cut = truncateText(text, 256);

    expect(cut.length).toBeLessThanOrEqual(256);
    expect(cut.endsWith('…[truncated]')).toBe(true);
    expect(/[\ud800-\udbff](?![\udc00-\udfff])/.test(cut)).toBe(false);
  });
});

describe('a burst\'s finding', () => {
  const calls = (n: number, make: (i: number) => Parameters<typeof kmsEvent>[0]) => Array.from({ length: n }, (_, i) => kmsEvent({ ...make(i), eventId: `e-${i}` }));

  it('starts when the burst started, not when it crossed the threshold, and keeps its first calls as evidence', () => {
    const events = calls(250, (i) => ({ who: { role: 'Exfil' }, s3Arn: `arn:aws:s3:::data/obj-${i}`, atMs: BASE_TIME_MS + i * 500 }));

    const [f] = runRuleCase(ruleById('kms-mass-decrypt')!, { name: 'burst', events, expectFindings: 1 }).findings;

    expect(f).toMatchObject({ firstSeenMs: BASE_TIME_MS, lastSeenMs: BASE_TIME_MS + 199 * 500, eventCount: 200 });
    expect(describeFinding(f!)).toContain(`Seen 200 times between ${new Date(BASE_TIME_MS).toISOString()} and ${new Date(BASE_TIME_MS + 199 * 500).toISOString()} from `);
    expect(f?.eventIds).toHaveLength(MAX_EVIDENCE_IDS);
    expect(f?.eventIds).toEqual(expect.arrayContaining(['e-199', 'e-0', 'e-1', 'e-18']));
  });

  it('starts in the previous window when the burst began there', () => {
    // 6 denied calls before a window boundary and 6 after it: the burst began a minute before the boundary.
    const start = BASE_TIME_MS + 4 * 60_000;
    const events = calls(12, (i) => ({ who: { role: 'Prober' }, errorCode: 'AccessDeniedException', atMs: start + i * 10_000 }));

    const [f] = runRuleCase(ruleById('kms-access-denied-burst')!, { name: 'straddling', events, expectFindings: 1 }).findings;

    expect(f?.firstSeenMs).toBe(start);
    expect(f?.eventIds).toEqual(expect.arrayContaining(['e-0', 'e-5', 'e-6']));
    // The call that crossed the threshold is the detection's own event and among the burst's: listed once.
    expect(f?.eventIds).toHaveLength(new Set(f?.eventIds).size);
  });
});

describe('a trail as a finding\'s resource', () => {
  const rule = ruleById('cloudtrail-kms-blind-spot')!;
  const trailFinding = (requestParameters: Record<string, unknown>) => {
    const [finding] = runRuleCase(rule, { name: 'stop', events: [otherEvent('cloudtrail.amazonaws.com', 'StopLogging', { requestParameters })], expectFindings: 1 }).findings;
    return finding!;
  };

  it('names the trail, by the ARN the call gave or by its name in the account and region of the call', () => {
    for (const [named, arn] of [
      ['arn:aws:cloudtrail:eu-west-1:444455556666:trail/org-trail', 'arn:aws:cloudtrail:eu-west-1:444455556666:trail/org-trail'],
      ['org-trail', 'arn:aws:cloudtrail:us-east-1:111122223333:trail/org-trail'],
    ] as const) {
      const finding = trailFinding({ name: named });
      const asff = toAsff(finding, rule) as unknown as { Resources: { Type: string; Id: string; Region: string; Details?: unknown }[] };
      const ocsf = toOcsf(finding, rule, '0.0.0') as unknown as { resources: { type: string; uid: string }[] };

      expect(asff.Resources[0]).toEqual({ Type: 'AwsCloudTrailTrail', Id: arn, Partition: 'aws', Region: arn.split(':')[3], Details: { AwsCloudTrailTrail: { Name: 'org-trail', TrailArn: arn, HomeRegion: arn.split(':')[3] } } });
      expect(asff.Resources.map((r) => r.Type)).toEqual(['AwsCloudTrailTrail', 'AwsIamRole']);
      expect(ocsf.resources).toEqual([{ uid: arn, type: 'AWS::CloudTrail::Trail', name: 'org-trail' }]);
    }
  });

  it('keeps a forged log\'s overlong trail name within ASFF\'s sizes', () => {
    const asff = toAsff(trailFinding({ name: 't'.repeat(3_000) }), rule) as unknown as { Resources: { Id: string; Details: { AwsCloudTrailTrail: { Name: string; TrailArn: string } } }[] };

    expect(asff.Resources[0]?.Id.length).toBeLessThanOrEqual(512);
    expect(asff.Resources[0]?.Details.AwsCloudTrailTrail.TrailArn.length).toBeLessThanOrEqual(512);
    expect(asff.Resources[0]?.Details.AwsCloudTrailTrail.Name.length).toBeLessThanOrEqual(128);
  });

  it('names no trail when the call names none', () => {
    const asff = toAsff(trailFinding({}), rule) as unknown as { Resources: { Type: string }[] };

    expect(asff.Resources.map((r) => r.Type)).toEqual(['AwsIamRole']);
  });
});

describe('a re-encryption as a finding\'s key', () => {
  it('names the key the ciphertext was moved under, with its account, not the one it left', () => {
    const rule = ruleById('kms-data-under-foreign-key')!;
    const destination = 'arn:aws:kms:us-east-1:999988887777:key/3f1c0000-0000-4000-8000-0000000000ff';
    const event = kmsEvent({ eventName: 'ReEncrypt', requestParameters: { destinationKeyId: destination } });
    const [finding] = runRuleCase(rule, { name: 'moved', events: [event], expectFindings: 1 }).findings;
    const asff = toAsff(finding!, rule) as unknown as { Resources: { Type: string; Id: string; Details?: unknown }[]; Severity: { Label: string } };

    expect(finding?.key).toEqual({ arn: destination, accountId: '999988887777' });
    expect(asff.Severity.Label).toBe('HIGH');
    expect(asff.Resources[0]).toEqual({ Type: 'AwsKmsKey', Id: destination, Partition: 'aws', Region: 'us-east-1', Details: { AwsKmsKey: { KeyId: '3f1c0000-0000-4000-8000-0000000000ff', AWSAccountId: '999988887777' } } });
  });
});

describe('a bucket\'s default encryption as a finding\'s key and bucket', () => {
  const rule = ruleById('s3-bucket-default-key-changed')!;
  const findingOf = (kmsKeyId: string) => {
    const requestParameters = { bucketName: 'finance', ServerSideEncryptionConfiguration: { Rule: { ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: kmsKeyId } } } };
    const [finding] = runRuleCase(rule, { name: 'set', events: [otherEvent('s3.amazonaws.com', 'PutBucketEncryption', { requestParameters })], expectFindings: 1 }).findings;
    return finding!;
  };

  it('names the key the default names, with its account, and the bucket, as a KMS call\'s finding names them', () => {
    const key = 'arn:aws:kms:us-east-1:999988887777:key/3f1c0000-0000-4000-8000-0000000000ff';
    const finding = findingOf(key);
    const asff = toAsff(finding, rule) as unknown as { Resources: { Type: string; Id: string; Details?: unknown }[]; ProductFields: Record<string, string> };
    const ocsf = toOcsf(finding, rule, '0.0.0') as unknown as { resources: { type: string; uid: string }[] };

    expect(finding.key).toEqual({ arn: key, accountId: '999988887777' });
    expect(finding.s3).toEqual({ bucket: 'finance' });
    expect(asff.Resources.map((r) => [r.Type, r.Id])).toEqual([
      ['AwsKmsKey', key],
      ['AwsS3Bucket', 'arn:aws:s3:::finance'],
      ['AwsIamRole', 'arn:aws:iam::111122223333:role/AdminRole'],
    ]);
    expect(asff.Resources[0]?.Details).toEqual({ AwsKmsKey: { KeyId: '3f1c0000-0000-4000-8000-0000000000ff', AWSAccountId: '999988887777' } });
    expect(asff.ProductFields['kdm/Bucket']).toBe('finance');
    expect(ocsf.resources.map((r) => r.type)).toEqual(expect.arrayContaining(['AWS::KMS::Key', 'AWS::S3::Bucket']));
  });

  it('names an alias of another account in its reason only: the record does not say which key it stands for', () => {
    const finding = findingOf('arn:aws:kms:us-east-1:999988887777:alias/locker');

    expect(finding.key).toBeUndefined();
    expect(finding.s3).toEqual({ bucket: 'finance' });
    expect(finding.reason).toContain('arn:aws:kms:us-east-1:999988887777:alias/locker, a key of account 999988887777');
  });
});

describe('a finding on an object read through a presigned URL', () => {
  const rule = ruleById('kms-unusual-principal')!;
  const request = s3Event({ eventId: 'get-1', bucket: 'finance', key: 'q4/x.csv', sourceIp: '198.51.100.70', userAgent: 'curl/8.5.0', presigned: true });
  const call = withCorrelation(kmsEvent({ eventId: 'dec-1', s3Arn: 'arn:aws:s3:::finance/q4/x.csv' }), 'object', {
    operation: 'GetObject', eventId: 'get-1', eventTimeMs: BASE_TIME_MS, bucket: 'finance', objectKey: 'q4/x.csv', sourceIp: request.sourceIp, userAgent: request.userAgent, presigned: request.presigned,
  });

  it('says the request was presigned, in its reason and among its product fields, so that its address is not taken for the principal\'s', () => {
    const finding = mergeDetection(undefined, { ...detection(BASE_TIME_MS), reason: `Read ${origin(call)}.`, event: call }, Date.UTC(2026, 10, 22));
    const asff = toAsff(finding, rule) as unknown as { ProductFields: Record<string, string>; Description: string };

    expect(asff.ProductFields).toMatchObject({ 'kdm/S3Presigned': 'true', 'kdm/S3SourceIp': '198.51.100.70', 'kdm/S3UserAgent': 'curl/8.5.0' });
    expect(asff.Description).toContain('Read through S3 GetObject of s3://finance/q4/x.csv (presigned: sent by whoever held the URL or form) from 198.51.100.70 in us-east-1.');
    expect((toOcsf(finding, rule, '0.0.0') as unknown as { evidences: { data?: Record<string, unknown> }[] }).evidences[0]?.data).toMatchObject({ s3_operation: 'GetObject', s3_presigned: true });
    const signed = mergeDetection(undefined, detection(BASE_TIME_MS), Date.UTC(2026, 10, 22));
    expect((toAsff(signed, rule) as unknown as { ProductFields: Record<string, string> }).ProductFields).not.toHaveProperty('kdm/S3Presigned');
  });
});

describe('a finding in another partition', () => {
  it('names the object S3 decrypted for a call in GovCloud or China by an ARN of that partition, in ASFF and OCSF', () => {
    const rule = ruleById('kms-unusual-principal')!;
    for (const [region, partition] of [['us-gov-west-1', 'aws-us-gov'], ['cn-north-1', 'aws-cn'], ['us-east-1', 'aws']] as const) {
      const call = withCorrelation(kmsEvent({ region, s3Arn: `arn:${partition}:s3:::finance/q4/x.csv` }), 'object', { operation: 'GetObject', eventId: 'get-1', eventTimeMs: BASE_TIME_MS, bucket: 'finance', objectKey: 'q4/x.csv' });
      const finding = mergeDetection(undefined, { ...detection(BASE_TIME_MS), event: call }, 1_000);
      const objectArn = `arn:${partition}:s3:::finance/q4/x.csv`;

      expect(finding.s3).toEqual({ bucket: 'finance', objectArn, objectKey: 'q4/x.csv' });
      expect((toAsff(finding, rule) as unknown as { Resources: { Type: string; Id: string; Partition: string }[] }).Resources).toContainEqual(expect.objectContaining({ Type: 'AwsS3Object', Id: objectArn, Partition: partition }));
      expect(toOcsf(finding, rule, '0.0.0')['resources']).toContainEqual(expect.objectContaining({ uid: objectArn, type: 'AWS::S3::Object' }));
      // A Bucket Key's decrypt names the bucket alone.
      const bucketOnly = mergeDetection(undefined, { ...detection(BASE_TIME_MS), event: kmsEvent({ region, s3Arn: `arn:${partition}:s3:::finance` }) }, 1_000);
      expect(toOcsf(bucketOnly, rule, '0.0.0')['resources']).toContainEqual(expect.objectContaining({ uid: `arn:${partition}:s3:::finance`, type: 'AWS::S3::Bucket' }));
    }
  });
});

describe('ASFF product fields', () => {
  it('never exceed 50, however many encryption context keys a call carries', () => {
    const rule = ruleById('kms-s3-data-key-direct-decrypt')!;
    const context = Object.fromEntries(Array.from({ length: 80 }, (_, i) => [`k${i}`, 'v']));
    const f = mergeDetection(undefined, { ...detection(BASE_TIME_MS), ruleId: rule.id, event: kmsEvent({ context }) }, 1_000);

    const asff = toAsff({ ...f, encryptionContext: context }, rule) as unknown as { ProductFields: Record<string, string> };

    expect(Object.keys(asff.ProductFields).length).toBeLessThanOrEqual(50);
    expect(asff.ProductFields['kdm/RuleId']).toBe(rule.id);
  });
});

describe('the S3 resource of a finding on a directory bucket or a table bucket', () => {
  const rule = ruleById('kms-s3-data-key-direct-decrypt')!;
  const resourcesOf = (context: Record<string, string>) => {
    const [finding] = runRuleCase(rule, { name: 'direct', events: [kmsEvent({ context, sourceIp: '198.51.100.23', userAgent: 'Boto3/1.34' })], expectFindings: 1 }).findings;
    const asff = toAsff(finding!, rule) as unknown as { Resources: { Type: string; Id: string }[] };
    const ocsf = toOcsf(finding!, rule, '0.0.0') as unknown as { resources: { type: string; uid: string; name: string }[] };
    return { s3: finding!.s3, asff: asff.Resources.filter((r) => r.Type !== 'AwsKmsKey' && r.Type !== 'AwsIamRole').map((r) => [r.Type, r.Id]), ocsf: ocsf.resources.filter((r) => r.type !== 'AWS::KMS::Key').map((r) => [r.type, r.uid, r.name]) };
  };

  const directoryBucket = 'arn:aws:s3express:us-east-1:111122223333:bucket/trades--use1-az4--x-s3';
  const table = 'arn:aws:s3tables:us-east-1:111122223333:bucket/analytics/table/8f1c2a3b-0000-4000-8000-000000000001';
  const vectorBucket = 'arn:aws:s3vectors:us-east-1:111122223333:bucket/embeddings';
  it.each([
    [
      'a directory bucket by its own ARN, not by an S3 ARN made of its name',
      { 'aws:s3express:arn': directoryBucket },
      { bucket: 'trades--use1-az4--x-s3', bucketArn: directoryBucket },
      ['AwsS3Bucket', directoryBucket],
      ['AWS::S3Express::DirectoryBucket', directoryBucket, 'trades--use1-az4--x-s3'],
    ],
    [
      'a table by its ARN, as a resource of a type ASFF does not have',
      { 'aws:s3:arn': table },
      { bucket: 'analytics', objectArn: table, objectKey: 'table/8f1c2a3b-0000-4000-8000-000000000001' },
      ['Other', table],
      ['AWS::S3Tables::Table', table, 'table/8f1c2a3b-0000-4000-8000-000000000001'],
    ],
    [
      'a vector bucket by its ARN, as a resource of a type ASFF does not have',
      { 'aws:s3vectors:arn': vectorBucket },
      { bucket: 'embeddings', bucketArn: vectorBucket },
      ['Other', vectorBucket],
      ['AWS::S3Vectors::VectorBucket', vectorBucket, 'embeddings'],
    ],
    [
      'a vector index by its ARN, as a resource of a type ASFF does not have',
      { 'aws:s3vectors:arn': `${vectorBucket}/index/docs` },
      { bucket: 'embeddings', objectArn: `${vectorBucket}/index/docs`, objectKey: 'index/docs' },
      ['Other', `${vectorBucket}/index/docs`],
      ['AWS::S3Vectors::Index', `${vectorBucket}/index/docs`, 'index/docs'],
    ],
  ])('names %s', (_, context, s3, asff, ocsf) => {
    expect(resourcesOf(context)).toEqual({ s3, asff: [asff], ocsf: [ocsf] });
  });

  it('keeps a bucket\'s ARN within ASFF\'s 512 characters for a resource id, whatever the record wrote', () => {
    const long = `arn:aws:s3express:us-east-1:111122223333:bucket/${'b'.repeat(600)}--use1-az4--x-s3`;

    expect(resourcesOf({ 'aws:s3express:arn': long }).asff[0]?.[1]).toHaveLength(512);
    expect(resourcesOf({ 'aws:s3:arn': `arn:aws:s3:::${'b'.repeat(600)}` }).asff[0]?.[1]).toHaveLength(512);
  });

  it('names a general purpose bucket and object as before', () => {
    expect(resourcesOf({ 'aws:s3:arn': 'arn:aws:s3:::reports/q3.pdf' })).toMatchObject({ asff: [['AwsS3Object', 'arn:aws:s3:::reports/q3.pdf']], ocsf: [['AWS::S3::Object', 'arn:aws:s3:::reports/q3.pdf', 'q3.pdf']] });
    expect(resourcesOf({ 'aws:s3:arn': 'arn:aws:s3:::archive' })).toEqual({ s3: { bucket: 'archive' }, asff: [['AwsS3Bucket', 'arn:aws:s3:::archive']], ocsf: [['AWS::S3::Bucket', 'arn:aws:s3:::archive', 'archive']] });
  });
});
