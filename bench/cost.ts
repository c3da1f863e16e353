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
import { kmsRecord } from '../src/core/testing/builders.ts';
import { scriptedHttp } from '../test/helpers/fake-http.ts';
import { startDynamoDbLocal } from '../scripts/dynamodb-local.mjs';
import { appendBenchEntry } from './results-log.mjs';

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
const FLUSH_EVERY_MS = 5 * 60_000; // serverless.yml flushPending: rate(5 minutes)
const DELIVERY_DELAY_MS = 30_000;
/** The findings scenario's learning week of history. */
const FINDINGS_HISTORY_RECORDS = 40_000;

/** 1,000 Decrypts with the history's busiest key by 500 roles it never saw, in 10 minutes, an hour after the history. */
const findingsStorm = (history: readonly CloudTrailRecord[]): CloudTrailRecord[] => {
  const uses = new Map<string, number>();
  for (const r of history) {
    const arn = (r['resources'] as { ARN?: string }[] | undefined)?.[0]?.ARN;
    if (r['eventName'] === 'Decrypt' && arn !== undefined) uses.set(arn, (uses.get(arn) ?? 0) + 1);
  }
  const keyArn = [...uses].sort((a, b) => b[1] - a[1])[0]?.[0];
  const startMs = Math.max(...history.map((r) => Date.parse(String(r['eventTime'])))) + 3_600_000;
  return Array.from({ length: 1_000 }, (_, i) => kmsRecord({ who: { role: `Contractor${i % 500}` }, ...(keyArn !== undefined ? { keyArn } : {}), context: { purpose: 'reports' }, atMs: startMs + i * 600 }));
};

const context = (id: string): Context => ({ awsRequestId: id, functionName: 'kdm', functionVersion: '1', invokedFunctionArn: 'arn', memoryLimitInMB: '512', logGroupName: 'g', logStreamName: 's', callbackWaitsForEmptyEventLoop: true, getRemainingTimeInMillis: () => 60_000, done: () => undefined, fail: () => undefined, succeed: () => undefined }) as Context;

type CloudTrailRecord = Record<string, unknown>;
interface ScenarioOptions {
  /** History loaded first, in full batches straight into the engine (not counted as live traffic). */
  readonly history?: readonly CloudTrailRecord[];
  /** Traffic delivered as the SQS poller would, through the handler, with the scheduled flush. */
  readonly live: readonly CloudTrailRecord[];
  readonly urgentSeverities: string | undefined;
}

const byEventTime = (records: readonly CloudTrailRecord[]): CloudTrailRecord[] => [...records].sort((a, b) => String(a['eventTime']).localeCompare(String(b['eventTime'])));

/** Traffic through the handler and the flush, every AWS call counted. */
const runScenario = async (endpoint: string, table: string, options: ScenarioOptions) => {
  const dynamodb = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  await createStateTable(dynamodb, table);
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
  const records = byEventTime(options.live);
  // Batches as the poller forms them: a batching window of event time, or 1,000 messages, whichever first.
  const batches: (typeof records)[] = [];
  for (const r of records) {
    const at = Date.parse(String(r['eventTime']));
    const last = batches.at(-1);
    if (last !== undefined && last.length < BATCH && at - Date.parse(String(last[0]?.['eventTime'])) < WINDOW_MS) last.push(r);
    else batches.push([r]);
  }
  const lastEventMs = records.reduce((m, r) => Math.max(m, Date.parse(String(r['eventTime']))), 0);
  // Processing time follows event time: a batch is handled a little after its last event (CloudTrail's delivery).
  let nowMs = Date.parse(String(records[0]?.['eventTime']));
  const deps = await createLiveDeps({
    env: { STATE_TABLE: table, POWERTOOLS_LOG_LEVEL: 'SILENT', KDM_JOURNAL_TAKEOVER_MS: '90000', KDM_URGENT_SEVERITIES: options.urgentSeverities },
    dynamodb,
    securityHubClientFor: () => securityHub,
    kmsClientFor: () => kmsClient,
    clock: { nowMs: () => nowMs },
    onAwsCall: count,
  });
  const history = byEventTime(options.history ?? []);
  if (history.length > 0) nowMs = Date.parse(String(history.at(-1)?.['eventTime']));
  for (let i = 0; i < history.length; i += BATCH) {
    await deps.store.atomically(`history-${i}`, () => deps.processor.processBatch({ file: 'history', records: history.slice(i, i + BATCH), firstIndex: 0 }));
  }
  calls.clear();
  const handler = createCloudTrailEventHandler(deps);
  const flush = createFlushHandler(deps);
  const kmsRecords = records.filter((r) => r['eventSource'] === 'kms.amazonaws.com').length;
  let handlerMs = 0;
  let invocations = 0;
  let offset = 0;
  // The scheduled flush runs every 5 minutes of (event) time, as EventBridge Scheduler would.
  let nextFlushMs = Date.parse(String(records[0]?.['eventTime'])) + FLUSH_EVERY_MS;
  for (const [i, batch] of batches.entries()) {
    const event: SQSEvent = {
      Records: batch.map((r, j) => ({
        messageId: `m${offset + j}`, receiptHandle: 'r', body: JSON.stringify({ 'detail-type': 'AWS API Call via CloudTrail', source: 'aws.kms', detail: r }),
        attributes: { ApproximateReceiveCount: '1', SentTimestamp: '0', SenderId: 's', ApproximateFirstReceiveTimestamp: '0' }, messageAttributes: {}, md5OfBody: '', eventSource: 'aws:sqs', eventSourceARN: 'arn', awsRegion: 'us-east-1',
      })),
    };
    const started = performance.now();
    const batchEndMs = Date.parse(String(batch.at(-1)?.['eventTime']));
    while (batchEndMs >= nextFlushMs) {
      nowMs = nextFlushMs;
      await flush({}, context(`flush-${nextFlushMs}`));
      nextFlushMs += FLUSH_EVERY_MS;
      invocations++;
    }
    nowMs = batchEndMs + DELIVERY_DELAY_MS;
    await handler(event, context(`b${i}`));
    handlerMs += performance.now() - started;
    invocations++;
    offset += batch.length;
  }
  // The traffic stops: the next two scheduled flushes decide what waited and send what was held.
  for (const i of [1, 2]) {
    nowMs = lastEventMs + i * FLUSH_EVERY_MS;
    const started = performance.now();
    await flush({}, context(`flush-last-${i}`));
    handlerMs += performance.now() - started;
    invocations++;
  }
  return { records: records.length, kmsRecords, batches: batches.length, invocations, handlerMs, calls, findingsSent, keysLookedUp: keysLookedUp.size };
};

const main = async (): Promise<void> => {
  const server = await startDynamoDbLocal();
  try {
    const sim = simulate({ events: RECORDS, seed: 7, anomalies: true, days: DAYS, recordsPerFile: 500 });
    const run = await runScenario(server.endpoint, 'kdm-cost', { live: sim.files.flatMap((f) => f.records), urgentSeverities: process.env.KDM_URGENT_SEVERITIES });
    const { records, kmsRecords, invocations, handlerMs, calls } = run;
    const dynamo = [...calls].filter(([k]) => k.startsWith('dynamodb:'));
    const writeOps = new Set(['BatchWriteItem', 'TransactWriteItems', 'UpdateItem', 'PutItem', 'DeleteItem']);
    const writeCalls = dynamo.filter(([k]) => writeOps.has(k.split(':')[1] ?? '')).reduce((n, [, c]) => n + c.calls, 0);
    // Request units: one per item written (items here are under 1 KB but for a few baselines), two in a transaction.
    const writeUnits = dynamo.reduce((n, [k, c]) => n + (k.endsWith('TransactWriteItems') ? 2 * c.items : writeOps.has(k.split(':')[1] ?? '') ? Math.max(c.items, c.calls) : 0), 0);
    const readUnits = dynamo.filter(([k]) => !writeOps.has(k.split(':')[1] ?? '')).reduce((n, [, c]) => n + Math.max(c.items, c.calls), 0);
    const kmsCalls = [...calls].filter(([k]) => k.startsWith('kms:')).reduce((n, [, c]) => n + c.calls, 0);

    // Security Hub: findings come in bursts (a leaked credential, a new scanner), so the scenario is one: after a
    // learning week of history, 500 roles the busiest key never saw decrypt with it within 10 minutes. Once with the
    // default (HIGH and CRITICAL at once) and once with every finding batched (KDM_URGENT_SEVERITIES="").
    const learning = simulate({ events: FINDINGS_HISTORY_RECORDS, seed: 7, anomalies: false, days: 8, recordsPerFile: 500 }).files.flatMap((f) => f.records);
    const storm = findingsStorm(learning);
    const hubRuns = [];
    for (const [i, urgent] of [undefined, ''].entries()) {
      const r = await runScenario(server.endpoint, `kdm-cost-findings-${i}`, { history: learning, live: storm, urgentSeverities: urgent });
      hubRuns.push({ urgent, sent: r.findingsSent, calls: r.calls.get('securityhub:BatchImportFindings')?.items ?? 0 });
    }
    const hubPer100 = (r: { sent: number; calls: number }) => (r.sent > 0 ? ((r.calls / r.sent) * 100).toFixed(2) : 'n/a');
    const batched = hubRuns[1] ?? { sent: 0, calls: 0 };
    const urgent = hubRuns[0] ?? { sent: 0, calls: 0 };

    const perMillion = 1e6 / records;
    const cost = {
      lambda: (handlerMs / 1000) * MEMORY_GB * PRICES.lambdaArmGbSecond * perMillion + invocations * PRICES.lambdaRequest * perMillion,
      // EventBridge → SQS: one SendMessage per event; the poller receives and deletes in tens.
      sqs: (records + (2 * records) / 10) * PRICES.sqsRequest * perMillion,
      dynamodb: (writeUnits * PRICES.dynamoWriteRequestUnit + readUnits * PRICES.dynamoReadRequestUnit) * perMillion,
      // Findings imported in the day's traffic (its anomalies).
      securityHub: run.findingsSent * PRICES.securityHubFindingIngestion * perMillion,
    };
    const total = Object.values(cost).reduce((a, b) => a + b, 0);
    const lines = [
      `${records.toLocaleString()} records (${kmsRecords.toLocaleString()} KMS) over ${DAYS} day(s) in ${invocations} invocations (${(records / Math.max(1, run.batches)).toFixed(0)} a batch: ${WINDOW_MS / 1000} s window, at most ${BATCH}; the flush every ${FLUSH_EVERY_MS / 60_000} minutes)`,
      `DynamoDB write requests per 1,000 KMS records   ${((writeCalls / kmsRecords) * 1000).toFixed(1)}   (target <= 50; ${writeCalls} calls, ~${writeUnits} write units)`,
      `DynamoDB calls by operation                     ${dynamo.map(([k, c]) => `${k.split(':')[1]} ${c.calls}`).join(', ')}`,
      `Security Hub calls per 100 findings             ${hubPer100(batched)} with KDM_URGENT_SEVERITIES="" (target <= 1; ${batched.calls} calls for ${batched.sent} finding imports)`,
      `                                                ${hubPer100(urgent)} by default, HIGH and CRITICAL at once (${urgent.calls} calls for ${urgent.sent}; a burst of ${storm.length} decrypts by 500 new roles in 10 minutes)`,
      `                                                in the day's traffic: ${run.calls.get('securityhub:BatchImportFindings')?.items ?? 0} calls for ${run.findingsSent} finding imports`,
      `KMS enrichment calls per key per container      ${run.keysLookedUp > 0 ? (kmsCalls / run.keysLookedUp).toFixed(2) : 'n/a'}   (target <= 1; ${kmsCalls} calls, ${run.keysLookedUp} keys)`,
      `handler time (this machine)                     ${(handlerMs / invocations).toFixed(0)} ms per invocation`,
      `cost per million records at list prices (${PRICES.date}, us-east-1): $${total.toFixed(2)} = Lambda $${cost.lambda.toFixed(2)} + SQS $${cost.sqs.toFixed(2)} + DynamoDB $${cost.dynamodb.toFixed(2)} + Security Hub $${cost.securityHub.toFixed(2)}`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    // npm runs this from the project's root.
    appendBenchEntry({ file: 'bench/results.md', kind: 'cost figures', title: 'npm run bench:cost', lines, figures: {
      records,
      writeCallsPer1000Kms: Number(((writeCalls / kmsRecords) * 1000).toFixed(1)),
      hubCallsPer100Batched: batched.sent > 0 ? Number(((batched.calls / batched.sent) * 100).toFixed(2)) : undefined,
      hubCallsPer100Default: urgent.sent > 0 ? Number(((urgent.calls / urgent.sent) * 100).toFixed(2)) : undefined,
      kmsCallsPerKey: run.keysLookedUp > 0 ? Number((kmsCalls / run.keysLookedUp).toFixed(2)) : undefined,
      dollarsPerMillion: Number(total.toFixed(2)),
      handlerMsPerInvocation: Math.round(handlerMs / invocations),
    } });
  } finally {
    await server.stop();
  }
};

await main();
