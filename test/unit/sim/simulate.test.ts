import { describe, expect, it } from 'vitest';
import { normalizeRecord } from '../../../src/core/events/normalize.ts';
import { SIM_KEYS, SIM_S3_ENDPOINT, simulate } from '../../../src/sim/simulate.ts';

describe('simulate', () => {
  it('answers each write as S3 logs it: the encryption applied and, for SSE-KMS, the key the engine reads as the applied key', () => {
    const records = simulate({ events: 3_000, anomalies: true, seed: 7 }).files.flatMap((f) => f.records);
    // The writes' own records, not the endpoint owner's network records of calls through its endpoints.
    const writes = records.filter((r) => r['eventName'] === 'PutObject' && r['eventCategory'] !== 'NetworkActivity');
    const byEncryption = new Map<string, number>();

    for (const raw of writes) {
      const sse = (raw['additionalEventData'] as { SSEApplied: string }).SSEApplied;
      const response = raw['responseElements'] as Record<string, string>;
      const request = raw['requestParameters'] as Record<string, string>;
      const result = normalizeRecord(raw);
      if (!result.ok || result.event.kind !== 's3') throw new Error(`not an S3 event: ${JSON.stringify(raw).slice(0, 200)}`);
      byEncryption.set(sse, (byEncryption.get(sse) ?? 0) + 1);
      if (sse === 'SSE_KMS') {
        expect(response).toEqual({ 'x-amz-server-side-encryption': 'aws:kms', 'x-amz-server-side-encryption-aws-kms-key-id': request['x-amz-server-side-encryption-aws-kms-key-id'] });
        expect(result.event.appliedKmsKeyId).toBe(request['x-amz-server-side-encryption-aws-kms-key-id']);
      } else {
        expect(sse).toBe('SSE_S3');
        expect(response).toEqual({ 'x-amz-server-side-encryption': 'AES256' });
        expect(result.event.appliedKmsKeyId).toBeUndefined();
      }
    }
    expect(byEncryption.get('SSE_KMS')).toBeGreaterThan(10);
    expect(byEncryption.get('SSE_S3')).toBeGreaterThan(0);
  });

  it('sends the ETL job\'s S3 object requests from its private address through its S3 endpoint, and labels its credentials\' read from the internet through none', () => {
    const { files, labels } = simulate({ events: 3_000, anomalies: true, seed: 7, days: 10 });
    const records = files.flatMap((f) => f.records);
    const fromEtl = records.filter((r) => r['eventCategory'] === 'Data' && (r['userIdentity'] as { arn: string }).arn.includes('/ReportEtl/'));
    const label = labels.find((l) => l.id === 'kms-unusual-network/s3#0');
    const away = new Set(label?.eventIds);

    expect(fromEtl.length).toBeGreaterThan(100);
    for (const r of fromEtl) {
      if (away.has(r['eventID'] as string)) expect(r).not.toHaveProperty('vpcEndpointId');
      else expect(r).toMatchObject({ sourceIPAddress: expect.stringMatching(/^10\./), vpcEndpointId: SIM_S3_ENDPOINT });
    }
    expect(label).toMatchObject({ rule: 'kms-unusual-network', alsoRules: [] });
    const read = records.filter((r) => away.has(r['eventID'] as string));
    expect(read.map((r) => [r['eventName'], r['sourceIPAddress']])).toEqual([['Decrypt', 'AWS Internal'], ['GetObject', '198.51.100.32']]);
  });

  it('writes the records in the order of their times, a whole second (…:48Z) before its own fractions (…:48.5Z)', () => {
    const { files } = simulate({ events: 3_000, anomalies: true, seed: 5 });
    const times = files.flatMap((f) => f.records.map((r) => Date.parse(r['eventTime'] as string)));
    const wholeSeconds = files.flatMap((f) => f.records.filter((r) => /:\d\dZ$/.test(r['eventTime'] as string)));
    expect(wholeSeconds.length).toBeGreaterThan(100);
    const outOfOrder = times.findIndex((t, i) => i > 0 && t < (times[i - 1] as number));
    expect(outOfOrder).toBe(-1);
  });

  it('with anomalies, signs and makes MACs every day from the first as KMS logs them, and labels a new signer, the root user\'s MAC and a workload\'s MAC from the AWS CLI', () => {
    const records = (anomalies: boolean) => simulate({ events: 3_000, anomalies, seed: 7, days: 10 }).files.flatMap((f) => f.records);
    const signingCalls = (rs: readonly Record<string, unknown>[]) =>
      rs.filter((r) => ['Sign', 'GenerateMac', 'VerifyMac'].includes(r['eventName'] as string) && r['eventCategory'] !== 'NetworkActivity');
    expect(signingCalls(records(false))).toEqual([]);

    const calls = signingCalls(records(true));
    const days = (name: string) => new Set(calls.filter((r) => r['eventName'] === name).map((r) => (r['eventTime'] as string).slice(0, 10)));
    for (const name of ['Sign', 'GenerateMac', 'VerifyMac']) expect(days(name).size).toBe(10);
    for (const raw of calls) {
      const result = normalizeRecord(raw);
      if (!result.ok || result.event.kind !== 'kms') throw new Error(`not a KMS call: ${JSON.stringify(raw).slice(0, 200)}`);
      const request = raw['requestParameters'] as Record<string, unknown>;
      // As the documentation's example records: the algorithm, no encryption context and no encryption algorithm.
      if (raw['eventName'] === 'Sign') {
        expect(result.event.keyArn).toBe(SIM_KEYS.signing.arn);
        expect(request).toMatchObject({ messageType: 'DIGEST', signingAlgorithm: 'ECDSA_SHA_256' });
      } else {
        expect(result.event.keyArn).toBe(SIM_KEYS.tokens.arn);
        expect(request).toMatchObject({ macAlgorithm: 'HMAC_SHA_256' });
      }
      expect(request).not.toHaveProperty('encryptionContext');
      expect(request).not.toHaveProperty('encryptionAlgorithm');
    }

    const { labels } = simulate({ events: 3_000, anomalies: true, seed: 7, days: 10 });
    const byId = new Map(labels.map((l) => [l.id, l]));
    expect(byId.get('kms-unusual-principal/sign#0')).toMatchObject({ rule: 'kms-unusual-principal', eventIds: [expect.any(String)] });
    expect(byId.get('kms-root-usage/hmac#0')).toMatchObject({ rule: 'kms-root-usage', alsoRules: ['kms-unusual-principal'] });
    const labelled = new Set(labels.flatMap((l) => l.eventIds));
    // The third instance of a workload's credentials used from the AWS CLI is the token service's, making a MAC.
    expect(byId.get('kms-unusual-client#2')).toMatchObject({ rule: 'kms-unusual-client', alsoRules: [], eventIds: [expect.any(String)] });
    expect(calls.filter((r) => labelled.has(r['eventID'] as string)).map((r) => r['eventName'])).toEqual(['Sign', 'GenerateMac', 'Sign', 'GenerateMac', 'Sign', 'GenerateMac', 'GenerateMac']);
  });

  it('with anomalies, writes the data account\'s network activity events as AWS\'s examples show them, and labels an outside caller\'s and a denied one', () => {
    const { files, labels } = simulate({ events: 3_000, anomalies: true, seed: 7, days: 10 });
    const network = files.flatMap((f) => f.records).filter((r) => r['eventCategory'] === 'NetworkActivity');
    const labelled = new Map(labels.flatMap((l) => l.eventIds.map((id) => [id, l.rule] as const)));

    // Per instance: on the first day, for the endpoints to learn from, a workload's call through its KMS endpoint,
    // the ETL job's read through its S3 endpoint and the partner's call through the KMS endpoint of the VPC it shares;
    // beside the anomalies, three workloads' and the partner's calls through the KMS endpoint and the ETL job's read
    // through its S3 endpoint (none of them an anomaly); an outside account's decrypt and a denied write.
    expect(network).toHaveLength(30);
    for (const raw of network) {
      expect(raw).toMatchObject({ eventType: 'AwsVpceEvent', recipientAccountId: '111122223333', vpcEndpointAccountId: '111122223333' });
      expect(raw).not.toHaveProperty('requestParameters');
      expect(raw).not.toHaveProperty('resources');
      const result = normalizeRecord(raw);
      expect(result.ok && result.event.kind).toBe('vpce');
    }
    const byRule = (rule: string | undefined) => network.filter((r) => labelled.get(r['eventID'] as string) === rule);
    expect(byRule(undefined)).toHaveLength(24);
    // The partner's, of another account than the endpoint's: learned on the first day, so no anomaly later.
    expect(byRule(undefined).filter((r) => (r['userIdentity'] as { accountId: string }).accountId === '444455556666')).toHaveLength(6);
    expect(byRule('vpce-outside-credentials').map((r) => r['userIdentity'])).toEqual([0, 1, 2].map((i) => ({ type: 'AWSAccount', principalId: 'AKIASIMULATEDOUTSIDE', accountId: `9999888877${30 + i}` })));
    expect(byRule('vpce-access-denied').map((r) => [r['eventName'], r['vpcEndpointId'], r['errorCode']])).toEqual([0, 1, 2].map(() => ['PutObject', SIM_S3_ENDPOINT, 'VpceAccessDenied']));
  });
});
