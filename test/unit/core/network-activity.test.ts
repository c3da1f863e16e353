import { describe, expect, it } from 'vitest';
import { createRecordProcessor } from '#app/process-records.ts';
import { createMemoryStateStore } from '#adapters/memory/memory-state-store.ts';
import { createEngine } from '#core/engine.ts';
import { RuleDefinitionError } from '#core/errors.ts';
import { normalizeRecord } from '#core/events/normalize.ts';
import type { MonitorEvent } from '#core/events/types.ts';
import { toAsff } from '#core/findings/asff.ts';
import { toOcsf } from '#core/findings/ocsf.ts';
import { defineRule } from '#core/rules/define-rule.ts';
import { eventPatternsFor } from '#core/rules/event-patterns.ts';
import { ALL_RULES, ruleById } from '#core/rules/registry.ts';
import { createWorkingState, stateKey } from '#core/state.ts';
import { ACCOUNT, BASE_TIME_MS, days, kmsEvent, kmsRecord, networkEvent, networkRecord, OTHER_ACCOUNT, s3Event } from '#core/testing/builders.ts';
import { TEST_RULE_METADATA } from '../../helpers/test-rule.ts';

const META = TEST_RULE_METADATA;

const eventOf = (record: Record<string, unknown>): MonitorEvent => {
  const r = normalizeRecord(record);
  if (!r.ok) throw new Error(`not an event: ${r.reason}`);
  return r.event;
};

const ENDPOINT_ARN = `arn:aws:ec2:us-east-1:${ACCOUNT}:vpc-endpoint/vpce-0a1b2c3d4e5f60718`;

describe('network activity events (VpcEndpointCall)', () => {
  it('reach the rules that select a source\'s network activity, and those rules see no calls', () => {
    const seen: string[] = [];
    const calls = defineRule({ ...META, id: 'calls-rule', selection: [{ eventSource: 'kms.amazonaws.com', eventNames: ['*'] }], detect: (e) => void seen.push(`calls:${e.kind}`) });
    const network = defineRule({ ...META, id: 'network-rule', selection: [{ eventSource: 'kms.amazonaws.com', eventNames: ['*'], networkActivity: true }], detect: (e) => void seen.push(`network:${e.kind}`) });
    const s3Network = defineRule({ ...META, id: 's3-network-rule', selection: [{ eventSource: 's3.amazonaws.com', eventNames: ['GetObject'], networkActivity: true }], detect: (e) => void seen.push(`s3-network:${e.kind}`) });

    createEngine({ rules: [calls, network, s3Network] }).evaluate(
      [kmsEvent({ vpcEndpointId: 'vpce-0a1b2c3d4e5f60718' }), networkEvent(), networkEvent({ eventSource: 's3.amazonaws.com', eventName: 'GetObject' }), s3Event()],
      createWorkingState(new Map()),
    );

    expect(seen).toEqual(['calls:kms', 'network:vpce', 's3-network:vpce']);
  });

  it('are deduplicated by their own eventID, never as the call whose sharedEventID they carry', () => {
    // AWS does not say whether a network record's sharedEventID is the call's own: here it is.
    const network = { ...networkRecord({ eventId: 'network-1' }), sharedEventID: 'shared-1' };
    const result = createEngine({ rules: [] }).evaluate([eventOf(network), eventOf(kmsRecord({ sharedEventId: 'shared-1' })), eventOf(network)], createWorkingState(new Map()));

    expect(result.accepted.map((e) => e.kind)).toEqual(['vpce', 'kms']);
    expect(result.duplicates).toBe(1);
  });

  it('are deduplicated alike by the in-memory store the replay keeps, across batches', async () => {
    const processor = createRecordProcessor({ engine: createEngine({ rules: ALL_RULES }), store: createMemoryStateStore(), clock: { nowMs: () => 0 } });
    const network = { ...networkRecord({ who: { outsideAccount: OTHER_ACCOUNT }, eventId: 'network-2' }), sharedEventID: 'shared-2' };

    await processor.processBatch({ file: 'a.json', records: [network, kmsRecord({ sharedEventId: 'shared-2' })], firstIndex: 0 });
    await processor.processBatch({ file: 'b.json', records: [network], firstIndex: 0 });

    expect(processor.summary.events).toMatchObject({ kms: 1, network: 1 });
    expect(processor.summary.records.skippedByReason.get('duplicate')).toBe(1);
  });

  it('add nothing to the EventBridge subscriptions, which stay those of the calls', () => {
    const withoutNetworkRules = ALL_RULES.filter((r) => !r.selection.some((s) => s.networkActivity === true));

    expect(withoutNetworkRules.length).toBeLessThan(ALL_RULES.length);
    expect(eventPatternsFor(ALL_RULES)).toEqual(eventPatternsFor(withoutNetworkRules));
  });

  it('are selected for KMS and S3 only, and never with calls in one rule', () => {
    const detect = () => undefined;
    expect(() => defineRule({ ...META, id: 'trail-network', selection: [{ eventSource: 'cloudtrail.amazonaws.com', eventNames: ['*'], networkActivity: true }], detect })).toThrow(RuleDefinitionError);
    expect(() => defineRule({ ...META, id: 'mixed', selection: [{ eventSource: 'kms.amazonaws.com', eventNames: ['*'], networkActivity: true }, { eventSource: 'kms.amazonaws.com', eventNames: ['Decrypt'] }], detect })).toThrow(/network activity events or calls, not both/);
  });

  it('keep the accounts an endpoint served while it learned in its baseline, apart from the denied ones, across batches', async () => {
    const store = createMemoryStateStore();
    const processor = createRecordProcessor({ engine: createEngine({ rules: ALL_RULES }), store, clock: { nowMs: () => 0 } });

    await processor.processBatch({ file: 'a.json', records: [networkRecord(), networkRecord({ who: { role: 'Member', account: OTHER_ACCOUNT }, atMs: BASE_TIME_MS + 1_000 })], firstIndex: 0 });
    await processor.processBatch({ file: 'b.json', records: [networkRecord({ who: { outsideAccount: '999988887777' }, denied: true, atMs: BASE_TIME_MS + 2_000 })], firstIndex: 0 });

    const entry = (await store.load([stateKey.endpointBaseline('vpce-0a1b2c3d4e5f60718')])).get(stateKey.endpointBaseline('vpce-0a1b2c3d4e5f60718'));
    expect(entry).toEqual({ kind: 'endpoint-baseline', firstSeenMs: BASE_TIME_MS, lastSeenMs: BASE_TIME_MS + 1_000, accounts: { [ACCOUNT]: BASE_TIME_MS, [OTHER_ACCOUNT]: BASE_TIME_MS + 1_000 } });
  });

  it('make findings that name the VPC endpoint and the outside caller, in ASFF and OCSF', async () => {
    const rule = ruleById('vpce-outside-credentials');
    if (rule === undefined) throw new Error('no vpce-outside-credentials rule');
    const processor = createRecordProcessor({ engine: createEngine({ rules: [rule] }), store: createMemoryStateStore(), clock: { nowMs: () => Date.UTC(2026, 11, 7) } });

    // The endpoint's own call a week before, from which it learned; the outside call, in a later batch.
    await processor.processBatch({ file: 'a.json', records: [networkRecord({ atMs: BASE_TIME_MS - days(8) })], firstIndex: 0 });
    const { findings } = await processor.processBatch({ file: 'b.json', records: [networkRecord({ who: { outsideAccount: OTHER_ACCOUNT } })], firstIndex: 0 });

    expect(findings).toHaveLength(1);
    const finding = findings[0]!;
    expect(finding).toMatchObject({ serviceName: 'kms.amazonaws.com', api: 'Decrypt', accountId: ACCOUNT, principal: { type: 'AWSAccount', accountId: OTHER_ACCOUNT }, network: { vpcEndpointId: 'vpce-0a1b2c3d4e5f60718', sourceIp: '10.0.12.34' } });
    expect(finding.key).toBeUndefined();
    const asff = toAsff(finding, rule) as unknown as { Resources: { Type: string; Id: string }[] };
    expect(asff.Resources).toContainEqual({ Type: 'Other', Id: ENDPOINT_ARN, Partition: 'aws', Region: 'us-east-1' });
    expect(asff.Resources).toContainEqual({ Type: 'Other', Id: `aws-account:${OTHER_ACCOUNT}:AKIAIOSFODNN7EXAMPLE`, Partition: 'aws', Region: 'us-east-1' });
    const ocsf = toOcsf(finding, rule, '0.0.0') as unknown as { resources: { uid: string; type: string }[] };
    expect(ocsf.resources).toContainEqual({ uid: ENDPOINT_ARN, type: 'AWS::EC2::VPCEndpoint', name: 'vpce-0a1b2c3d4e5f60718' });
  });
});
