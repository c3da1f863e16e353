// `npm run bench:cost`: SQS-shaped batches of simulated CloudTrail through the Lambda handler, with its state
// in DynamoDB Local and Security Hub / KMS answered on the wire through the real SDK clients, counting every
// AWS call. Prints calls per 1,000 KMS records and the list-price cost per million records.
import { KMSClient } from '@aws-sdk/client-kms';
import { SecurityHubClient } from '@aws-sdk/client-securityhub';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context, SQSEvent } from 'aws-lambda';
import { createStateTable } from '#adapters/aws/dynamodb-state-store.ts';
import { createCloudTrailEventHandler, createFlushHandler } from '#adapters/lambda/handlers.ts';
import { createLiveDeps } from '../functions/shared/live-deps.ts';
import { simulate } from '../src/sim/simulate.ts';
import { scriptedHttp } from '../test/helpers/fake-http.ts';
import { startDynamoDbLocal } from '../scripts/dynamodb-local.mjs';

/**
 * Public list prices, us-east-1, as published on the AWS pricing pages (checked 2026-11-22; DynamoDB
 * on-demand after the November 2024 reduction). Free tiers are ignored.
 */
const PRICES = {
  date: '2026-11-22',
  lambdaArmGbSecond: 0.0000133334,
  lambdaRequest: 0.2 / 1e6,
  sqsRequest: 0.4 / 1e6,
  dynamoWriteRequestUnit: 0.625 / 1e6,
  dynamoReadRequestUnit: 0.125 / 1e6,
  securityHubFindingIngestion: 0.00003,
} as const;

/**
 * Live traffic as the event source mapping delivers it: whatever arrived in the 20 s batching window, at most
 * 1,000 messages (serverless.yml). By default a day at 200,000 records/day (about 2.3 a second): a
 * mid-sized organization's KMS and S3 data events. KDM_COST_RECORDS / KDM_COST_DAYS change the rate.
 */
const RECORDS = Number(process.env.KDM_COST_RECORDS ?? 200_000);
const DAYS = Number(process.env.KDM_COST_DAYS ?? 1);
const BATCH = 1_000; // serverless.yml batchSize
const WINDOW_MS = 20_000; // serverless.yml maximumBatchingWindow
const MEMORY_GB = 0.5; // serverless.yml memorySize 512

const context = (id: string): Context => ({ awsRequestId: id, functionName: 'kdm', functionVersion: '1', invokedFunctionArn: 'arn', memoryLimitInMB: '512', logGroupName: 'g', logStreamName: 's', callbackWaitsForEmptyEventLoop: true, getRemainingTimeInMillis: () => 60_000, done: () => undefined, fail: () => undefined, succeed: () => undefined }) as Context;

const main = async (): Promise<void> => {
  const server = await startDynamoDbLocal();
  try {
    const dynamodb = new DynamoDBClient({ endpoint: server.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    await createStateTable(dynamodb, 'kdm-cost');
    const calls = new Map<string, { calls: number; items: number }>();
    const count = (service: string, operation: string, items: number): void => {
      const key = `${service}:${operation}`;
      const c = calls.get(key) ?? { calls: 0, items: 0 };
      c.calls++;
      c.items += items;
      calls.set(key, c);
    };
    let findingsSent = 0;
    const hub = scriptedHttp([
      (req) => {
        const n = (req.json as { Findings: unknown[] }).Findings.length;
        findingsSent += n;
        return { status: 200, body: { FailedCount: 0, SuccessCount: n, FailedFindings: [] } };
      },
    ]);
    const keysLookedUp = new Set<string>();
    const kms = scriptedHttp([
      (req) => {
        const keyId = (req.json as { KeyId: string }).KeyId;
        keysLookedUp.add(keyId);
        return { status: 200, body: { KeyMetadata: { Arn: keyId, KeyId: keyId.split('/').pop(), KeyManager: 'CUSTOMER', KeyState: 'Enabled', KeySpec: 'SYMMETRIC_DEFAULT' } } };
      },
    ]);
    const credentials = { accessKeyId: 'x', secretAccessKey: 'x' };
    const securityHub = new SecurityHubClient({ region: 'us-east-1', credentials, requestHandler: hub.handler });
    const kmsClient = new KMSClient({ region: 'us-east-1', credentials, requestHandler: kms.handler });
    const sim = simulate({ events: RECORDS, seed: 7, anomalies: true, days: DAYS, recordsPerFile: 500 });
    const records = sim.files.flatMap((f) => f.records).sort((a, b) => String(a['eventTime']).localeCompare(String(b['eventTime'])));
    // Batches as the poller forms them: a batching window of event time, or 1,000 messages, whichever first.
    const batches: (typeof records)[] = [];
    for (const r of records) {
      const at = Date.parse(String(r['eventTime']));
      const last = batches.at(-1);
      if (last !== undefined && last.length < BATCH && at - Date.parse(String(last[0]?.['eventTime'])) < WINDOW_MS) last.push(r);
      else batches.push([r]);
    }
    const lastEventMs = records.reduce((m, r) => Math.max(m, Date.parse(String(r['eventTime']))), 0);
    const deps = await createLiveDeps({
      env: { STATE_TABLE: 'kdm-cost', POWERTOOLS_LOG_LEVEL: 'SILENT', KDM_LEASE_MS: '90000', KDM_URGENT_SEVERITIES: process.env.KDM_URGENT_SEVERITIES },
      dynamodb,
      securityHubClientFor: () => securityHub,
      kmsClientFor: () => kmsClient,
      clock: { nowMs: () => lastEventMs + 3_600_000 },
      onAwsCall: count,
    });
    const handler = createCloudTrailEventHandler(deps);
    const kmsRecords = records.filter((r) => r['eventSource'] === 'kms.amazonaws.com').length;
    let handlerMs = 0;
    let invocations = 0;
    let offset = 0;
    for (const [i, batch] of batches.entries()) {
      const event: SQSEvent = {
        Records: batch.map((r, j) => ({
          messageId: `m${offset + j}`, receiptHandle: 'r', body: JSON.stringify({ 'detail-type': 'AWS API Call via CloudTrail', source: 'aws.kms', detail: r }),
          attributes: { ApproximateReceiveCount: '1', SentTimestamp: '0', SenderId: 's', ApproximateFirstReceiveTimestamp: '0' }, messageAttributes: {}, md5OfBody: '', eventSource: 'aws:sqs', eventSourceARN: 'arn', awsRegion: 'us-east-1',
        })),
      };
      const started = performance.now();
      await handler(event, context(`b${i}`));
      handlerMs += performance.now() - started;
      invocations++;
      offset += batch.length;
    }
    const started = performance.now();
    await createFlushHandler(deps)({}, context('flush'));
    handlerMs += performance.now() - started;
    invocations++;

    const dynamo = [...calls].filter(([k]) => k.startsWith('dynamodb:'));
    const writeOps = new Set(['BatchWriteItem', 'TransactWriteItems', 'UpdateItem', 'PutItem', 'DeleteItem']);
    const writeCalls = dynamo.filter(([k]) => writeOps.has(k.split(':')[1] ?? '')).reduce((n, [, c]) => n + c.calls, 0);
    // Request units: one per item written (items here are under 1 KB but for a few baselines), two in a transaction.
    const writeUnits = dynamo.reduce((n, [k, c]) => n + (k.endsWith('TransactWriteItems') ? 2 * c.items : writeOps.has(k.split(':')[1] ?? '') ? Math.max(c.items, c.calls) : 0), 0);
    const readUnits = dynamo.filter(([k]) => !writeOps.has(k.split(':')[1] ?? '')).reduce((n, [, c]) => n + Math.max(c.items, c.calls), 0);
    const hubCalls = calls.get('securityhub:BatchImportFindings')?.items ?? 0;
    const kmsCalls = [...calls].filter(([k]) => k.startsWith('kms:')).reduce((n, [, c]) => n + c.calls, 0);
    const perMillion = 1e6 / records.length;
    const cost = {
      lambda: (handlerMs / 1000) * MEMORY_GB * PRICES.lambdaArmGbSecond * perMillion + invocations * PRICES.lambdaRequest * perMillion,
      // EventBridge → SQS: one SendMessage per event; the poller receives and deletes in tens.
      sqs: (records.length + (2 * records.length) / 10) * PRICES.sqsRequest * perMillion,
      dynamodb: (writeUnits * PRICES.dynamoWriteRequestUnit + readUnits * PRICES.dynamoReadRequestUnit) * perMillion,
      securityHub: findingsSent * PRICES.securityHubFindingIngestion * perMillion,
    };
    const total = Object.values(cost).reduce((a, b) => a + b, 0);
    const lines = [
      `${records.length.toLocaleString()} records (${kmsRecords.toLocaleString()} KMS) in ${invocations} invocations (${(records.length / Math.max(1, invocations - 1)).toFixed(0)} a batch: ${WINDOW_MS / 1000} s window, at most ${BATCH}); ${findingsSent} finding imports`,
      `DynamoDB write requests per 1,000 KMS records   ${((writeCalls / kmsRecords) * 1000).toFixed(1)}   (target <= 50; ${writeCalls} calls, ~${writeUnits} write units)`,
      `DynamoDB calls by operation                     ${dynamo.map(([k, c]) => `${k.split(':')[1]} ${c.calls}`).join(', ')}`,
      `Security Hub calls per 100 findings             ${findingsSent > 0 ? ((hubCalls / findingsSent) * 100).toFixed(2) : 'n/a'}   (target <= 1; ${hubCalls} calls)`,
      `KMS enrichment calls per key per container      ${keysLookedUp.size > 0 ? (kmsCalls / keysLookedUp.size).toFixed(2) : 'n/a'}   (target <= 1; ${kmsCalls} calls, ${keysLookedUp.size} keys)`,
      `handler time (this machine)                     ${(handlerMs / invocations).toFixed(0)} ms per invocation`,
      `cost per million records at list prices (${PRICES.date}, us-east-1): $${total.toFixed(2)} = Lambda $${cost.lambda.toFixed(2)} + SQS $${cost.sqs.toFixed(2)} + DynamoDB $${cost.dynamodb.toFixed(2)} + Security Hub $${cost.securityHub.toFixed(2)}`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await server.stop();
  }
};

await main();
