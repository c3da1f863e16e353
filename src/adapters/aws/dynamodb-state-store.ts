import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  CreateTableCommand,
  UpdateTimeToLiveCommand,
  ConditionalCheckFailedException,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
  type TransactWriteItem,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { keepClassNames, MonitorError } from '#core/errors.ts';
import type { FindingRecord } from '#core/findings/finding.ts';
import { principalFindingsObsoleteAt } from '#core/findings/principal-findings.ts';
import type { LedgerDelta, LedgerRow, ObjectAccess } from '#core/ledger/ledger.ts';
import type { FindingRefusal, RefusalPolicy, RefusedFinding, StateStore, StoredEntry } from '#core/ports.ts';
import { SEEN_KEY_PREFIX } from '#core/state.ts';
import { decodeState as decode, encodeState as encode } from '../state-codec.ts';
import { backoffMs, realPacing, retryTransient, type Pacing } from './pacing.ts';

/**
 * Engine state in one DynamoDB table (the same port as the in-memory store).
 *
 * Items: `pk` (the state key), the entry as JSON in `v` (gzip in `z` when large), `ttl` (epoch seconds) on
 * entries event time makes obsolete, and a sparse index (`gpk`, `gsk`) that lists correlation slots with
 * KMS calls waiting (`gpk = due`, `gsk` = earliest deadline), findings not yet published (`gpk = outbox`,
 * `gsk` = their UpdatedAt) and findings Security Hub kept refusing (`gpk = refused`; see `noteRefusals`).
 *
 * Concurrency is optimistic (`atomically`): a batch reads the head item (a version number and every stream's
 * watermark), evaluates, and commits its changes together with the head's next version, on condition that the
 * version is still the one it read. If another container committed first, nothing is written and the batch is
 * evaluated again on the new state. A commit is one TransactWriteItems when it fits (99 writes and the head),
 * so a quiet batch costs one write call; a larger one goes through a redo journal: written first, made current
 * by the head's conditional update (the commit point), then applied. Its writer finishes it; if the writer
 * died, the first batch to find the journal older than `journalTakeoverMs` re-applies it (entries are whole
 * values, so applying twice is harmless), and until then others wait. A younger journal is never touched by
 * anyone else, so a slow writer's late writes cannot land over a newer commit.
 */

export const STATE_TABLE_INDEX = 'pending';
/** The head item: the committed version, every stream's watermark and, while one is applied, the journal. */
export const HEAD_KEY = 'head#engine';
/** Entries above this are gzipped; DynamoDB's item limit is 400 KB. */
const COMPRESS_ABOVE_BYTES = 64 * 1024;
const MAX_ITEM_BYTES = 390 * 1024;
const JOURNAL_CHUNK_BYTES = 350 * 1024;
/** TransactWriteItems takes 100 actions: the head's update plus 99 writes. */
const MAX_TRANSACTION_WRITES = 99;
const DAY_MS = 86_400_000;
const MAX_CALL_ATTEMPTS = 4;
/** Evaluations of one batch that lost the race to another commit, before the batch is left to SQS to retry. */
const MAX_CONFLICT_ATTEMPTS = 8;
/** Obsolete entries linger this long past their event-time expiry before DynamoDB's TTL removes them. */
const TTL_GRACE_MS = 2 * DAY_MS;
const WINDOW_GRACE_MS = 60 * 60_000;

export class StateStoreError extends MonitorError {
  constructor(message: string, options?: ErrorOptions & { retryable?: boolean }) {
    super('STATE_CONFLICT', message, options);
  }
}

/** Another batch committed between this batch's read and its commit: nothing was written; evaluate again. */
export class ConflictError extends StateStoreError {}

keepClassNames({ StateStoreError, ConflictError });

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
  /**
   * How long a committed journal belongs to its writer before another batch may finish it: longer than the
   * function's timeout, so a live writer is never overtaken.
   */
  readonly journalTakeoverMs?: number;
  /** How long a batch waits for another's journal to be applied before giving up (the batch is then retried). */
  readonly busyWaitMs?: number;
  readonly pacing?: Pacing;
  /** Called with each DynamoDB call made (operation name), for metrics and the cost benchmark. */
  readonly onCall?: (operation: string, items: number) => void;
  /** How long ledger rows stay after their last call (DynamoDB TTL). */
  readonly ledgerRetentionMs?: number;
}

export interface DynamoDbStateStore extends StateStore {
  /**
   * Runs `work` so that its saves commit only on the state it read: if another batch committed first, `work`
   * runs again on the new state (its saves before the conflict stand, and dedupe makes a re-run harmless).
   * `label` names the batch in errors. Calls on one store run one after another.
   */
  atomically<T>(label: string, work: () => Promise<T>): Promise<T>;
  /** Findings saved but not yet marked published, oldest first. */
  unpublishedFindings(limit?: number): Promise<FindingRecord[]>;
  /** Marks findings published, unless a later update of one is already waiting. */
  markPublished(findings: readonly FindingRecord[]): Promise<void>;
  /**
   * Counts a refusal of each finding's waiting version; a version refused `giveUpAfter.refusals` times over at
   * least `giveUpAfter.ms` leaves the outbox for `gpk = refused`, so that it stops taking a place in every call
   * (the outbox is read oldest first) while staying in the table. A later update of the finding goes to the
   * outbox again. Returns the findings that left the outbox.
   */
  noteRefusals(refusals: readonly FindingRefusal[], options: RefusalPolicy): Promise<readonly RefusedFinding[]>;
  /** The decrypt ledger of the given UTC days (YYYY-MM-DD), for `kdm history --source dynamodb`. */
  ledgerOfDays(days: readonly string[]): Promise<LedgerDelta>;
}

type Item = Record<string, AttributeValue>;
/**
 * The dedupe ids of one event-time minute (one of SEEN_SHARDS slices of it), id → expiry: one item instead of
 * one per record, so a batch writes a few items for its dedupe ids, and rarely rewrites a minute once passed.
 */
interface SeenBucket {
  readonly kind: 'seen-bucket';
  readonly ids: Record<string, number>;
}
type TableValue = StoredEntry | SeenBucket;

const SEEN_SHARDS = 4;

/** `seen#<minute>#<dedupe key>` (stateKey.seen) → the bucket item that holds it, and the id within it. */
export const seenBucketOf = (key: string): { readonly bucket: string; readonly id: string } => {
  const rest = key.slice(SEEN_KEY_PREFIX.length);
  const cut = rest.indexOf('#');
  const minute = cut === -1 ? '0' : rest.slice(0, cut);
  const id = cut === -1 ? rest : rest.slice(cut + 1);
  let h = 5381;
  for (let i = 0; i < id.length; i++) h = (Math.imul(h, 33) ^ id.charCodeAt(i)) >>> 0;
  return { bucket: `seenb#${minute}#${h % SEEN_SHARDS}`, id };
};
interface Journal {
  readonly id: string;
  readonly chunks: number;
  readonly atMs: number;
}
interface Head {
  readonly version: number;
  readonly marks: Record<string, number>;
  readonly journal: Journal | undefined;
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
    : entry.kind === 'principal-findings' ? principalFindingsObsoleteAt(entry)
    : undefined;
  return at === undefined ? undefined : Math.ceil((at + TTL_GRACE_MS) / 1000);
};

export const toItem = (key: string, entry: TableValue, ledgerRetentionMs = DEFAULT_LEDGER_RETENTION_MS, json = encode(entry)): Item => {
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

/** An item's value as the JSON text `toItem` wrote, whether stored plain or gzipped. */
const textOf = (item: Item): string => {
  const text = item.v?.S ?? (item.z?.B !== undefined ? gunzipSync(item.z.B).toString('utf8') : undefined);
  if (text === undefined) throw new StateStoreError(`state item ${item.pk?.S ?? '?'} has no value`);
  return text;
};

export const fromItem = (item: Item): TableValue => decode(textOf(item)) as TableValue;

/** A single-item write's condition did not hold. (A transaction's refusal is `lostTheRace`'s to judge.) */
const isConditionFailure = (error: unknown): boolean =>
  error instanceof ConditionalCheckFailedException || (error instanceof Error && error.name === 'ConditionalCheckFailedException');

/**
 * A transaction cancelled because the head's version moved (ConditionalCheckFailed) or because another
 * transaction was writing the same items (TransactionConflict): the batch lost the race and is evaluated again.
 * Any other reason (an invalid item, say) is an error of its own.
 */
const RACE_REASONS: ReadonlySet<string> = new Set(['ConditionalCheckFailed', 'TransactionConflict']);
const lostTheRace = (error: unknown): boolean => {
  if (!(error instanceof Error) || error.name !== 'TransactionCanceledException') return false;
  const codes = ((error as { CancellationReasons?: readonly { Code?: string }[] }).CancellationReasons ?? []).map((r) => r.Code ?? 'None').filter((c) => c !== 'None');
  return codes.every((c) => RACE_REASONS.has(c));
};

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
  const journalTakeoverMs = options.journalTakeoverMs ?? 15 * 60_000;
  const busyWaitMs = options.busyWaitMs ?? 30_000;
  const count = (operation: string, items: number): void => options.onCall?.(operation, items);

  // The batch running now (`atomically`): its label, and the head it read; its saves commit on that version.
  let current: { readonly label: string; version: number; marks: Record<string, number> } | undefined;
  // Seen buckets as read (or written) by the batch running now: save merges new ids into them.
  const seenBuckets = new Map<string, Record<string, number>>();
  // The value text of each item the batch running now read. A save leaves out a write that would put the same
  // text back (an alias learnt again, a window or a slot the batch looked at and left as it was): in a
  // transaction each item written costs two write units, and nothing else can have written the item since, or
  // the head's version would have moved and the commit would fail.
  const readTexts = new Map<string, string>();
  const decodeAndRemember = (item: Item): TableValue => {
    const text = textOf(item);
    if (current !== undefined && item.pk?.S !== undefined) readTexts.set(item.pk.S, text);
    return decode(text) as TableValue;
  };
  // `atomically` calls on this store, one after another.
  let turn: Promise<unknown> = Promise.resolve();

  const readHead = async (): Promise<Head> => {
    count('GetItem', 1);
    const out = await client.send(new GetItemCommand({ TableName, Key: { pk: { S: HEAD_KEY } }, ConsistentRead: true }));
    const item = out.Item;
    const journal = item?.journal?.M;
    return {
      version: Number(item?.version?.N ?? 0),
      marks: item?.marks?.S !== undefined ? (JSON.parse(item.marks.S) as Record<string, number>) : {},
      journal: journal !== undefined ? { id: journal.id?.S ?? '', chunks: Number(journal.chunks?.N), atMs: Number(journal.atMs?.N) } : undefined,
    };
  };

  const readWatermarks = async (): Promise<Record<string, number>> => current?.marks ?? (await readHead()).marks;

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

  /** Reads the seen buckets not yet known to this batch (absent ones are known empty). */
  const loadSeenBuckets = async (buckets: readonly string[]): Promise<void> => {
    const missing = [...new Set(buckets)].filter((b) => !seenBuckets.has(b));
    if (missing.length === 0) return;
    for (const b of missing) seenBuckets.set(b, Object.create(null) as Record<string, number>);
    for (const item of await batchGet(missing)) {
      const value = decodeAndRemember(item);
      if (item.pk?.S !== undefined && value.kind === 'seen-bucket') seenBuckets.set(item.pk.S, Object.assign(Object.create(null) as Record<string, number>, value.ids));
    }
  };

  /** `texts`: entries already encoded, by key (`withoutUnchanged` encodes the ones it compares). */
  const writeRequestsOf = (changes: ReadonlyMap<string, TableValue | undefined>, texts?: ReadonlyMap<string, string>): WriteRequest[] =>
    [...changes].map(([key, entry]) => (entry === undefined ? { DeleteRequest: { Key: { pk: { S: key } } } } : { PutRequest: { Item: toItem(key, entry, options.ledgerRetentionMs, texts?.get(key)) } }));

  /** The changes less the writes that would put back the text the batch read (see `readTexts`), and the texts it encoded. */
  const withoutUnchanged = (changes: ReadonlyMap<string, TableValue | undefined>): { changes: ReadonlyMap<string, TableValue | undefined>; texts: ReadonlyMap<string, string> } => {
    const texts = new Map<string, string>();
    if (readTexts.size === 0) return { changes, texts };
    const out = new Map<string, TableValue | undefined>();
    for (const [key, entry] of changes) {
      const read = readTexts.get(key);
      if (entry === undefined || read === undefined) {
        out.set(key, entry);
        continue;
      }
      const text = encode(entry);
      if (text === read) continue;
      texts.set(key, text);
      out.set(key, entry);
    }
    return { changes: out, texts };
  };

  /** The head's next version, conditioned on the version this batch read (absent before the first commit). */
  const headCondition = (version: number) =>
    version === 0
      ? { ConditionExpression: 'attribute_not_exists(pk)' }
      : { ConditionExpression: '#v = :read', ExpressionAttributeNames: { '#v': 'version' }, ExpressionAttributeValues: { ':read': { N: String(version) } } };

  const conflict = (label: string, cause?: unknown) =>
    new ConflictError(`batch ${label}: another batch committed to ${TableName} first; nothing of this attempt was written`, { cause });

  /** The journal is applied: the head stops pointing at it (its chunks expire by TTL). */
  const clearJournal = async (id: string): Promise<void> => {
    count('UpdateItem', 1);
    await client
      .send(new UpdateItemCommand({ TableName, Key: { pk: { S: HEAD_KEY } }, UpdateExpression: 'REMOVE journal', ConditionExpression: 'journal.id = :id', ExpressionAttributeValues: { ':id': { S: id } } }))
      .catch((error: unknown) => {
        // Already cleared by a batch that took the journal over.
        if (!isConditionFailure(error)) throw error;
      });
  };

  /** Applies a committed journal's writes (its writer's, or a dead writer's), then clears it. */
  const applyJournal = async (journal: Journal): Promise<void> => {
    const keys = Array.from({ length: journal.chunks }, (_, i) => `journal#${journal.id}#${i}`);
    const byKey = new Map((await batchGet(keys)).map((item) => [item.pk?.S, item]));
    const parts = keys.map((k) => {
      const part = byKey.get(k)?.z?.B;
      if (part === undefined) throw new StateStoreError(`journal ${journal.id} of ${TableName} is missing chunk ${k}`);
      return part;
    });
    const changes = decode(gunzipSync(Buffer.concat(parts)).toString('utf8')) as [string, TableValue | null][];
    await batchWrite(writeRequestsOf(new Map(changes.map(([k, e]) => [k, e ?? undefined]))));
    await clearJournal(journal.id);
  };

  /** The head once no journal is pending: a dead writer's is finished, a live writer's is waited for. */
  const settledHead = async (label: string): Promise<Head> => {
    const started = pacing.nowMs();
    for (let attempt = 0; ; attempt++) {
      const head = await readHead();
      if (head.journal === undefined) return head;
      if (pacing.nowMs() - head.journal.atMs >= journalTakeoverMs) {
        await applyJournal(head.journal);
        continue;
      }
      if (pacing.nowMs() - started >= busyWaitMs) {
        throw new StateStoreError(`state table ${TableName} is busy: another batch's journal was still being applied after ${busyWaitMs} ms; batch ${label} will be retried`, { retryable: true });
      }
      await pacing.sleep(Math.max(20, backoffMs(Math.min(attempt, 5), pacing, 50, 1_000)));
    }
  };

  /** Commits a batch's changes with the head's next version, atomically, if no other batch committed since it read. */
  const commit = async (label: string, read: { version: number; marks: Record<string, number> }, allChanges: ReadonlyMap<string, TableValue | undefined>): Promise<void> => {
    const { changes, texts } = withoutUnchanged(allChanges);
    const writes = writeRequestsOf(changes, texts);
    // What this commit writes is no longer what the batch read: a later save in the same batch writes it again.
    for (const key of changes.keys()) readTexts.delete(key);
    const next = String(read.version + 1);
    const marks = { S: JSON.stringify(read.marks) };
    if (writes.length <= MAX_TRANSACTION_WRITES) {
      const items: TransactWriteItem[] = [
        { Put: { TableName, Item: { pk: { S: HEAD_KEY }, version: { N: next }, marks }, ...headCondition(read.version) } },
        ...writes.map((w): TransactWriteItem => (w.PutRequest !== undefined ? { Put: { TableName, Item: w.PutRequest.Item } } : { Delete: { TableName, Key: w.DeleteRequest?.Key } })),
      ];
      try {
        count('TransactWriteItems', items.length);
        await client.send(new TransactWriteItemsCommand({ TransactItems: items }));
      } catch (error) {
        if (lostTheRace(error)) throw conflict(label, error);
        throw error;
      }
      return;
    }
    // Too large for one transaction: journal, commit point (the head), apply, clear.
    const journal: Journal = { id: `${next}-${randomUUID()}`, chunks: 0, atMs: pacing.nowMs() };
    const body = gzipSync(encode([...changes].map(([k, e]) => [k, e ?? null])));
    const parts: Buffer[] = [];
    for (let offset = 0; offset < body.length; offset += JOURNAL_CHUNK_BYTES) parts.push(body.subarray(offset, offset + JOURNAL_CHUNK_BYTES));
    const ttl = String(Math.ceil((pacing.nowMs() + DAY_MS) / 1000));
    await batchWrite(parts.map((part, i) => ({ PutRequest: { Item: { pk: { S: `journal#${journal.id}#${i}` }, z: { B: part }, ttl: { N: ttl } } } })));
    try {
      count('PutItem', 1);
      await client.send(
        new PutItemCommand({
          TableName,
          Item: { pk: { S: HEAD_KEY }, version: { N: next }, marks, journal: { M: { id: { S: journal.id }, chunks: { N: String(parts.length) }, atMs: { N: String(journal.atMs) } } } },
          ...headCondition(read.version),
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) throw conflict(label, error);
      throw error;
    }
    await applyJournal({ ...journal, chunks: parts.length });
  };

  const runAtomically = async <T>(label: string, work: () => Promise<T>): Promise<T> => {
    for (let attempt = 1; ; attempt++) {
      const head = await settledHead(label);
      current = { label, version: head.version, marks: { ...head.marks } };
      seenBuckets.clear();
      readTexts.clear();
      try {
        return await work();
      } catch (error) {
        if (!(error instanceof ConflictError)) throw error;
        if (attempt >= MAX_CONFLICT_ATTEMPTS) throw new StateStoreError(`${error.message}, ${attempt} times; the batch will be retried`, { cause: error, retryable: true });
        await pacing.sleep(backoffMs(attempt, pacing, 20, 500));
      } finally {
        current = undefined;
        seenBuckets.clear();
        readTexts.clear();
      }
    }
  };

  const store: DynamoDbStateStore = {
    atomically(label, work) {
      const run = turn.then(() => runAtomically(label, work));
      turn = run.catch(() => undefined);
      return run;
    },

    async load(keys) {
      const out = new Map<string, StoredEntry>();
      const seen = keys.filter((k) => k.startsWith(SEEN_KEY_PREFIX));
      const other = keys.filter((k) => !k.startsWith(SEEN_KEY_PREFIX));
      await loadSeenBuckets(seen.map((k) => seenBucketOf(k).bucket));
      for (const item of await batchGet(other)) {
        const value = decodeAndRemember(item);
        if (item.pk?.S !== undefined && value.kind !== 'seen-bucket') out.set(item.pk.S, value);
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
      // Outside a batch, a save is a batch of its own.
      if (current === undefined) return store.atomically('save', () => store.save(changes));
      const all = new Map<string, TableValue | undefined>();
      const touched = new Map<string, [string, number | undefined][]>();
      for (const [key, entry] of changes) {
        if (!key.startsWith(SEEN_KEY_PREFIX)) {
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
      // Watermarks live in the head item, written with every commit.
      const marks = { ...current.marks };
      for (const [key, entry] of changes) if (entry?.kind === 'watermark' && key.startsWith('watermark#')) marks[key.slice('watermark#'.length)] = entry.maxEventTimeMs;
      await commit(current.label, { version: current.version, marks }, all);
      current.version++;
      current.marks = marks;
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

    async noteRefusals(refusals, { nowMs, giveUpAfter }) {
      const leftOutbox: RefusedFinding[] = [];
      for (const refusal of refusals) {
        const { finding } = refusal;
        const key = { pk: { S: `finding#${finding.id}` } };
        const version = { N: String(finding.updatedAtMs) };
        const why = { S: `${refusal.code}${refusal.message !== undefined ? `: ${refusal.message}` : ''}`.slice(0, 1_000) };
        let counted: Item | undefined;
        try {
          count('UpdateItem', 1);
          counted = (await client.send(new UpdateItemCommand({
            TableName,
            Key: key,
            UpdateExpression: 'ADD refusals :one SET firstRefusedMs = if_not_exists(firstRefusedMs, :now), lastRefusal = :why',
            // Only the version that was refused: a later update waiting in its place has refusals of its own to earn.
            ConditionExpression: 'gpk = :outbox AND gsk = :version',
            ExpressionAttributeValues: { ':one': { N: '1' }, ':now': { N: String(nowMs) }, ':why': why, ':outbox': { S: 'outbox' }, ':version': version },
            ReturnValues: 'ALL_NEW',
          }))).Attributes;
        } catch (error) {
          if (!isConditionFailure(error)) throw error;
          continue;
        }
        const times = Number(counted?.['refusals']?.N ?? 0);
        const firstRefusedMs = Number(counted?.['firstRefusedMs']?.N ?? nowMs);
        if (times < giveUpAfter.refusals || nowMs - firstRefusedMs < giveUpAfter.ms) continue;
        try {
          count('UpdateItem', 1);
          await client.send(new UpdateItemCommand({
            TableName,
            Key: key,
            UpdateExpression: 'SET gpk = :refused',
            ConditionExpression: 'gpk = :outbox AND gsk = :version',
            ExpressionAttributeValues: { ':refused': { S: 'refused' }, ':outbox': { S: 'outbox' }, ':version': version },
          }));
          leftOutbox.push({ ...refusal, refusals: times, firstRefusedMs });
        } catch (error) {
          if (!isConditionFailure(error)) throw error;
        }
      }
      return leftOutbox;
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
  return store;
};

/** Creates the state table (tests, the cost benchmark, a local DynamoDB) and turns on its TTL. */
export const createStateTable = async (client: DynamoDBClient, tableName: string): Promise<void> => {
  await client.send(new CreateTableCommand(stateTableDefinition(tableName)));
  await client.send(new UpdateTimeToLiveCommand({ TableName: tableName, TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true } }));
};
