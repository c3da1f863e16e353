/**
 * Engine state, as entries under string keys so any store (memory, DynamoDB, a local database) can hold it.
 * The core never does IO: the shell loads the entries a batch needs (`planStateKeys`), the core works on a
 * `WorkingState`, and the shell saves what changed.
 */

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
  /** `principal|region` → first seen. */
  principalRegions: Record<string, number>;
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
}

/** Alias → key ARN mapping learned from records that name both. */
export interface AliasEntry {
  readonly kind: 'alias';
  keyArn: string;
}

/** What one principal normally does across keys: where it calls KMS from, and its peak window rates. */
export interface PrincipalBaseline {
  readonly kind: 'principal-baseline';
  firstSeenMs: number;
  lastSeenMs: number;
  /** region → first seen. */
  regions: Record<string, number>;
  /** rule id → highest count the principal reached in one of that rule's windows while learning. */
  peaks: Record<string, number>;
}

export type StateEntry = SeenEntry | KeyBaseline | PrincipalBaseline | WindowCounter | AliasEntry;

export const stateKey = {
  seen: (dedupeKey: string) => `seen#${dedupeKey}`,
  /** Multi-Region replicas share one baseline: their ARNs differ only by region. */
  keyBaseline: (keyArn: string) => `key#${keyFamilyOf(keyArn)}`,
  principalBaseline: (principalId: string) => `principal#${principalId}`,
  window: (ruleId: string, group: string, startMs: number) => `win#${ruleId}#${startMs}#${group}`,
  alias: (accountId: string, alias: string) => `alias#${accountId}#${alias}`,
} as const;

/** `arn:aws:kms:<region>:<acct>:key/mrk-…` → the same ARN with `*` for region; other keys unchanged. */
export const keyFamilyOf = (keyArn: string): string => {
  const parts = keyArn.split(':');
  return parts.length >= 6 && (parts[5] ?? '').startsWith('key/mrk-') ? [...parts.slice(0, 3), '*', ...parts.slice(4)].join(':') : keyArn;
};

/** The state a batch works on: entries loaded by the shell, with writes tracked for saving. */
export interface WorkingState {
  get(key: string): StateEntry | undefined;
  set(key: string, entry: StateEntry): void;
  /** Entries written during evaluation, to be saved by the shell. */
  changes(): ReadonlyMap<string, StateEntry>;
}

export const createWorkingState = (loaded: ReadonlyMap<string, StateEntry>): WorkingState => {
  const local = new Map<string, StateEntry>();
  const dirty = new Map<string, StateEntry>();
  return {
    get: (key) => local.get(key) ?? loaded.get(key),
    set: (key, entry) => {
      local.set(key, entry);
      dirty.set(key, entry);
    },
    changes: () => dirty,
  };
};

export const newPrincipalBaseline = (eventTimeMs: number): PrincipalBaseline => ({
  kind: 'principal-baseline',
  firstSeenMs: eventTimeMs,
  lastSeenMs: eventTimeMs,
  regions: Object.create(null) as Record<string, number>,
  peaks: Object.create(null) as Record<string, number>,
});

export const newKeyBaseline = (eventTimeMs: number): KeyBaseline => ({
  kind: 'key-baseline',
  firstSeenMs: eventTimeMs,
  lastSeenMs: eventTimeMs,
  principals: Object.create(null) as Record<string, number>,
  regions: Object.create(null) as Record<string, number>,
  accounts: Object.create(null) as Record<string, number>,
  principalRegions: Object.create(null) as Record<string, number>,
  directCalls: 0,
  directCallsWithContext: 0,
  contextKeys: Object.create(null) as Record<string, number>,
  aliases: [],
});

/** Own-key read on a string-keyed record: `__proto__` or `constructor` from an event stay plain keys. */
export const hasEntry = (record: Readonly<Record<string, unknown>>, key: string): boolean =>
  Object.prototype.hasOwnProperty.call(record, key);

export const getEntry = <V>(record: Readonly<Record<string, V>>, key: string): V | undefined =>
  Object.prototype.hasOwnProperty.call(record, key) ? record[key] : undefined;

/** Own-key write that cannot reach a prototype setter, whatever the key. */
export const putEntry = <V>(record: Record<string, V>, key: string, value: V): void => {
  Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
};
