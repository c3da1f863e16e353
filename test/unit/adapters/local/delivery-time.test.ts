import { describe, expect, it } from 'vitest';
import { deliveredByMs } from '#adapters/local/delivery-time.ts';

describe('deliveredByMs', () => {
  it('reads the delivery minute of a trail\'s log file name, as the end of that minute', () => {
    expect(deliveredByMs('AWSLogs/111122223333/CloudTrail/us-east-2/2015/08/01/111122223333_CloudTrail_us-east-2_20150801T0210Z_Mu0KsOhtH1ar15ZZ.json.gz')).toBe(Date.parse('2015-08-01T02:11:00Z'));
    expect(deliveredByMs('111122223333_CloudTrail_us-gov-west-1_20261231T2359Z_a.json')).toBe(Date.parse('2027-01-01T00:00:00Z'));
  });

  it('says nothing of other names: digests, Insights, exports, a name whose digits are no time', () => {
    for (const name of [
      'AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/10/01/111122223333_CloudTrail-Digest_us-east-1_trail_us-east-1_20261001T1300Z.json.gz',
      '111122223333_CloudTrail-Insight_us-east-1_20261001T1300Z_x.json.gz',
      'export.jsonl.gz',
      '-',
      '111122223333_CloudTrail_us-east-1_20261301T1300Z_x.json.gz',
      '111122223333_CloudTrail_us-east-1_20260230T1300Z_x.json.gz',
      '111122223333_CloudTrail_us-east-1_20261001T2460Z_x.json.gz',
      '111122223333_CloudTrail_us-east-1_20261001T1300Z_x/inner.json',
    ]) {
      expect(deliveredByMs(name), name).toBeUndefined();
    }
  });
});
