import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { deliveredByMs } from '#adapters/local/delivery-time.ts';
import { simulate } from '../../../../src/sim/simulate.ts';
import { REPO } from '../../../helpers/cli.ts';

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

describe('the logs this project writes, as a trail delivers them', () => {
  it('hold only records written before the delivery their names give: the bundled sample day, and kdm simulate', () => {
    const late = (path: string, records: readonly { readonly eventTime?: unknown }[]): string[] => {
      const by = deliveredByMs(path);
      return by === undefined ? [] : records.filter((r) => Date.parse(String(r.eventTime)) >= by).map((r) => `${path}: ${String(r.eventTime)}`);
    };
    const samples = readdirSync(join(REPO, 'events'), { recursive: true, encoding: 'utf8' }).filter((f) => /_CloudTrail_.*\.json\.gz$/.test(f));
    expect(samples.length).toBeGreaterThan(3);
    const sampleLate = samples.flatMap((f) => late(f, (JSON.parse(gunzipSync(readFileSync(join(REPO, 'events', f))).toString('utf8')) as { Records: { eventTime?: unknown }[] }).Records));
    const sim = simulate({ events: 3_000, seed: 5, anomalies: true, days: 9, anomaliesPerKind: 1 });
    const simLate = sim.files.flatMap((f) => late(f.path, f.records as { eventTime?: unknown }[]));

    expect(sampleLate).toEqual([]);
    expect(simLate).toEqual([]);
    expect(sim.files.every((f) => deliveredByMs(f.path) !== undefined)).toBe(true);
  });
});
