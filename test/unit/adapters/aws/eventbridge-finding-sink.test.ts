import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { describe, expect, it } from 'vitest';
import { createEventBridgeFindingSink, entrySize, FINDING_DETAIL_TYPE } from '#adapters/aws/eventbridge-finding-sink.ts';
import { FindingPublishError } from '#core/errors.ts';
import { toAsff } from '#core/findings/asff.ts';
import { mergeDetection, type FindingRecord } from '#core/findings/finding.ts';
import { ruleById } from '#core/rules/registry.ts';
import { BASE_TIME_MS, kmsEvent } from '#core/testing/builders.ts';
import { scriptedHttp, TEST_CREDENTIALS, virtualPacing } from '../../../helpers/fake-http.ts';

const rule = ruleById('kms-root-usage')!;
const finding = (i: number, reason = `Root decrypted ${i}.`): FindingRecord =>
  mergeDetection(undefined, { ruleId: rule.id, severity: 'HIGH', subject: `s${i}`, aggregationWindowMs: 3_600_000, reason, event: kmsEvent({ who: { root: true }, atMs: BASE_TIME_MS + i }) }, BASE_TIME_MS + 1000);

const setup = (replies: Parameters<typeof scriptedHttp>[0]) => {
  const http = scriptedHttp(replies);
  const client = new EventBridgeClient({ region: 'us-east-1', credentials: TEST_CREDENTIALS, requestHandler: http.handler, maxAttempts: 1 });
  const sink = createEventBridgeFindingSink({ client, busName: 'security-findings', render: (f) => ({ id: f.id, detail: toAsff(f, rule), resources: f.key !== undefined ? [f.key.arn] : [] }), pacing: virtualPacing() });
  return { http, sink };
};
type Entries = { Entries: { Source: string; DetailType: string; Detail: string; EventBusName: string }[] };
const allOk = (req: { json: unknown }) => ({ status: 200, body: { FailedEntryCount: 0, Entries: (req.json as Entries).Entries.map((_, i) => ({ EventId: `e${i}` })) } });

describe('EventBridgeFindingSink (real EventBridgeClient, scripted HTTP)', () => {
  it('puts findings as events, 10 a call, on the configured bus', async () => {
    const { http, sink } = setup([allOk]);

    await sink.put(Array.from({ length: 23 }, (_, i) => finding(i)));

    expect(http.requests.map((r) => r.headers['x-amz-target'])).toEqual(['AWSEvents.PutEvents', 'AWSEvents.PutEvents', 'AWSEvents.PutEvents']);
    expect(http.requests.map((r) => (r.json as Entries).Entries.length)).toEqual([10, 10, 3]);
    const entry = (http.requests[0]!.json as Entries).Entries[0]!;
    expect(entry).toMatchObject({ Source: 'kms-decrypt-monitor', DetailType: FINDING_DETAIL_TYPE, EventBusName: 'security-findings' });
    expect(JSON.parse(entry.Detail)).toHaveProperty(['ProductFields', 'kdm/RuleId'], 'kms-root-usage');
    expect(sink.stats.published).toBe(23);
  });

  it('retries entries that failed with a throttling code, and only those', async () => {
    const { http, sink } = setup([
      (req) => ({ status: 200, body: { FailedEntryCount: 1, Entries: (req.json as Entries).Entries.map((_, i) => (i === 1 ? { ErrorCode: 'ThrottlingException', ErrorMessage: 'slow down' } : { EventId: `e${i}` })) } }),
      allOk,
    ]);

    await sink.put([finding(1), finding(2), finding(3)]);

    expect(http.requests.map((r) => (r.json as Entries).Entries.length)).toEqual([3, 1]);
  });

  it('names the findings whose entries fail for good', async () => {
    const { sink } = setup([(req) => ({ status: 200, body: { FailedEntryCount: 1, Entries: (req.json as Entries).Entries.map((_, i) => (i === 0 ? { ErrorCode: 'MalformedDetail', ErrorMessage: 'bad' } : { EventId: 'x' })) } })]);
    const records = [finding(1), finding(2)];

    const error = (await sink.put(records).catch((e: unknown) => e)) as FindingPublishError;

    expect(error).toBeInstanceOf(FindingPublishError);
    expect(error.failures).toEqual([{ id: records[0]!.id, code: 'MalformedDetail', message: 'bad', refused: true }]);
  });

  it('retries a throttled call (400 ThrottlingException)', async () => {
    const { http, sink } = setup([{ status: 400, body: { __type: 'ThrottlingException', message: 'Rate exceeded' } }, allOk]);

    await sink.put([finding(1)]);

    expect(http.requests).toHaveLength(2);
  });

  it('measures entry size as EventBridge does and refuses an entry over 256 KB without sending it', async () => {
    const { http, sink } = setup([allOk]);
    expect(entrySize({ Source: 'ab', DetailType: 'c', Detail: '{"é":1}', Resources: ['r'], Time: new Date(0) })).toBe(14 + 2 + 1 + 8 + 1);
    const huge = { ...finding(1), reason: 'x'.repeat(10) };
    const bigSink = createEventBridgeFindingSink({ client: new EventBridgeClient({ region: 'us-east-1', credentials: TEST_CREDENTIALS, requestHandler: http.handler }), busName: 'b', render: (f) => ({ id: f.id, detail: { pad: 'x'.repeat(300_000) } }), pacing: virtualPacing() });

    await expect(bigSink.put([huge])).rejects.toThrow(/EntryTooLarge/);
    expect(http.requests).toHaveLength(0);
    await sink.put([finding(2)]);
    expect(http.requests).toHaveLength(1);
  });
});
