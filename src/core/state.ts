/**
 * Engine state, as entries under string keys so any store (memory, DynamoDB, a local database) can hold it.
 * The core never does IO: the shell loads the entries a batch needs (`planStateKeys`), the core works on a
 * `WorkingState`, and the shell saves what changed.
 */

import { dedupeKeyOf } from './events/normalize.ts';
import type { KmsCall, S3RequestSummary } from './events/types.ts';
import { memoized } from './memoize.ts';

/** A delivered record we have seen: kept until event time passes `expiresAtMs`. */
export interface SeenEntry {
  readonly kind: 'seen';
  readonly expiresAtMs: number;
}

/** What one KMS key's callers normally do, learned from event time. */
export interface KeyBaseline {
  readonly kind: 'key-baseline';
  /** Event time of the earliest call seen on the key: its learning period starts here. */
  firstSeenMs: number;
  lastSeenMs: number;
  /** principal id → event time first seen. */
  principals: Record<string, number>;
  /** region → first seen. */
  regions: Record<string, number>;
  /** caller account → first seen. */
  accounts: Record<string, number>;
  /** Direct (not service-made) cryptographic calls, with and without encryption context. */
  directCalls: number;
  directCallsWithContext: number;
  /** Context keys seen on direct calls → count. */
  contextKeys: Record<string, number>;
  /** Aliases seen naming the key. */
  aliases: string[];
}

/** A tumbling event-time window: count plus up to `limit` distinct members. */
export interface WindowCounter {
  readonly kind: 'window';
  readonly startMs: number;
  readonly endMs: number;
  count: number;
  members: string[];
  /** Set once the threshold fired, so one window raises one detection. */
  fired: boolean;
  /** Event time of the earliest call counted (absent in counters stored before 2026-12-03). */
  firstMs?: number;
  /** Ids of the first calls counted, as evidence (at most MAX_EVIDENCE_IDS). */
  eventIds?: string[];
}

/** Alias → key ARN mapping learned from records that name both. */
export interface AliasEntry {
  readonly kind: 'alias';
  keyArn: string;
}

/**
 * The networks, the buckets and the clients a principal baseline remembers: a person or workload works with a few,
 * and whoever holds its credentials could otherwise grow its entry (a DynamoDB item holds 400 KB) with one a call.
 */
export const PRINCIPAL_ENTRY_LIMIT = 100;

/** What one principal normally does across keys: where it calls KMS from, and its peak window rates. */
export interface PrincipalBaseline {
  readonly kind: 'principal-baseline';
  firstSeenMs: number;
  lastSeenMs: number;
  /** region → first seen. */
  regions: Record<string, number>;
  /** rule id → highest count the principal reached in one of that rule's windows while learning. */
  peaks: Record<string, number>;
  /**
   * Network of its direct KMS calls (a VPC endpoint's id, or `PUBLIC_ENDPOINT`) → first seen. Absent from baselines
   * stored before 2026-12-06: their networks are learned from the first call after, for a learning period of their own.
   */
  networks?: Record<string, number>;
  /**
   * Network of the S3 requests behind the calls S3 made for it (the matched request's VPC endpoint, or
   * `PUBLIC_ENDPOINT`; not a presigned URL's or a POST form's) → first seen. Kept apart from `networks`: a workload
   * may reach S3 through a gateway endpoint and KMS through NAT, or the other way round. Absent from baselines stored
   * before 2026-12-07: learned from the first call after, for a learning period of their own.
   */
  s3Networks?: Record<string, number>;
  /**
   * Bucket whose SSE-KMS objects S3 encrypted or decrypted for it → first seen. Absent from baselines stored before
   * kms-s3-unusual-bucket (2026-12-06): their buckets are learned from the first call after, for a learning period of
   * their own.
   */
  buckets?: Record<string, number>;
  /**
   * Client of its direct KMS calls (`clientOf` its user agent: `AWS SDK for Java on AWS Lambda`, `AWS CLI`) → first
   * seen. Absent from baselines stored before kms-unusual-client (2026-12-07): their clients are learned from the
   * first call after, for a learning period of their own.
   */
  clients?: Record<string, number>;
}

/**
 * The accounts whose principals call through one VPC endpoint, learned from its network activity events (the calls
 * it let through): an endpoint of a shared or central VPC serves the accounts of its organization.
 */
export interface EndpointBaseline {
  readonly kind: 'endpoint-baseline';
  /** Event time of the earliest call seen through the endpoint: its learning period starts here. */
  firstSeenMs: number;
  lastSeenMs: number;
  /** caller account → first seen, at most ENDPOINT_ACCOUNT_LIMIT. */
  accounts: Record<string, number>;
}

/**
 * Accounts an endpoint baseline remembers: more than an organization's endpoints serve, and a bound on what callers
 * with credentials of many accounts could add to one entry. Beyond it, a new account is judged every time.
 */
export const ENDPOINT_ACCOUNT_LIMIT = 1_000;

/** An S3-made KMS call waiting for its S3 data event, evaluated when matched or when its deadline passes. */
export interface PendingKmsHalf {
  readonly event: KmsCall;
  readonly deadlineMs: number;
}

/** An S3 data event waiting for the KMS call S3 made for it (which may arrive later). */
export interface PendingS3Half {
  readonly request: S3RequestSummary;
  readonly deadlineMs: number;
}

/**
 * Unmatched halves of one (operation family, principal session, object or bucket). `dueMs` is the earliest
 * KMS deadline, so a store can hand back due entries without scanning; `partition` names the watermark.
 */
export interface CorrelationSlot {
  readonly kind: 'correlation';
  readonly partition: string;
  dueMs: number;
  /** Latest S3 deadline: the slot can be dropped once the watermark passes it and no KMS half waits. */
  expiresMs: number;
  kms: PendingKmsHalf[];
  s3: PendingS3Half[];
  /** Bucket-level slots: the last S3 Bucket Key decrypt, which covers later reads for a while. */
  lastBucketDecrypt?: { readonly eventId: string; readonly eventTimeMs: number };
}

/** Event time reached by one stream (recipient account and region): pending halves older than it are decided. */
export interface Watermark {
  readonly kind: 'watermark';
  maxEventTimeMs: number;
}

/** What we know of one bucket's logging and encryption, for correlation and the coverage report. */
export interface BucketCoverage {
  readonly kind: 'bucket';
  firstSeenMs: number;
  /** S3 data events seen for the bucket: when 0, a missing data event is not a gap. */
  dataEvents: number;
  /** Of them, object reads (the operations that make S3 call Decrypt): trails may log writes only. */
  readEvents: number;
  /**
   * Event time of the earliest object read seen: reads are logged from then on. Absent before the first read, and in
   * coverage stored before it was kept (2026-12-06), whose `firstSeenMs` stands for it then.
   */
  firstReadMs?: number | undefined;
  /** S3-made KMS calls with the bucket ARN (Bucket Keys) and with an object ARN as context. */
  bucketKeyCalls: number;
  objectKeyCalls: number;
  /** SSEApplied values of writes → count. */
  sse: Record<string, number>;
  /** KMS keys S3 used for the bucket → count. */
  kmsKeys: Record<string, number>;
}

export type StateEntry = SeenEntry | KeyBaseline | PrincipalBaseline | EndpointBaseline | WindowCounter | AliasEntry | CorrelationSlot | Watermark | BucketCoverage;

// Memoized: these keys are built on almost every record from a handful of parts.
const keyBaselineKey = memoized((keyArn: string) => `key#${keyFamilyOf(keyArn)}`);
const principalBaselineKey = memoized((principalId: string) => `principal#${principalId}`);
const watermarkKey = memoized((partition: string) => `watermark#${partition}`);
const bucketKey = memoized((bucket: string) => `bucket#${bucket}`);

/** How every dedupe key begins (`stateKey.seen`). */
export const SEEN_KEY_PREFIX = 'seen#';

/** The event-time minute a record's dedupe key leads with (`stateKey.seen`). */
export const seenMinuteOf = (eventTimeMs: number): number => Math.floor(eventTimeMs / 60_000);

/**
 * The event-time minute a dedupe key leads with (`stateKey.seen`), or undefined for any other key. Reads the
 * digits in place, without slicing: stores call it on every lookup.
 */
export const seenKeyMinute = (key: string): number | undefined => {
  if (!key.startsWith(SEEN_KEY_PREFIX)) return undefined;
  let minute = 0;
  // Digits up to the next '#' (at most 15: a safe integer); anything else is not a dedupe key.
  for (let i = SEEN_KEY_PREFIX.length; i < key.length && i <= SEEN_KEY_PREFIX.length + 15; i++) {
    const c = key.charCodeAt(i);
    if (c === 0x23) return i > SEEN_KEY_PREFIX.length ? minute : undefined;
    if (c < 0x30 || c > 0x39) return undefined;
    minute = minute * 10 + (c - 0x30);
  }
  return undefined;
};

export const stateKey = {
  /**
   * The event-time minute leads (copies of one record share their eventTime), so a store can keep the ids
   * of one minute together (DynamoDB packs them into a few items instead of one item per record).
   */
  seen: (dedupeKey: string, eventTimeMs: number) => `${SEEN_KEY_PREFIX}${seenMinuteOf(eventTimeMs)}#${dedupeKey}`,
  /** Multi-Region replicas share one baseline: their ARNs differ only by region. */
  keyBaseline: keyBaselineKey,
  principalBaseline: principalBaselineKey,
  endpointBaseline: (vpcEndpointId: string) => `endpoint#${vpcEndpointId}`,
  window: (ruleId: string, group: string, startMs: number) => `win#${ruleId}#${startMs}#${group}`,
  alias: (accountId: string, alias: string) => `alias#${accountId}#${alias}`,
  correlation: (family: string, session: string, target: string) => `corr#${family}#${session}#${target}`,
  watermark: watermarkKey,
  bucket: bucketKey,
} as const;

/** `arn:aws:kms:<region>:<acct>:key/mrk-…` → the same ARN with `*` for region; other keys unchanged. */
export const keyFamilyOf = (keyArn: string): string => {
  if (!keyArn.includes(':key/mrk-')) return keyArn;
  const parts = keyArn.split(':');
  return parts.length >= 6 && (parts[5] ?? '').startsWith('key/mrk-') ? [...parts.slice(0, 3), '*', ...parts.slice(4)].join(':') : keyArn;
};

/** What a record is deduplicated by (`dedupeKeyOf`) and in which minute (`stateKey.seen`). */
export interface DeliveredRecord {
  /** `vpce`: a network activity event, deduplicated apart from the calls (`dedupeKeyOf`). */
  readonly kind?: string;
  readonly eventId: string;
  readonly sharedEventId?: string | undefined;
  readonly eventTimeMs: number;
}

/** The state a batch works on: entries loaded by the shell, with writes tracked for saving. */
export interface WorkingState {
  get(key: string): StateEntry | undefined;
  set(key: string, entry: StateEntry): void;
  /** Removes an entry (saved as a deletion). */
  delete(key: string): void;
  /**
   * Notes a delivered record: the entry `stateKey.seen` names for its dedupe id and event time becomes a
   * SeenEntry expiring at `expiresAtMs`. False when that entry was there already (the record is a duplicate);
   * true otherwise, and for a record without an id to deduplicate by.
   */
  markSeen(record: DeliveredRecord, expiresAtMs: number): boolean;
  /** Entries written during evaluation (undefined: deleted), to be saved by the shell: a new map, the caller's to change. */
  changes(): Map<string, StateEntry | undefined>;
  /**
   * Keys read that were neither planned (loaded) nor written first: a planning bug, since such a read says
   * "absent" even when the store holds the entry. Empty when `planned` was not given.
   */
  unplannedReads(): ReadonlySet<string>;
}

/** Marks a key deleted during the batch (a value no entry can be), so a read is one map lookup. */
const DELETED: unique symbol = Symbol('deleted');

/** `markSeen` through the entry's key, for a state with no faster way. */
const markSeenByKey = (state: Pick<WorkingState, 'get' | 'set'>, record: DeliveredRecord, expiresAtMs: number): boolean => {
  const dedupeKey = dedupeKeyOf(record);
  if (dedupeKey === undefined) return true;
  const key = stateKey.seen(dedupeKey, record.eventTimeMs);
  if (state.get(key) !== undefined) return false;
  state.set(key, { kind: 'seen', expiresAtMs });
  return true;
};

export const createWorkingState = (loaded: ReadonlyMap<string, StateEntry>, planned?: ReadonlySet<string>): WorkingState => {
  // Written during the batch: the entry, or DELETED. Read first; then what was loaded.
  const written = new Map<string, StateEntry | typeof DELETED>();
  const unplanned = new Set<string>();
  const state: WorkingState = {
    get: (key) => {
      const mine = written.get(key);
      if (mine !== undefined) return mine === DELETED ? undefined : mine;
      const entry = loaded.get(key);
      if (entry === undefined && planned !== undefined && unplanned.size < 100 && !planned.has(key)) unplanned.add(key);
      return entry;
    },
    unplannedReads: () => unplanned,
    set: (key, entry) => {
      written.set(key, entry);
    },
    markSeen: (record, expiresAtMs) => markSeenByKey(state, record, expiresAtMs),
    delete: (key) => {
      written.set(key, DELETED);
    },
    changes: () => {
      const out = new Map<string, StateEntry | undefined>();
      for (const [key, entry] of written) out.set(key, entry === DELETED ? undefined : entry);
      return out;
    },
  };
  return state;
};

/**
 * A working state that reads and writes a store's own entries directly (`StateStore.entries`, `write` and, when
 * the store has it, `markSeen`): for an in-process store, where the overlay of `createWorkingState` would add a
 * lookup to every read and a copy of every change. Nothing is left for `changes()` to report.
 */
export const createWriteThroughState = (
  entries: ReadonlyMap<string, StateEntry>,
  write: (key: string, entry: StateEntry | undefined) => void,
  markSeen?: WorkingState['markSeen'],
): WorkingState => {
  const none: ReadonlySet<string> = new Set();
  const state: WorkingState = {
    get: (key) => entries.get(key),
    set: (key, entry) => write(key, entry),
    delete: (key) => write(key, undefined),
    markSeen: markSeen ?? ((record, expiresAtMs) => markSeenByKey(state, record, expiresAtMs)),
    changes: () => new Map(),
    unplannedReads: () => none,
  };
  return state;
};

export const newPrincipalBaseline = (eventTimeMs: number): PrincipalBaseline => ({
  kind: 'principal-baseline',
  firstSeenMs: eventTimeMs,
  lastSeenMs: eventTimeMs,
  regions: Object.create(null) as Record<string, number>,
  peaks: Object.create(null) as Record<string, number>,
  networks: Object.create(null) as Record<string, number>,
  buckets: Object.create(null) as Record<string, number>,
  clients: Object.create(null) as Record<string, number>,
});

export const newKeyBaseline = (eventTimeMs: number): KeyBaseline => ({
  kind: 'key-baseline',
  firstSeenMs: eventTimeMs,
  lastSeenMs: eventTimeMs,
  principals: Object.create(null) as Record<string, number>,
  regions: Object.create(null) as Record<string, number>,
  accounts: Object.create(null) as Record<string, number>,
  directCalls: 0,
  directCallsWithContext: 0,
  contextKeys: Object.create(null) as Record<string, number>,
  aliases: [],
});

/** Own-key read on a string-keyed record: `__proto__` or `constructor` from an event stay plain keys. */
export const getEntry = <V>(record: Readonly<Record<string, V>>, key: string): V | undefined =>
  Object.prototype.hasOwnProperty.call(record, key) ? record[key] : undefined;

/**
 * Own-key write that cannot reach a prototype setter, whatever the key. `__proto__` is the only accessor on
 * Object.prototype, so every other key is a plain assignment (defining each property cost a fraction of the
 * engine's time on the learning path).
 */
export const putEntry = <V>(record: Record<string, V>, key: string, value: V): void => {
  if (key === '__proto__') Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
  else record[key] = value;
};
