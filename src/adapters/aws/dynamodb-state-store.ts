import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  CreateTableCommand,
  UpdateTimeToLiveCommand,
  ConditionalCheckFailedException,
  GetItemCommand,
  QueryCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
  type TransactWriteItem,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { gunzipSync, gzipSync } from 'node:zlib';
import { MonitorError } from '#core/errors.ts';
import type { FindingRecord } from '#core/findings/finding.ts';
import type { LedgerDelta, LedgerRow, ObjectAccess } from '#core/ledger/ledger.ts';
import type { StateStore, StoredEntry } from '#core/ports.ts';
import { decodeState as decode, encodeState as encode } from '../state-codec.ts';
import { backoffMs, realPacing, retryTransient, type Pacing } from './pacing.ts';

/**
 * Engine state in one DynamoDB table (the same port as the in-memory store).
 *
 * Items: `pk` (the state key), the entry as JSON in `v` (gzip in `z` when large), `ttl` (epoch seconds) on
 * entries event time makes obsolete, and a sparse index (`gpk`, `gsk`) that lists correlation slots with
 * KMS calls waiting (`gpk = due`, `gsk` = earliest deadline) and findings not yet published
 * (`gpk = outbox`, `gsk` = their UpdatedAt).
 *
 * Concurrency: batches run one at a time under a lease (`withLease`), so two Lambda containers never
 * evaluate the same state at once. A batch's changes commit atomically: in one TransactWriteItems fenced
 * by a check that the lease is still ours, or, when larger, through a redo journal — written first, made
 * current by one conditional update of the lease item, then applied; whoever takes the lease next
 * re-applies a journal left behind by a crash (entries are whole values, so applying twice is harmless).
 */

export const STATE_TABLE_INDEX = 'pending';
const LEASE_KEY = 'lease#engine';
const WATERMARKS_KEY = 'meta#watermarks';
/** Entries above this are gzipped; DynamoDB's item limit is 400 KB. */
const COMPRESS_ABOVE_BYTES = 64 * 1024;
const MAX_ITEM_BYTES = 390 * 1024;
const JOURNAL_CHUNK_BYTES = 350 * 1024;
/** TransactWriteItems takes 100 actions: the lease check plus 99 writes. */
const MAX_TRANSACTION_WRITES = 99;
const DAY_MS = 86_400_000;
const MAX_CALL_ATTEMPTS = 4;
/** Obsolete entries linger this long past their event-time expiry before DynamoDB's TTL removes them. */
const TTL_GRACE_MS = 2 * DAY_MS;
const WINDOW_GRACE_MS = 60 * 60_000;

export class StateStoreError extends MonitorError {
  constructor(message: string, options?: ErrorOptions & { retryable?: boolean }) {
    super('STATE_CONFLICT', message, options);
  }
}

/** The table as CloudFormation and the tests create it (serverless.yml is checked against this). */
export const stateTableDefinition = (tableName: string) => ({
  TableName: tableName,
  BillingMode: 'PAY_PER_REQUEST' as const,
  AttributeDefinitions: [
    { AttributeName: 'pk', AttributeType: 'S' as const },
    { AttributeName: 'gpk', AttributeType: 'S' as const },
    { AttributeName: 'gsk', AttributeType: 'N' as const },
  ],
  KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' as const }],
  GlobalSecondaryIndexes: [
    {
      IndexName: STATE_TABLE_INDEX,
      KeySchema: [
        { AttributeName: 'gpk', KeyType: 'HASH' as const },
        { AttributeName: 'gsk', KeyType: 'RANGE' as const },
      ],
      Projection: { ProjectionType: 'ALL' as const },
    },
  ],
});

export interface DynamoDbStateStoreOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  /** Who holds the lease (a Lambda request id); must be unique per concurrent holder. */
  readonly owner?: string;
  /** How long a lease lasts: longer than the function's timeout, so a live holder never outlives it. */
  readonly leaseMs?: number;
  /** How long to wait for a lease held by someone else before giving up (the batch is then retried). */
  readonly leaseWaitMs?: number;
  readonly pacing?: Pacing;
  /** Called with each DynamoDB call made (operation name), for metrics and the cost benchmark. */
  readonly onCall?: (operation: string, items: number) => void;
  /** How long ledger rows stay after their last call (DynamoDB TTL). */
  readonly ledgerRetentionMs?: number;
}

export interface DynamoDbStateStore extends StateStore {
  /** Runs `work` holding the table's lease (re-applying a journal a crashed holder left first). */
  withLease<T>(owner: string, work: () => Promise<T>): Promise<T>;
  /** Findings saved but not yet marked published, oldest first. */
  unpublishedFindings(limit?: number): Promise<FindingRecord[]>;
  /** Marks findings published, unless a later update of one is already waiting. */
  markPublished(findings: readonly FindingRecord[]): Promise<void>;
  /** The decrypt ledger of the given UTC days (YYYY-MM-DD), for `kdm history --source dynamodb`. */
  ledgerOfDays(days: readonly string[]): Promise<LedgerDelta>;
}

type Item = Record<string, AttributeValue>;
/** Every stream's watermark in one item, so takeDue judges each due slot by its own stream's. */
interface WatermarksValue {
  readonly kind: 'watermarks';
  readonly marks: Record<string, number>;
}
/**
 * The dedupe ids of one event-time minute (one of SEEN_SHARDS slices of it), id → expiry: one item instead of
 * one per record, so a batch writes a few items for its dedupe ids, and rarely rewrites a minute once passed.
 */
interface SeenBucket {
  readonly kind: 'seen-bucket';
  readonly ids: Record<string, number>;
}
type TableValue = StoredEntry | WatermarksValue | SeenBucket;

const SEEN_PREFIX = 'seen#';
const SEEN_SHARDS = 4;

/** `seen#<minute>#<dedupe key>` (stateKey.seen) → the bucket item that holds it, and the id within it. */
export const seenBucketOf = (key: string): { readonly bucket: string; readonly id: string } => {
  const rest = key.slice(SEEN_PREFIX.length);
  const cut = rest.indexOf('#');
  const minute = cut === -1 ? '0' : rest.slice(0, cut);
  const id = cut === -1 ? rest : rest.slice(cut + 1);
  let h = 5381;
  for (let i = 0; i < id.length; i++) h = (Math.imul(h, 33) ^ id.charCodeAt(i)) >>> 0;
  return { bucket: `seenb#${minute}#${h % SEEN_SHARDS}`, id };
};
interface Lease {
  readonly owner: string;
  readonly token: number;
  readonly expiresAtMs: number;
}

const chunk = <T>(items: readonly T[], size: number): T[][] => {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
};

/** How long the decrypt ledger is kept in the table by default (a year and a bit, for annual reviews). */
export const DEFAULT_LEDGER_RETENTION_MS = 400 * DAY_MS;

const ttlOf = (entry: TableValue, ledgerRetentionMs: number): number | undefined => {
  if (entry.kind === 'ledger' || entry.kind === 'object-access') return Math.ceil((entry.lastSeenMs + ledgerRetentionMs) / 1000);
  if (entry.kind === 'seen-bucket') return Math.ceil((Math.max(0, ...Object.values(entry.ids)) + TTL_GRACE_MS) / 1000);
  const at =
    entry.kind === 'seen' ? entry.expiresAtMs
    : entry.kind === 'window' ? entry.endMs + WINDOW_GRACE_MS
    : entry.kind === 'correlation' ? Math.max(entry.expiresMs, Number.isFinite(entry.dueMs) ? entry.dueMs : 0)
    : undefined;
  return at === undefined ? undefined : Math.ceil((at + TTL_GRACE_MS) / 1000);
};

export const toItem = (key: string, entry: TableValue, ledgerRetentionMs = DEFAULT_LEDGER_RETENTION_MS): Item => {
  const json = encode(entry);
  const item: Item = { pk: { S: key } };
  if (json.length > COMPRESS_ABOVE_BYTES) {
    const zipped = gzipSync(json);
    if (zipped.length > MAX_ITEM_BYTES) throw new StateStoreError(`state entry ${key} is ${zipped.length} bytes gzipped, over DynamoDB's 400 KB item limit`);
    item.z = { B: zipped };
  } else item.v = { S: json };
  const ttl = ttlOf(entry, ledgerRetentionMs);
  if (ttl !== undefined) item.ttl = { N: String(ttl) };
  if (entry.kind === 'correlation' && entry.kms.length > 0) {
    item.gpk = { S: 'due' };
    item.gsk = { N: String(entry.dueMs) };
  } else if (entry.kind === 'finding') {
    item.gpk = { S: 'outbox' };
    item.gsk = { N: String(entry.updatedAtMs) };
  } else if (entry.kind === 'ledger' || entry.kind === 'object-access') {
    // `kdm history --source dynamodb` queries a day at a time.
    item.gpk = { S: `${entry.kind === 'ledger' ? 'ledger' : 'access'}#${entry.day}` };
    item.gsk = { N: String(entry.firstSeenMs) };
  }
  return item;
};

export const fromItem = (item: Item): TableValue => {
  const text = item.v?.S ?? (item.z?.B !== undefined ? gunzipSync(item.z.B).toString('utf8') : undefined);
  if (text === undefined) throw new StateStoreError(`state item ${item.pk?.S ?? '?'} has no value`);
  return decode(text) as TableValue;
};

const isConditionFailure = (error: unknown): boolean =>
  error instanceof ConditionalCheckFailedException ||
  (error instanceof Error && (error.name === 'ConditionalCheckFailedException' || error.name === 'TransactionCanceledException'));

/**
 * The client with every call retrying throttling and 5xx with jittered backoff, as the SDK would (a throttled
 * write was not applied, so repeating it is safe); past that the error reaches the handler and SQS delivers
 * the batch again.
 */
const retrying = (client: DynamoDBClient, pacing: Pacing): DynamoDBClient =>
  new Proxy(client, {
    get(target, prop, receiver) {
      if (prop !== 'send') return Reflect.get(target, prop, receiver) as unknown;
      return (command: unknown) => retryTransient(() => target.send(command as never), { pacing, maxAttempts: MAX_CALL_ATTEMPTS, baseMs: 50, capMs: 2_000 });
    },
  });

export const createDynamoDbStateStore = (options: DynamoDbStateStoreOptions): DynamoDbStateStore => {
  const { tableName: TableName } = options;
  const pacing = options.pacing ?? realPacing;
  const client = retrying(options.client, pacing);
  const leaseMs = options.leaseMs ?? 15 * 60_000;
  const leaseWaitMs = options.leaseWaitMs ?? 30_000;
  const count = (operation: string, items: number): void => options.onCall?.(operation, items);

  let held: Lease | undefined;
  // Seen buckets as read (or written) under this lease: save merges new ids into them.
  const seenBuckets = new Map<string, Record<string, number>>();
  // The watermarks item as last read under this lease: takeDue reads it, save folds changed watermarks in.
  let watermarks: Record<string, number> | undefined;

  const readWatermarks = async (): Promise<Record<string, number>> => {
    if (watermarks !== undefined) return watermarks;
    count('GetItem', 1);
    const out = await client.send(new GetItemCommand({ TableName, Key: { pk: { S: WATERMARKS_KEY } }, ConsistentRead: true }));
    const value = out.Item !== undefined ? fromItem(out.Item) : undefined;
    watermarks = value?.kind === 'watermarks' ? { ...value.marks } : {};
    return watermarks;
  };

  const batchGet = async (keys: readonly string[]): Promise<Item[]> => {
    const items: Item[] = [];
    for (const group of chunk([...new Set(keys)], 100)) {
      let request: Record<string, { Keys: Item[]; ConsistentRead: boolean }> | undefined = {
        [TableName]: { Keys: group.map((k) => ({ pk: { S: k } })), ConsistentRead: true },
      };
      for (let attempt = 0; request !== undefined && Object.keys(request).length > 0; attempt++) {
        if (attempt > 0) await pacing.sleep(backoffMs(attempt, pacing, 50, 5_000));
        if (attempt > 10) throw new StateStoreError(`DynamoDB left ${group.length} keys unprocessed after ${attempt} attempts`, { retryable: true });
        count('BatchGetItem', request[TableName]?.Keys.length ?? 0);
        const out = await client.send(new BatchGetItemCommand({ RequestItems: request }));
        items.push(...(out.Responses?.[TableName] ?? []));
        request = out.UnprocessedKeys as typeof request;
      }
    }
    return items;
  };

  const batchWrite = async (writes: readonly WriteRequest[]): Promise<void> => {
    for (const group of chunk(writes, 25)) {
      let pending: WriteRequest[] = group;
      for (let attempt = 0; pending.length > 0; attempt++) {
        if (attempt > 0) await pacing.sleep(backoffMs(attempt, pacing, 50, 5_000));
        if (attempt > 10) throw new StateStoreError(`DynamoDB left ${pending.length} writes unprocessed after ${attempt} attempts`, { retryable: true });
        count('BatchWriteItem', pending.length);
        const out = await client.send(new BatchWriteItemCommand({ RequestItems: { [TableName]: pending } }));
        pending = out.UnprocessedItems?.[TableName] ?? [];
      }
    }
  };

  /** Reads the seen buckets not yet known under this lease (absent ones are known empty). */
  const loadSeenBuckets = async (buckets: readonly string[]): Promise<void> => {
    const missing = [...new Set(buckets)].filter((b) => !seenBuckets.has(b));
    if (missing.length === 0) return;
    for (const b of missing) seenBuckets.set(b, Object.create(null) as Record<string, number>);
    for (const item of await batchGet(missing)) {
      const value = fromItem(item);
      if (item.pk?.S !== undefined && value.kind === 'seen-bucket') seenBuckets.set(item.pk.S, Object.assign(Object.create(null) as Record<string, number>, value.ids));
    }
  };

  const writeRequestsOf = (changes: ReadonlyMap<string, TableValue | undefined>): WriteRequest[] =>
    [...changes].map(([key, entry]) => (entry === undefined ? { DeleteRequest: { Key: { pk: { S: key } } } } : { PutRequest: { Item: toItem(key, entry, options.ledgerRetentionMs) } }));

  const leaseCondition = (lease: Lease) => ({
    ConditionExpression: '#o = :o AND #t = :t AND #e > :now',
    ExpressionAttributeNames: { '#o': 'owner', '#t': 'token', '#e': 'expiresAtMs' },
    ExpressionAttributeValues: { ':o': { S: lease.owner }, ':t': { N: String(lease.token) }, ':now': { N: String(pacing.nowMs()) } },
  });

  const lost = (lease: Lease, cause?: unknown) =>
    new StateStoreError(`lease ${lease.owner}#${lease.token} on ${TableName} expired or was taken before the batch committed; nothing was written, the batch will be retried`, { cause, retryable: true });

  /** The journal is applied: the lease item stops pointing at it (its chunks expire by TTL). */
  const clearJournal = async (lease: Lease): Promise<void> => {
    count('UpdateItem', 1);
    await client.send(new UpdateItemCommand({ TableName, Key: { pk: { S: LEASE_KEY } }, UpdateExpression: 'REMOVE journal', ...leaseCondition(lease) }));
  };

  /** Re-applies the journal a holder committed but may not have finished applying. */
  const redoJournal = async (lease: Lease, journal: { token: number; chunks: number }): Promise<void> => {
    const keys = Array.from({ length: journal.chunks }, (_, i) => `journal#${journal.token}#${i}`);
    const byKey = new Map((await batchGet(keys)).map((item) => [item.pk?.S, item]));
    const parts = keys.map((k) => {
      const part = byKey.get(k)?.z?.B;
      if (part === undefined) throw new StateStoreError(`journal ${journal.token} of ${TableName} is missing chunk ${k}`);
      return part;
    });
    const changes = decode(gunzipSync(Buffer.concat(parts)).toString('utf8')) as [string, TableValue | null][];
    await batchWrite(writeRequestsOf(new Map(changes.map(([k, e]) => [k, e ?? undefined]))));
    await clearJournal(lease);
  };

  const acquire = async (owner: string): Promise<Lease> => {
    const started = pacing.nowMs();
    for (let attempt = 0; ; attempt++) {
      const now = pacing.nowMs();
      try {
        count('UpdateItem', 1);
        const out = await client.send(
          new UpdateItemCommand({
            TableName,
            Key: { pk: { S: LEASE_KEY } },
            UpdateExpression: 'SET #o = :o, #e = :e ADD #t :one',
            ConditionExpression: 'attribute_not_exists(#o) OR #e < :now',
            ExpressionAttributeNames: { '#o': 'owner', '#e': 'expiresAtMs', '#t': 'token' },
            ExpressionAttributeValues: { ':o': { S: owner }, ':e': { N: String(now + leaseMs) }, ':now': { N: String(now) }, ':one': { N: '1' } },
            ReturnValues: 'ALL_NEW',
          }),
        );
        const lease: Lease = { owner, token: Number(out.Attributes?.token?.N ?? 0), expiresAtMs: now + leaseMs };
        const journal = out.Attributes?.journal?.M;
        if (journal !== undefined) {
          try {
            await redoJournal(lease, { token: Number(journal.token?.N), chunks: Number(journal.chunks?.N) });
          } catch (error) {
            // The journal stays committed for the next holder; do not make it wait for this lease to expire.
            await release(lease).catch(() => undefined);
            throw error;
          }
        }
        return lease;
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
        if (pacing.nowMs() - started >= leaseWaitMs) {
          throw new StateStoreError(`state table ${TableName} is busy: another batch held its lease for over ${leaseWaitMs} ms; the batch will be retried`, { cause: error, retryable: true });
        }
        await pacing.sleep(Math.max(20, backoffMs(Math.min(attempt, 5), pacing, 50, 1_000)));
      }
    }
  };

  const release = async (lease: Lease): Promise<void> => {
    count('UpdateItem', 1);
    await client
      .send(
        new UpdateItemCommand({
          TableName,
          Key: { pk: { S: LEASE_KEY } },
          UpdateExpression: 'REMOVE #o, #e',
          ConditionExpression: '#o = :o AND #t = :t',
          ExpressionAttributeNames: { '#o': 'owner', '#e': 'expiresAtMs', '#t': 'token' },
          ExpressionAttributeValues: { ':o': { S: lease.owner }, ':t': { N: String(lease.token) } },
        }),
      )
      .catch((error: unknown) => {
        if (!isConditionFailure(error)) throw error;
      });
  };

  /** Commits a batch's changes atomically, fenced by the lease. */
  const commit = async (lease: Lease, changes: ReadonlyMap<string, TableValue | undefined>): Promise<void> => {
    const writes = writeRequestsOf(changes);
    if (lease.expiresAtMs - pacing.nowMs() < 1_000) throw lost(lease);
    if (writes.length <= MAX_TRANSACTION_WRITES) {
      const items: TransactWriteItem[] = [
        { ConditionCheck: { TableName, Key: { pk: { S: LEASE_KEY } }, ...leaseCondition(lease) } },
        ...writes.map((w): TransactWriteItem => (w.PutRequest !== undefined ? { Put: { TableName, Item: w.PutRequest.Item } } : { Delete: { TableName, Key: w.DeleteRequest?.Key } })),
      ];
      try {
        count('TransactWriteItems', items.length);
        await client.send(new TransactWriteItemsCommand({ TransactItems: items }));
      } catch (error) {
        if (error instanceof Error && error.name === 'TransactionCanceledException') throw lost(lease, error);
        throw error;
      }
      return;
    }
    // Too large for one transaction: journal, commit point, apply, clear.
    const body = gzipSync(encode([...changes].map(([k, e]) => [k, e ?? null])));
    const parts: Buffer[] = [];
    for (let offset = 0; offset < body.length; offset += JOURNAL_CHUNK_BYTES) parts.push(body.subarray(offset, offset + JOURNAL_CHUNK_BYTES));
    const ttl = String(Math.ceil((pacing.nowMs() + DAY_MS) / 1000));
    await batchWrite(parts.map((part, i) => ({ PutRequest: { Item: { pk: { S: `journal#${lease.token}#${i}` }, z: { B: part }, ttl: { N: ttl } } } })));
    try {
      count('UpdateItem', 1);
      await client.send(
        new UpdateItemCommand({
          TableName,
          Key: { pk: { S: LEASE_KEY } },
          UpdateExpression: 'SET journal = :j',
          ...leaseCondition(lease),
          ExpressionAttributeValues: { ...leaseCondition(lease).ExpressionAttributeValues, ':j': { M: { token: { N: String(lease.token) }, chunks: { N: String(parts.length) } } } },
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) throw lost(lease, error);
      throw error;
    }
    await batchWrite(writes);
    await clearJournal(lease);
  };

  return {
    async withLease(owner, work) {
      const lease = await acquire(owner);
      held = lease;
      watermarks = undefined;
      seenBuckets.clear();
      try {
        return await work();
      } finally {
        held = undefined;
        watermarks = undefined;
        await release(lease);
      }
    },

    async load(keys) {
      const out = new Map<string, StoredEntry>();
      const seen = keys.filter((k) => k.startsWith(SEEN_PREFIX));
      const other = keys.filter((k) => !k.startsWith(SEEN_PREFIX));
      await loadSeenBuckets(seen.map((k) => seenBucketOf(k).bucket));
      for (const item of await batchGet(other)) {
        const value = fromItem(item);
        if (item.pk?.S !== undefined && value.kind !== 'watermarks' && value.kind !== 'seen-bucket') out.set(item.pk.S, value);
      }
      for (const key of seen) {
        const { bucket, id } = seenBucketOf(key);
        const ids = seenBuckets.get(bucket);
        if (ids !== undefined && Object.prototype.hasOwnProperty.call(ids, id)) out.set(key, { kind: 'seen', expiresAtMs: ids[id] as number });
      }
      return out;
    },

    async save(changes) {
      if (changes.size === 0) return;
      const all = new Map<string, TableValue | undefined>();
      const touched = new Map<string, [string, number | undefined][]>();
      for (const [key, entry] of changes) {
        if (!key.startsWith(SEEN_PREFIX)) {
          all.set(key, entry);
          continue;
        }
        const { bucket, id } = seenBucketOf(key);
        const list = touched.get(bucket) ?? [];
        list.push([id, entry?.kind === 'seen' ? entry.expiresAtMs : undefined]);
        touched.set(bucket, list);
      }
      await loadSeenBuckets([...touched.keys()]);
      for (const [bucket, list] of touched) {
        const ids = Object.assign(Object.create(null) as Record<string, number>, seenBuckets.get(bucket));
        for (const [id, expiresAtMs] of list) {
          if (expiresAtMs === undefined) delete ids[id];
          else ids[id] = expiresAtMs;
        }
        seenBuckets.set(bucket, ids);
        all.set(bucket, Object.keys(ids).length > 0 ? { kind: 'seen-bucket', ids } : undefined);
      }
      const moved = [...changes].filter(([key, entry]) => entry?.kind === 'watermark' && key.startsWith('watermark#'));
      if (moved.length > 0) {
        const marks = await readWatermarks();
        for (const [key, entry] of moved) if (entry?.kind === 'watermark') marks[key.slice('watermark#'.length)] = entry.maxEventTimeMs;
        all.set(WATERMARKS_KEY, { kind: 'watermarks', marks: { ...marks } });
      }
      if (held !== undefined) await commit(held, all);
      else await batchWrite(writeRequestsOf(all));
    },

    async takeDue(takeOptions) {
      const before = takeOptions?.decideBeforeMs ?? Number.NEGATIVE_INFINITY;
      const marks = await readWatermarks();
      const highest = Math.max(before, ...Object.values(marks));
      const out = new Map<string, StoredEntry>();
      if (!Number.isFinite(highest) && highest < 0) return out;
      let start: Item | undefined;
      do {
        count('Query', 1);
        const page = await client.send(
          new QueryCommand({
            TableName,
            IndexName: STATE_TABLE_INDEX,
            KeyConditionExpression: 'gpk = :due AND gsk <= :upTo',
            ExpressionAttributeValues: { ':due': { S: 'due' }, ':upTo': { N: String(Number.isFinite(highest) ? highest : Number.MAX_SAFE_INTEGER) } },
            ExclusiveStartKey: start,
          }),
        );
        for (const item of page.Items ?? []) {
          const entry = fromItem(item);
          if (entry.kind !== 'correlation' || item.pk?.S === undefined) continue;
          if (entry.dueMs <= before || entry.dueMs <= (marks[entry.partition] ?? Number.NEGATIVE_INFINITY)) out.set(item.pk.S, entry);
        }
        start = page.LastEvaluatedKey;
      } while (start !== undefined);
      return out;
    },

    async unpublishedFindings(limit = 1_000) {
      const out: FindingRecord[] = [];
      let start: Item | undefined;
      do {
        count('Query', 1);
        const page = await client.send(
          new QueryCommand({ TableName, IndexName: STATE_TABLE_INDEX, KeyConditionExpression: 'gpk = :o', ExpressionAttributeValues: { ':o': { S: 'outbox' } }, Limit: Math.min(limit - out.length, 1_000), ExclusiveStartKey: start }),
        );
        for (const item of page.Items ?? []) {
          const entry = fromItem(item);
          if (entry.kind === 'finding') out.push(entry);
        }
        start = page.LastEvaluatedKey;
      } while (start !== undefined && out.length < limit);
      return out;
    },

    async ledgerOfDays(days) {
      const rows: LedgerRow[] = [];
      const accesses: ObjectAccess[] = [];
      for (const d of days) {
        for (const partition of [`ledger#${d}`, `access#${d}`]) {
          let start: Item | undefined;
          do {
            count('Query', 1);
            const page = await client.send(new QueryCommand({ TableName, IndexName: STATE_TABLE_INDEX, KeyConditionExpression: 'gpk = :p', ExpressionAttributeValues: { ':p': { S: partition } }, ExclusiveStartKey: start }));
            for (const item of page.Items ?? []) {
              const entry = fromItem(item);
              if (entry.kind === 'ledger') rows.push(entry);
              else if (entry.kind === 'object-access') accesses.push(entry);
            }
            start = page.LastEvaluatedKey;
          } while (start !== undefined);
        }
      }
      return { rows, accesses };
    },

    async markPublished(findings) {
      for (const finding of findings) {
        try {
          count('UpdateItem', 1);
          await client.send(
            new UpdateItemCommand({
              TableName,
              Key: { pk: { S: `finding#${finding.id}` } },
              UpdateExpression: 'REMOVE gpk, gsk',
              ConditionExpression: 'gsk = :published',
              ExpressionAttributeValues: { ':published': { N: String(finding.updatedAtMs) } },
            }),
          );
        } catch (error) {
          // A later update of the finding is waiting to be published: leave it in the outbox.
          if (!isConditionFailure(error)) throw error;
        }
      }
    },
  };
};

/** Creates the state table (tests, the cost benchmark, a local DynamoDB) and turns on its TTL. */
export const createStateTable = async (client: DynamoDBClient, tableName: string): Promise<void> => {
  await client.send(new CreateTableCommand(stateTableDefinition(tableName)));
  await client.send(new UpdateTimeToLiveCommand({ TableName: tableName, TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true } }));
};
