import { describe, expect, it } from 'vitest';
import { normalizeRecord } from '../../../src/core/events/normalize.ts';
import { simulate } from '../../../src/sim/simulate.ts';

describe('simulate', () => {
  it('answers each write as S3 logs it: the encryption applied and, for SSE-KMS, the key the engine reads as the applied key', () => {
    const records = simulate({ events: 3_000, anomalies: true, seed: 7 }).files.flatMap((f) => f.records);
    const writes = records.filter((r) => r['eventName'] === 'PutObject');
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

  it('writes the records in the order of their times, a whole second (…:48Z) before its own fractions (…:48.5Z)', () => {
    const { files } = simulate({ events: 3_000, anomalies: true, seed: 5 });
    const times = files.flatMap((f) => f.records.map((r) => Date.parse(r['eventTime'] as string)));
    const wholeSeconds = files.flatMap((f) => f.records.filter((r) => /:\d\dZ$/.test(r['eventTime'] as string)));
    expect(wholeSeconds.length).toBeGreaterThan(100);
    const outOfOrder = times.findIndex((t, i) => i > 0 && t < (times[i - 1] as number));
    expect(outOfOrder).toBe(-1);
  });
});
