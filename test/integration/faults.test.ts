import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecurityHubClient } from '@aws-sdk/client-securityhub';
import type { Context, SQSEvent } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createCloudTrailEventHandler, createFlushHandler } from '#adapters/lambda/handlers.ts';
import { createLiveDeps } from '../../functions/shared/live-deps.ts';
import { simulate } from '../../src/sim/simulate.ts';
import { useDynamoDbLocal } from '../helpers/dynamodb-local.ts';
import { scriptedHttp, TEST_CREDENTIALS, type ScriptedReply } from '../helpers/fake-http.ts';

const ddb = useDynamoDbLocal();
afterEach(() => vi.restoreAllMocks());

const context = (id: string): Context => ({ awsRequestId: id, functionName: 'kdm', functionVersion: '1', invokedFunctionArn: 'arn', memoryLimitInMB: '512', logGroupName: 'g', logStreamName: 's', callbackWaitsForEmptyEventLoop: true, getRemainingTimeInMillis: () => 60_000, done: () => undefined, fail: () => undefined, succeed: () => undefined }) as Context;

const sqs = (records: readonly unknown[], offset: number): SQSEvent => ({
  Records: records.map((r, i) => ({
    messageId: `m${offset + i}`, receiptHandle: 'r', body: JSON.stringify({ 'detail-type': 'AWS API Call via CloudTrail', detail: r }),
    attributes: { ApproximateReceiveCount: '1', SentTimestamp: '0', SenderId: 's', ApproximateFirstReceiveTimestamp: '0' }, messageAttributes: {}, md5OfBody: '', eventSource: 'aws:sqs', eventSourceARN: 'arn', awsRegion: 'us-east-1',
  })),
});

/**
 * DynamoDB that throttles: every `every`-th call (absorbed by the store's retries), and a burst of 5 in a row
 * every `burstEvery` calls (more than the retries absorb: the batch fails and SQS delivers it again), until `calm`.
 */
const flaky = (client: DynamoDBClient, every: number, burstEvery: number) => {
  let calls = 0;
  let failures = 0;
  let calmed = false;
  const proxy = new Proxy(client, {
    get(target, prop, receiver) {
      if (prop !== 'send') return Reflect.get(target, prop, receiver);
      return async (command: unknown) => {
        calls++;
        if (!calmed && (calls % every === 0 || calls % burstEvery < 5)) {
          failures++;
          throw Object.assign(new Error('Throughput exceeds the current capacity of your table'), { name: 'ProvisionedThroughputExceededException', $metadata: { httpStatusCode: 400 } });
        }
        return target.send(command as never);
      };
    },
  });
  return {
    client: proxy as DynamoDBClient,
    failures: () => failures,
    calm: () => {
      calmed = true;
    },
  };
};

/** Security Hub on the wire: throttles, fails with 5xx, refuses some findings in FailedFindings, then accepts. */
const moodyHub = (faults: number) => {
  const latest = new Map<string, string>();
  let n = 0;
  const http = scriptedHttp([
    (req): ScriptedReply => {
      n++;
      const findings = (req.json as { Findings: { Id: string; ProductFields: Record<string, string> }[] }).Findings;
      if (n <= faults) {
        if (n % 3 === 1) return { status: 429, body: { message: 'Rate exceeded' }, headers: { 'x-amzn-errortype': 'TooManyRequestsException' } };
        if (n % 3 === 2) return { status: 503, body: { message: 'Service Unavailable' } };
        const refused = findings.filter((_, i) => i % 2 === 0);
        for (const f of findings.filter((_, i) => i % 2 === 1)) latest.set(f.Id, f.ProductFields['kdm/EventCount'] ?? '');
        return { status: 200, body: { FailedCount: refused.length, SuccessCount: findings.length - refused.length, FailedFindings: refused.map((f) => ({ Id: f.Id, ErrorCode: 'InternalFailure', ErrorMessage: 'try again' })) } };
      }
      for (const f of findings) latest.set(f.Id, f.ProductFields['kdm/EventCount'] ?? '');
      return { status: 200, body: { FailedCount: 0, SuccessCount: findings.length, FailedFindings: [] } };
    },
  ]);
  const client = new SecurityHubClient({ region: 'us-east-1', credentials: TEST_CREDENTIALS, requestHandler: http.handler, maxAttempts: 1 });
  return { client, latest };
};

/** Runs the traffic through the handler as SQS would: a batch that fails is delivered again, until it succeeds. */
const deliver = async (options: { dynamo: DynamoDBClient; hub: SecurityHubClient; table: string; records: readonly unknown[]; lastEventMs: number }) => {
  let nowMs = options.lastEventMs + 3_600_000;
  const deps = await createLiveDeps({
    env: { STATE_TABLE: options.table, KDM_KEY_FACTS: 'off', POWERTOOLS_LOG_LEVEL: 'SILENT', POWERTOOLS_METRICS_DISABLED: 'true', KDM_JOURNAL_TAKEOVER_MS: '8000', KDM_BUSY_WAIT_MS: '15000' },
    dynamodb: options.dynamo,
    securityHubClientFor: () => options.hub,
    clock: { nowMs: () => nowMs },
  });
  const handler = createCloudTrailEventHandler(deps);
  let redeliveries = 0;
  for (let i = 0; i < options.records.length; i += 250) {
    for (let attempt = 1; ; attempt++) {
      try {
        const response = await handler(sqs(options.records.slice(i, i + 250), i), context(`b${i}-${attempt}`));
        expect(response.batchItemFailures).toEqual([]);
        break;
      } catch (error) {
        redeliveries++;
        if (attempt >= 8) throw error;
      }
    }
  }
  // Scheduled flushes, 5 minutes apart: the first comes after the findings' hold.
  for (let attempt = 1; ; attempt++) {
    nowMs += 5 * 60_000;
    try {
      const flushed = await createFlushHandler(deps)({}, context(`flush-${attempt}`));
      if (flushed.failed === 0 && (await deps.store.unpublishedFindings()).length === 0) break;
    } catch {
      redeliveries++;
    }
    if (attempt >= 8) throw new Error('the outbox never emptied');
  }
  return { deps, redeliveries };
};

describe('faults: throttled DynamoDB, failing Security Hub, redelivered batches', () => {
  it('loses and doubles nothing: findings and ledger equal those of a run without faults', async () => {
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const sim = simulate({ events: 4_000, seed: 99, anomalies: true, days: 9, anomaliesPerKind: 1, recordsPerFile: 500 });
    const records = sim.files.flatMap((f) => f.records);
    const lastEventMs = Math.max(...records.map((r) => Date.parse(String(r['eventTime']))));
    const days = [...new Set(records.map((r) => String(r['eventTime']).slice(0, 10)))];

    const cleanHub = moodyHub(0);
    const clean = await deliver({ dynamo: ddb.client(), hub: cleanHub.client, table: await ddb.newStateTable(), records, lastEventMs });
    const faultyDynamo = flaky(ddb.client(), 17, 211);
    const faultyHub = moodyHub(6);
    const faulty = await deliver({ dynamo: faultyDynamo.client, hub: faultyHub.client, table: await ddb.newStateTable(), records, lastEventMs });

    const ledgerOf = async (store: typeof clean.deps.store) => {
      const { rows, accesses } = await (store as unknown as { ledgerOfDays(d: string[]): Promise<{ rows: { kind: string; day: string; key: string; principal: string; operation: string; path: string; bucket: string; count: number }[]; accesses: { day: string; objectKey: string; principal: string; count: number }[] }> }).ledgerOfDays(days);
      return {
        rows: rows.map((r) => `${r.day}|${r.key}|${r.principal}|${r.bucket}|${r.operation}|${r.path}=${r.count}`).sort(),
        accesses: accesses.map((a) => `${a.day}|${a.principal}|${a.objectKey}=${a.count}`).sort(),
      };
    };
    // The faults end with the traffic: the check reads what the run left, not what a throttled read would let it.
    faultyDynamo.calm();
    expect(clean.redeliveries).toBe(0);
    expect(faultyDynamo.failures()).toBeGreaterThan(5);
    expect(faulty.redeliveries).toBeGreaterThan(3);
    expect(cleanHub.latest.size).toBeGreaterThan(3);
    expect(Object.fromEntries(faultyHub.latest)).toEqual(Object.fromEntries(cleanHub.latest));
    expect(await ledgerOf(faulty.deps.store)).toEqual(await ledgerOf(clean.deps.store));
  }, 300_000);
});
