import { spawnSync } from 'node:child_process';
import { GetItemCommand, ScanCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { createDynamoDbStateStore, HEAD_KEY, type DynamoDbStateStore } from '#adapters/aws/dynamodb-state-store.ts';
import { createMemoryStateStore } from '#adapters/memory/memory-state-store.ts';
import { createRecordProcessor, type RecordProcessor } from '#app/process-records.ts';
import { createEngine } from '#core/engine.ts';
import { DEFAULT_ENGINE_CONFIG } from '#core/engine-config.ts';
import type { FindingRecord } from '#core/findings/finding.ts';
import type { StateStore, StoredEntry } from '#core/ports.ts';
import { ALL_RULES } from '#core/rules/registry.ts';
import { newKeyBaseline, type CorrelationSlot } from '#core/state.ts';
import { BASE_TIME_MS, days, KEY_ARN, kmsRecord, minutes, s3Record } from '#core/testing/builders.ts';
import { simulate } from '../../src/sim/simulate.ts';
import { useDynamoDbLocal } from '../helpers/dynamodb-local.ts';
import { KDM } from '../helpers/cli.ts';

const ddb = useDynamoDbLocal();
const NOW = Date.UTC(2026, 10, 22);

const storeOn = (client: DynamoDBClient, tableName: string, extra: Partial<Parameters<typeof createDynamoDbStateStore>[0]> = {}): DynamoDbStateStore =>
  createDynamoDbStateStore({ client, tableName, journalTakeoverMs: 60_000, busyWaitMs: 20_000, ...extra });

const processorOn = (store: StateStore): RecordProcessor =>
  createRecordProcessor({ engine: createEngine({ rules: ALL_RULES, config: DEFAULT_ENGINE_CONFIG }), store, clock: { nowMs: () => NOW } });

/** What a finding says, without the wall-clock fields (created/updated at the processing time). */
const comparable = (f: FindingRecord) => ({ id: f.id, ruleId: f.ruleId, severity: f.severity, eventCount: f.eventCount, eventIds: [...f.eventIds].sort(), firstSeenMs: f.firstSeenMs, lastSeenMs: f.lastSeenMs });

describe('DynamoDB state store (against DynamoDB Local)', () => {
  it('round-trips entries exactly: infinite deadlines, `__proto__` keys from events, large gzipped entries, deletions', async () => {
    const store = storeOn(ddb.client(), await ddb.newStateTable());
    const baseline = newKeyBaseline(BASE_TIME_MS);
    baseline.principals['__proto__'] = 1;
    baseline.principals['constructor'] = 2;
    for (let i = 0; i < 5_000; i++) baseline.principals[`arn:aws:sts::111122223333:assumed-role/App/session-${i}`] = BASE_TIME_MS + i;
    const emptySlot: CorrelationSlot = { kind: 'correlation', partition: 'p', dueMs: Number.POSITIVE_INFINITY, expiresMs: 5, kms: [], s3: [] };

    await store.save(new Map<string, StoredEntry>([['key#k', baseline], ['corr#x', emptySlot], ['gone', { kind: 'alias', keyArn: 'k' }]]));
    await store.save(new Map([['gone', undefined]]));
    const loaded = await store.load(['key#k', 'corr#x', 'gone', 'never']);

    expect([...loaded.keys()].sort()).toEqual(['corr#x', 'key#k']);
    const back = loaded.get('key#k');
    expect(back?.kind === 'key-baseline' && Object.getPrototypeOf(back.principals)).toBeNull();
    expect(back?.kind === 'key-baseline' && back.principals['__proto__']).toBe(1);
    expect(back).toEqual(baseline);
    expect(loaded.get('corr#x')).toEqual(emptySlot);
  });

  it('hands back a waiting slot once its own stream’s watermark passes its deadline, or when told to decide it', async () => {
    const store = storeOn(ddb.client(), await ddb.newStateTable());
    const slot = (partition: string, dueMs: number): CorrelationSlot =>
      ({ kind: 'correlation', partition, dueMs, expiresMs: dueMs, kms: [{ event: {} as never, deadlineMs: dueMs }], s3: [] });
    await store.save(
      new Map<string, StoredEntry>([
        ['corr#a', slot('east', 1_000)],
        ['corr#b', slot('west', 1_000)],
        ['watermark#east', { kind: 'watermark', maxEventTimeMs: 2_000 }],
        ['watermark#west', { kind: 'watermark', maxEventTimeMs: 500 }],
      ]),
    );

    expect([...(await store.takeDue()).keys()]).toEqual(['corr#a']);
    expect([...(await store.takeDue({ decideBeforeMs: 1_000 })).keys()].sort()).toEqual(['corr#a', 'corr#b']);
    await store.save(new Map([['corr#a', { ...slot('east', 1_000), kms: [], dueMs: Number.POSITIVE_INFINITY }]]));
    expect([...(await store.takeDue({ decideBeforeMs: Number.POSITIVE_INFINITY })).keys()]).toEqual(['corr#b']);
  });

  it('gives the same findings, summary and correlations as the in-memory store over simulated traffic with every rule', async () => {
    const sim = simulate({ events: 6_000, seed: 7, anomalies: true, days: 10, anomaliesPerKind: 1, recordsPerFile: 250 });
    const table = await ddb.newStateTable();
    const store = storeOn(ddb.client(), table);
    const inDynamo = processorOn(store);
    const inMemory = processorOn(createMemoryStateStore());
    const fromDynamo = new Map<string, FindingRecord>();
    const fromMemory = new Map<string, FindingRecord>();

    for (const file of sim.files) {
      const batch = { file: file.path, records: file.records, firstIndex: 0 };
      for (const f of (await store.atomically('parity', () => inDynamo.processBatch(batch))).findings) fromDynamo.set(f.id, f);
      for (const f of (await inMemory.processBatch(batch)).findings) fromMemory.set(f.id, f);
    }
    for (const f of (await store.atomically('parity', () => inDynamo.flush())).findings) fromDynamo.set(f.id, f);
    for (const f of (await inMemory.flush()).findings) fromMemory.set(f.id, f);

    expect(fromMemory.size).toBeGreaterThan(5);
    expect([...fromDynamo.values()].map(comparable).sort((a, b) => a.id.localeCompare(b.id))).toEqual([...fromMemory.values()].map(comparable).sort((a, b) => a.id.localeCompare(b.id)));
    expect(inDynamo.summary).toEqual(inMemory.summary);
    expect([...inDynamo.unplannedStateReads]).toEqual([]);
    // Every finding the batches produced waits in the outbox until published.
    expect((await store.unpublishedFindings(10_000)).map((f) => f.id).sort()).toEqual([...fromDynamo.keys()].sort());
  });

  it('two engines sharing the table, fed interleaved halves of the same traffic at once, make one correlation and one first-seen finding', async () => {
    const table = await ddb.newStateTable();
    const app = { role: 'ReportsApp', session: 'worker' } as const;
    const intruder = { role: 'Contractor', session: 'mallory' } as const;
    const learning: unknown[] = [];
    for (let day = 0; day < 8; day++) learning.push(kmsRecord({ who: app, atMs: BASE_TIME_MS + days(day), context: { purpose: 'reports' } }));
    const at = BASE_TIME_MS + days(9);
    const object = 'arn:aws:s3:::reports/payroll.csv';
    const kmsHalves = [0, 1].map((i) => kmsRecord({ who: intruder, s3Arn: object, atMs: at + minutes(10 * i) }));
    const s3Halves = [0, 1].map((i) => s3Record({ who: intruder, bucket: 'reports', key: 'payroll.csv', atMs: at + minutes(10 * i) }));

    const seed = storeOn(ddb.client(), table);
    await seed.atomically('seed', () => processorOn(seed).processBatch({ file: 'learning', records: learning, firstIndex: 0 }));

    const storeA = storeOn(ddb.client(), table);
    const storeB = storeOn(ddb.client(), table);
    const engineA = processorOn(storeA);
    const engineB = processorOn(storeB);
    // A gets the KMS half of the first call and the S3 half of the second; B the other two; all at once.
    const [a1, b1, a2, b2] = await Promise.all([
      storeA.atomically('A', () => engineA.processBatch({ file: 'a', records: [kmsHalves[0], s3Halves[1]], firstIndex: 0 })),
      storeB.atomically('B', () => engineB.processBatch({ file: 'b', records: [s3Halves[0], kmsHalves[1]], firstIndex: 0 })),
      storeA.atomically('A', () => engineA.processBatch({ file: 'a-again', records: [kmsHalves[0]], firstIndex: 0 })),
      storeB.atomically('B', () => engineB.processBatch({ file: 'b-again', records: [s3Halves[0]], firstIndex: 0 })),
    ]);

    const decided = [a1, b1, a2, b2].flatMap((o) => o.decidedKmsCalls);
    expect(decided.map((c) => c.correlation)).toEqual(['object', 'object']);
    expect([a1, b1, a2, b2].reduce((n, o) => n + o.duplicates, 0)).toBe(2);
    // The contractor is new to the key once: whichever call the engines decided first is the finding (the
    // commits land in any order), the other is already known.
    const unusual = [a1, b1, a2, b2].flatMap((o) => o.findings).filter((f) => f.ruleId === 'kms-unusual-principal');
    expect(unusual).toHaveLength(1);
    const stored = await seed.load([`finding#${unusual[0]?.id}`]);
    const finding = stored.get(`finding#${unusual[0]?.id}`);
    // Its evidence: that KMS call and the GetObject behind it.
    const pairs = [0, 1].map((i) => [kmsHalves[i], s3Halves[i]].map((r) => (r as { eventID: string }).eventID).sort());
    expect(finding?.kind === 'finding' && finding.eventCount).toBe(1);
    expect(pairs).toContainEqual(finding?.kind === 'finding' ? [...finding.eventIds].sort() : []);
  });

  /** A client that dies right after the commit point (the head's journal put), like a Lambda timing out. */
  const dyingAfterCommitPoint = (client: DynamoDBClient): DynamoDBClient => {
    let crashed = false;
    return new Proxy(client, {
      get(target, prop, receiver) {
        if (prop !== 'send') return Reflect.get(target, prop, receiver);
        return async (command: { constructor: { name: string }; input: { Item?: Record<string, unknown> } }) => {
          if (command.constructor.name === 'BatchWriteItemCommand' && crashed) throw new Error('container killed');
          const out = await target.send(command as never);
          if (command.constructor.name === 'PutItemCommand' && command.input.Item?.['journal'] !== undefined) crashed = true;
          return out;
        };
      },
    });
  };
  const aliases = (n: number, value = (i: number) => `arn:aws:kms:us-east-1:111122223333:key/${i}`): Map<string, StoredEntry> =>
    new Map(Array.from({ length: n }, (_, i) => [`alias#111122223333#alias/k${i}`, { kind: 'alias', keyArn: value(i) }]));

  it('a batch too large for one transaction commits through the journal; a crash after the commit point is redone by the next batch', async () => {
    const client = ddb.client();
    const table = await ddb.newStateTable();
    const changes = aliases(300);

    const dying = storeOn(dyingAfterCommitPoint(client), table);
    await expect(dying.atomically('dying', () => dying.save(changes))).rejects.toThrow('container killed');
    const before = await storeOn(client, table).load([...changes.keys()]);
    expect(before.size).toBeLessThan(300);

    await new Promise((r) => setTimeout(r, 1_100));
    const next = storeOn(client, table, { journalTakeoverMs: 1_000 });
    await next.atomically('next', async () => undefined);

    expect((await next.load([...changes.keys()])).size).toBe(300);
    const head = await client.send(new GetItemCommand({ TableName: table, Key: { pk: { S: HEAD_KEY } } }));
    expect(head.Item?.journal).toBeUndefined();
  });

  it('waits for a journal its writer may still be applying, then gives up with an error that says the batch will be retried', async () => {
    const client = ddb.client();
    const table = await ddb.newStateTable();
    const dying = storeOn(dyingAfterCommitPoint(client), table);
    await expect(dying.atomically('dying', () => dying.save(aliases(150)))).rejects.toThrow('container killed');

    const waiter = storeOn(client, table, { busyWaitMs: 300 });
    let ran = false;

    await expect(waiter.atomically('waiter', async () => (ran = true))).rejects.toThrow(/busy: another batch's journal .* batch waiter will be retried/);
    expect(ran).toBe(false);
  });

  it('a batch another batch committed under writes nothing and is evaluated again on the new state', async () => {
    const client = ddb.client();
    const table = await ddb.newStateTable();
    const key = 'alias#1#alias/x';
    const slow = storeOn(client, table);
    const other = storeOn(client, table);
    await other.atomically('seed', () => other.save(new Map([[key, { kind: 'alias', keyArn: 'k0' }]])));

    const seenBySlow: string[] = [];
    let slowHasRead = (): void => undefined;
    const slowRead = new Promise<void>((r) => (slowHasRead = r));
    let otherCommitted = (): void => undefined;
    const committed = new Promise<void>((r) => (otherCommitted = r));
    const late = slow.atomically('slow', async () => {
      const entry = (await slow.load([key])).get(key);
      seenBySlow.push(entry?.kind === 'alias' ? entry.keyArn : 'none');
      if (seenBySlow.length === 1) {
        slowHasRead();
        await committed;
      }
      await slow.save(new Map([[key, { kind: 'alias', keyArn: `${seenBySlow.at(-1)}+slow` }]]));
    });
    await slowRead;
    await other.atomically('other', () => other.save(new Map([[key, { kind: 'alias', keyArn: 'k0+other' }]])));
    otherCommitted();
    await late;

    // The first evaluation read k0 and lost; the second read the other batch's value and built on it.
    expect(seenBySlow).toEqual(['k0', 'k0+other']);
    expect((await other.load([key])).get(key)).toEqual({ kind: 'alias', keyArn: 'k0+other+slow' });
  });

  it('commits a small batch with one write call: the state, the dedupe ids, the watermarks and the head version together', async () => {
    const table = await ddb.newStateTable();
    const calls: string[] = [];
    const store = storeOn(ddb.client(), table, { onCall: (operation) => calls.push(operation) });
    const processor = processorOn(store);
    const records = [kmsRecord({ s3Arn: 'arn:aws:s3:::reports/a.csv', atMs: BASE_TIME_MS }), s3Record({ bucket: 'reports', key: 'a.csv', atMs: BASE_TIME_MS })];

    const outcome = await store.atomically('one', () => processor.processBatch({ file: 'one', records, firstIndex: 0 }));

    expect(outcome.correlations.object).toBe(1);
    expect(calls.filter((c) => ['TransactWriteItems', 'PutItem', 'UpdateItem', 'BatchWriteItem', 'DeleteItem'].includes(c))).toEqual(['TransactWriteItems']);
  });

  it('leaves out a write that would put back what the batch read, and writes what changed or was not read', async () => {
    const table = await ddb.newStateTable();
    const writes: [string, number][] = [];
    const store = storeOn(ddb.client(), table, { onCall: (operation, items) => writes.push([operation, items]) });
    const key = (n: number): string => `arn:aws:kms:us-east-1:111122223333:key/k${n}`;
    const alias = (n: number): StoredEntry => ({ kind: 'alias', keyArn: key(n) });
    await store.atomically('first', () => store.save(new Map([['alias#111122223333#alias/same', alias(1)], ['alias#111122223333#alias/moved', alias(2)]])));
    writes.length = 0;

    await store.atomically('second', async () => {
      const loaded = await store.load(['alias#111122223333#alias/same', 'alias#111122223333#alias/moved']);
      await store.save(
        new Map<string, StoredEntry | undefined>([
          // Learnt again from the batch's calls: the same entry, a new object.
          ['alias#111122223333#alias/same', { ...(loaded.get('alias#111122223333#alias/same') as StoredEntry) }],
          ['alias#111122223333#alias/moved', alias(3)],
          // Not read by this batch: written even though the table may hold the same.
          ['alias#111122223333#alias/new', alias(4)],
        ]),
      );
    });

    // The head, the moved alias and the new one: three items, one fewer than the batch asked for.
    expect(writes.filter(([operation]) => operation === 'TransactWriteItems')).toEqual([['TransactWriteItems', 3]]);
    const after = await store.atomically('check', () => store.load(['alias#111122223333#alias/same', 'alias#111122223333#alias/moved', 'alias#111122223333#alias/new']));
    expect(Object.fromEntries(after)).toEqual({
      'alias#111122223333#alias/same': alias(1),
      'alias#111122223333#alias/moved': alias(3),
      'alias#111122223333#alias/new': alias(4),
    });

    // Two saves in one batch: the second puts back what the batch read, which the first had changed.
    await store.atomically('third', async () => {
      await store.load(['alias#111122223333#alias/same']);
      await store.save(new Map([['alias#111122223333#alias/same', alias(5)]]));
      await store.save(new Map([['alias#111122223333#alias/same', alias(1)]]));
    });
    expect(await store.atomically('check again', () => store.load(['alias#111122223333#alias/same']))).toEqual(new Map([['alias#111122223333#alias/same', alias(1)]]));
  });

  it('keeps a finding in the outbox when a later update arrived after the version that was published', async () => {
    const client = ddb.client();
    const table = await ddb.newStateTable();
    const store = storeOn(client, table);
    const finding = { kind: 'finding', id: 'f1', updatedAtMs: 1_000 } as unknown as FindingRecord;
    await store.save(new Map([['finding#f1', finding], ['finding#f2', { ...finding, id: 'f2' }]]));
    const published = await store.unpublishedFindings();
    await store.save(new Map([['finding#f1', { ...finding, updatedAtMs: 2_000 }]]));

    await store.markPublished(published);

    expect((await store.unpublishedFindings()).map((f) => [f.id, f.updatedAtMs])).toEqual([['f1', 2_000]]);
    // The two findings and the head (each save was a batch of its own): marking created nothing.
    const all = await client.send(new ScanCommand({ TableName: table }));
    expect(all.Items?.map((i) => i['pk']?.S).sort()).toEqual(['finding#f1', 'finding#f2', HEAD_KEY]);
  });

  it('keeps the decrypt ledger in the table with the state: a redelivered batch counts once, and it reads back by day', async () => {
    const sim = simulate({ events: 3_000, seed: 11, anomalies: false, days: 3, recordsPerFile: 200 });
    const table = await ddb.newStateTable();
    const store = storeOn(ddb.client(), table);
    const inTable = createRecordProcessor({ engine: createEngine({ rules: ALL_RULES }), store, clock: { nowMs: () => NOW }, ledger: 'state' });
    const reference = createRecordProcessor({ engine: createEngine({ rules: ALL_RULES }), store: createMemoryStateStore(), clock: { nowMs: () => NOW }, ledger: 'outcome' });
    let expectedCalls = 0;
    for (const [i, file] of sim.files.entries()) {
      const batch = { file: file.path, records: file.records, firstIndex: 0 };
      await store.atomically('l', () => inTable.processBatch(batch));
      if (i === 2) await store.atomically('l', () => inTable.processBatch(batch)); // SQS delivered it twice
      expectedCalls += (await reference.processBatch(batch)).ledger.rows.reduce((n, r) => n + r.count, 0);
    }
    await store.atomically('l', () => inTable.flush());
    expectedCalls += (await reference.flush()).ledger.rows.reduce((n, r) => n + r.count, 0);

    const days = [...new Set(sim.files.flatMap((f) => f.records.map((r) => String(r['eventTime']).slice(0, 10))))];
    const ledger = await store.ledgerOfDays(days);

    expect(expectedCalls).toBeGreaterThan(500);
    expect(ledger.rows.reduce((n, r) => n + r.count, 0)).toBe(expectedCalls);
    expect(ledger.accesses.length).toBeGreaterThan(0);

    // `kdm history --source dynamodb` reads the same table (the SDK's endpoint variable points it at DynamoDB Local).
    const sorted = [...days].sort();
    const cli = spawnSync(process.execPath, [KDM, 'history', '--source', 'dynamodb', '--table', table, '--from', sorted[0] ?? '', '--to', sorted.at(-1) ?? '', '--group-by', 'day', '--format', 'json'], {
      encoding: 'utf8',
      env: { ...process.env, AWS_ENDPOINT_URL_DYNAMODB: ddb.endpoint(), AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' },
    });
    expect(sorted.length).toBeGreaterThan(1);
    expect(cli.stderr).toContain(`reading ${sorted.length} days of ledger from DynamoDB table ${table}`);
    expect((JSON.parse(cli.stdout) as { calls: number }[]).reduce((n, r) => n + Number(r.calls), 0)).toBe(expectedCalls);
  });

  it('keeps in the ledger the objects a writer of another account wrote under a key the bucket owner does not hold, known from their data events', async () => {
    const table = await ddb.newStateTable();
    const store = storeOn(ddb.client(), table);
    const processor = createRecordProcessor({ engine: createEngine({ rules: ALL_RULES }), store, clock: { nowMs: () => NOW }, ledger: 'state' });
    const theirKey = 'arn:aws:kms:us-east-1:999988887777:key/3f1c0000-0000-4000-8000-0000000000ff';
    const write = s3Record({ eventName: 'PutObject', who: { role: 'Uploader', session: 'up-1', account: '999988887777' }, bucket: 'reports', key: 'in/a.csv', sseApplied: 'SSE_KMS', appliedKmsKeyId: theirKey, eventId: 'w1' });

    await store.atomically('w', () => processor.processBatch({ file: 'f', records: [write], firstIndex: 0 }));
    await store.atomically('w', () => processor.flush());
    const ledger = await store.ledgerOfDays(['2026-10-01']);

    expect(ledger.rows).toEqual([]);
    expect(ledger.accesses).toEqual([expect.objectContaining({ key: theirKey, principal: 'arn:aws:iam::999988887777:role/Uploader', bucket: 'reports', objectKey: 'in/a.csv', operation: 'PutObject', count: 1, correlation: 'data-event' })]);
  });

  it('keeps a ReEncrypt\'s destination key on its ledger row, a row of its own per destination', async () => {
    const table = await ddb.newStateTable();
    const store = storeOn(ddb.client(), table);
    const processor = createRecordProcessor({ engine: createEngine({ rules: ALL_RULES }), store, clock: { nowMs: () => NOW }, ledger: 'state' });
    const locker = 'arn:aws:kms:us-east-1:999988887777:key/3f1c0000-0000-4000-8000-0000000000ff';
    const reEncryptTo = (destinationKeyId: string, i: number) => kmsRecord({ eventName: 'ReEncrypt', requestParameters: { destinationKeyId }, atMs: BASE_TIME_MS + minutes(i) });

    await store.atomically('r', () => processor.processBatch({ file: 'f', records: [reEncryptTo(locker, 0), reEncryptTo(KEY_ARN, 1)], firstIndex: 0 }));
    await store.atomically('r', () => processor.processBatch({ file: 'g', records: [reEncryptTo(locker, 2)], firstIndex: 0 }));
    await store.atomically('r', () => processor.flush());
    const ledger = await store.ledgerOfDays(['2026-10-01']);

    expect(ledger.rows.map((r) => [r.key, r.operation, r.destinationKey, r.count]).sort()).toEqual([[KEY_ARN, 'ReEncrypt', KEY_ARN, 1], [KEY_ARN, 'ReEncrypt', locker, 2]]);
  });

  it('keeps the network of a ledger row\'s calls, a row of its own per network, across batches', async () => {
    const table = await ddb.newStateTable();
    const store = storeOn(ddb.client(), table);
    const processor = createRecordProcessor({ engine: createEngine({ rules: ALL_RULES }), store, clock: { nowMs: () => NOW }, ledger: 'state' });
    const endpoint = 'vpce-0a1b2c3d4e5f60718';
    const through = (i: number) => kmsRecord({ sourceIp: '10.0.1.5', vpcEndpointId: endpoint, atMs: BASE_TIME_MS + minutes(i) });

    await store.atomically('r', () => processor.processBatch({ file: 'f', records: [through(0), kmsRecord({ sourceIp: '198.51.100.7', atMs: BASE_TIME_MS + minutes(1) })], firstIndex: 0 }));
    await store.atomically('r', () => processor.processBatch({ file: 'g', records: [through(2)], firstIndex: 0 }));
    await store.atomically('r', () => processor.flush());
    const ledger = await store.ledgerOfDays(['2026-10-01']);

    expect(ledger.rows.map((r) => [r.operation, r.network, r.count]).sort()).toEqual([['Decrypt', 'public', 1], ['Decrypt', endpoint, 2]]);
  });

  it('counts such a write once when the writer\'s account forwards its copy and the KMS call S3 made, in a later batch', async () => {
    const table = await ddb.newStateTable();
    const store = storeOn(ddb.client(), table);
    const processor = createRecordProcessor({ engine: createEngine({ rules: ALL_RULES }), store, clock: { nowMs: () => NOW }, ledger: 'state' });
    const theirKey = 'arn:aws:kms:us-east-1:999988887777:key/3f1c0000-0000-4000-8000-0000000000ff';
    const partner = { role: 'Uploader', session: 'up-1', account: '999988887777' } as const;
    const copy = (recipient: string) => ({
      ...s3Record({ eventName: 'PutObject', who: partner, bucket: 'reports', key: 'in/a.csv', sseApplied: 'SSE_KMS', appliedKmsKeyId: theirKey, eventId: `w-${recipient}` }),
      recipientAccountId: recipient, sharedEventID: 'put-1',
    });
    const call = kmsRecord({ eventName: 'GenerateDataKey', who: partner, keyArn: theirKey, s3Arn: 'arn:aws:s3:::reports/in/a.csv', recipientAccountId: '999988887777', atMs: BASE_TIME_MS + 30 });

    await store.atomically('w', () => processor.processBatch({ file: 'owner', records: [copy('111122223333')], firstIndex: 0 }));
    await store.atomically('w', () => processor.processBatch({ file: 'writer', records: [copy('999988887777'), call], firstIndex: 0 }));
    await store.atomically('w', () => processor.flush());
    const ledger = await store.ledgerOfDays(['2026-10-01']);

    expect(ledger.rows.map((r) => [r.key, r.operation, r.count])).toEqual([[theirKey, 'GenerateDataKey', 1]]);
    expect(ledger.accesses).toEqual([expect.objectContaining({ key: theirKey, objectKey: 'in/a.csv', operation: 'PutObject', count: 1, correlation: 'object' })]);
  });
});
