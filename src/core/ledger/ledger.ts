/**
 * The decrypt ledger: who used which key, when, on which objects, from where. Built in the same engine pass
 * as detection, aggregated per batch (one row per day, key, principal, account, region, bucket, operation, path
 * and network) so a store writes far fewer rows than events. Pure: stores merge deltas with `mergeLedgerRow`.
 */

import { parseS3Arn } from '../events/s3-arn.ts';
import { memoized } from '../memoize.ts';
import { KMS_KEY_USE_OPERATION_SET } from '../events/kms-operations.ts';
import { reEncryptDestinationArnOf, unloggedWriteKeyOf } from '../events/normalize.ts';
import type { KmsCall, MonitorEvent, S3ObjectAccess, S3RequestSummary } from '../events/types.ts';
import type { Detection } from '../rules/define-rule.ts';
import { networkOf } from '../network.ts';

/** How the call reached KMS: made by S3 for an object request, by another AWS service, or by the caller itself. */
export type LedgerPath = 's3' | 'service' | 'direct';

/** Object keys and event ids kept per row as samples; distinct object counts beyond this are "at least". */
export const LEDGER_SAMPLE = 10;
export const LEDGER_DISTINCT_OBJECTS = 200;
const ACCESS_SAMPLE = 5;

export interface LedgerRow {
  readonly kind: 'ledger';
  /** UTC day, YYYY-MM-DD. */
  readonly day: string;
  /** Key ARN, or the alias / key id the caller named when no record revealed the ARN. */
  readonly key: string;
  /** The first alias a call named (filled in when a later call of the row names one). */
  keyAlias?: string;
  readonly principal: string;
  readonly principalType: string;
  /** Caller's account ('' when the record does not say). */
  readonly account: string;
  readonly region: string;
  /** '' for calls that are not about an S3 object. */
  readonly bucket: string;
  readonly operation: string;
  readonly path: LedgerPath;
  /**
   * A ReEncrypt's destination (`reEncryptDestinationOf`): the row is under the key it decrypted with, and lists under
   * this one too (`kdm history --key`). '' for every other call; absent in rows stored before it was kept.
   */
  readonly destinationKey?: string;
  /**
   * The network the call came through (`ledgerNetworkOf`): a VPC endpoint's id, `public`, or '' where the record says
   * neither. Part of the row's identity; absent in rows stored before it was kept (schema 5).
   */
  readonly network?: string;
  count: number;
  errors: number;
  firstSeenMs: number;
  lastSeenMs: number;
  /** Distinct object keys, up to LEDGER_DISTINCT_OBJECTS (then `objectsOverflow`). */
  objects: string[];
  objectsOverflow: boolean;
  eventIds: string[];
  /** Detections raised on calls of this row. */
  findings: number;
}

/**
 * One object opened through a key (where correlation or the encryption context names it), per day, principal and
 * network.
 */
export interface ObjectAccess {
  readonly kind: 'object-access';
  readonly day: string;
  readonly key: string;
  readonly principal: string;
  readonly bucket: string;
  readonly objectKey: string;
  readonly operation: string;
  /**
   * The network the object was opened through, as its ledger row's (`ledgerNetworkOf`; for a write known from its
   * data event alone, that event's). Part of the access's identity; absent in accesses stored before schema 5.
   */
  readonly network?: string;
  count: number;
  firstSeenMs: number;
  lastSeenMs: number;
  sourceIps: string[];
  sessions: string[];
  eventIds: string[];
  /**
   * How the call was tied to its S3 request: object, bucket (Bucket Keys), none (context only); or `data-event`, a
   * write whose KMS call this trail never records (`unloggedWriteKeyOf`), known from its data event alone. A replay
   * that also holds the writer's trail sees that call after all: matched to the write, it makes the access `object`.
   */
  correlation: string;
}

export interface LedgerDelta {
  readonly rows: readonly LedgerRow[];
  readonly accesses: readonly ObjectAccess[];
}

/**
 * The rows and object accesses of `day` (YYYY-MM-DD) and later, and how many of each were earlier: what a database
 * whose history before that day `kdm prune` removed keeps of a late file's calls.
 */
export const ledgerFromDay = (delta: LedgerDelta, day: string): { readonly kept: LedgerDelta; readonly earlierRows: number; readonly earlierAccesses: number } => {
  const rows = delta.rows.filter((r) => r.day >= day);
  const accesses = delta.accesses.filter((a) => a.day >= day);
  return { kept: { rows, accesses }, earlierRows: delta.rows.length - rows.length, earlierAccesses: delta.accesses.length - accesses.length };
};

const DAY_MS = 86_400_000;
const dayName = memoized((day: number) => new Date(day * DAY_MS).toISOString().slice(0, 10));
/** The UTC day of an epoch-ms time, YYYY-MM-DD (remembered per day: every ledger call asks). */
export const dayOf = (ms: number): string => dayName(Math.floor(ms / DAY_MS));

const pathOf = (e: KmsCall): LedgerPath => (e.madeByS3 ? 's3' : e.madeByAwsService ? 'service' : 'direct');

const NO_OBJECT: { readonly bucket: string; readonly objectKey?: string | undefined } = Object.freeze({ bucket: '' });

/** Where the call touched S3: the S3 request when matched, else the `aws:s3:arn` context (read, not copied: every call asks). */
const objectOf = (e: KmsCall): { readonly bucket: string; readonly objectKey?: string | undefined } =>
  e.s3Request ?? (e.s3Arn !== undefined ? parseS3Arn(e.s3Arn) : NO_OBJECT);

const keyOf = (e: KmsCall): string => e.keyArn ?? e.keyAlias ?? e.keyIdParameter ?? 'unknown';

/** A ReEncrypt's destination key: its ARN where the record gives it (`reEncryptDestinationArnOf`), else as named; '' for other calls. */
export const reEncryptDestinationOf = (e: KmsCall): string =>
  e.eventName === 'ReEncrypt' ? (reEncryptDestinationArnOf(e) ?? e.request.destinationKeyId ?? '') : '';

/**
 * The network a ledger row counts a call under: for a call S3 made, that of the S3 request behind it when correlation
 * matched one (a presigned URL's too: the object left through that network, whoever signed the URL), else ''; for
 * any other call its own (`networkOf`): its VPC endpoint's id, `public` from a public address, or '' where the record
 * says neither (an AWS service's own call, a private address without the endpoint's id).
 */
export const ledgerNetworkOf = (e: KmsCall): string => (e.madeByS3 ? (e.s3Request === undefined ? undefined : networkOf(e.s3Request)) : networkOf(e)) ?? '';

const fieldsOf = (e: KmsCall) => {
  const where = objectOf(e);
  return {
    day: dayOf(e.eventTimeMs),
    key: keyOf(e),
    principal: e.principal.id,
    account: e.principal.accountId ?? '',
    region: e.region,
    bucket: where.bucket,
    operation: e.eventName,
    path: pathOf(e),
    destinationKey: reEncryptDestinationOf(e),
    network: ledgerNetworkOf(e),
    objectKey: where.objectKey,
  };
};

/**
 * Stable identity of a row (its store key): the parts as a JSON array, so no field value can forge another row's id.
 * A ReEncrypt's destination and the network come last, and only when there is one: a row with neither keeps the id
 * it had before either was kept, and one with a destination alone the id it had before the network was. A network
 * comes after a destination, '' when there is none, so that the two never stand in each other's place.
 */
export const ledgerRowId = (r: Pick<LedgerRow, 'day' | 'key' | 'principal' | 'account' | 'region' | 'bucket' | 'operation' | 'path' | 'destinationKey' | 'network'>): string => {
  const parts = [r.key, r.principal, r.account, r.region, r.bucket, r.operation, r.path];
  const destination = r.destinationKey ?? '';
  const network = r.network ?? '';
  if (destination !== '' || network !== '') parts.push(destination);
  if (network !== '') parts.push(network);
  return `ledger#${r.day}#${JSON.stringify(parts)}`;
};

/** Stable identity of an object access, as `ledgerRowId`'s: its network comes last, and only when there is one. */
export const objectAccessId = (a: Pick<ObjectAccess, 'day' | 'key' | 'principal' | 'bucket' | 'objectKey' | 'operation' | 'network'>): string => {
  const parts = [a.key, a.principal, a.bucket, a.objectKey, a.operation];
  if (a.network !== undefined && a.network !== '') parts.push(a.network);
  return `access#${a.day}#${JSON.stringify(parts)}`;
};

/**
 * A new sample list holding `value`, if any. A list made as `[value]` holds one slot; one made empty and pushed to
 * reserves 17 (V8's first growth), and an object access outlives the young generation with its three lists (see
 * `LedgerAccumulator.#addCall`).
 */
const sampleOf = (value: string | undefined): string[] => (value !== undefined ? [value] : []);

const pushCapped = (list: string[], value: string | undefined, cap: number): void => {
  if (value !== undefined && list.length < cap && !list.includes(value)) list.push(value);
};

/** Whether a KMS call belongs in the ledger: a use of the key's material (Decrypt, GenerateDataKey, Sign, ...). */
export const isLedgerCall = (e: MonitorEvent): e is KmsCall => e.kind === 'kms' && KMS_KEY_USE_OPERATION_SET.has(e.eventName);

/**
 * Whether a KMS call's S3 request was counted already from its data event (`#addUnloggedWrite`): a replay holding
 * both the bucket owner's trail and the writer's sees the owner's copy of the write (which `unloggedWriteKeyOf`
 * counts, the KMS call being in other trails as far as that copy can tell), then the KMS call S3 made in the
 * writer's. The call then counts on that same access (the same key, and the data event's day, should the two fall
 * either side of midnight) without counting the write again. A data event that named only an alias or a key id
 * (the response names the ARN when S3 logs it) stays an access of its own, and the call counts on another.
 */
const countedFromDataEvent = (request: S3RequestSummary | undefined, f: ReturnType<typeof fieldsOf>): request is S3RequestSummary =>
  request?.unloggedWriteKey !== undefined && request.unloggedWriteKey === f.key;

/** An access's correlation once another event counts on it: a KMS call's, where the data event's alone said `data-event`. */
const correlationOnMerge = (prior: string, next: string): string => (prior === 'data-event' ? next : prior);

/**
 * Values under a path of strings, one small map per level: finding a call's row takes a lookup per part of its
 * identity, on strings the batch shares (their hashes are kept), where building its id (`ledgerRowId`) and
 * hashing that long string for every call cost most of the ledger's time.
 */
export class PathMap<V> {
  readonly #root = new Map<string, unknown>();

  get(path: readonly string[]): V | undefined {
    let level: Map<string, unknown> | undefined = this.#root;
    for (let i = 0; i < path.length - 1 && level !== undefined; i++) level = level.get(path[i] as string) as Map<string, unknown> | undefined;
    return level?.get(path[path.length - 1] as string) as V | undefined;
  }

  set(path: readonly string[], value: V): void {
    let level = this.#root;
    for (let i = 0; i < path.length - 1; i++) {
      const part = path[i] as string;
      let next = level.get(part) as Map<string, unknown> | undefined;
      if (next === undefined) level.set(part, (next = new Map()));
      level = next;
    }
    level.set(path[path.length - 1] as string, value);
  }

  /** Removes every value whose path starts with `first`. */
  deleteUnder(first: string): void {
    this.#root.delete(first);
  }

  clear(): void {
    this.#root.clear();
  }
}

/**
 * The parts of a row's identity, in `ledgerRowId`'s order (the day first), written into `into`: the accumulator
 * reuses one array for every call's lookup (a PathMap keeps the parts, never the array). A ReEncrypt's destination
 * joins its operation's part (after a NUL, which no operation name holds) rather than taking a level of its own that
 * every call would look up.
 */
const rowPath = (f: ReturnType<typeof fieldsOf>, into: string[]): string[] => {
  into[0] = f.day;
  into[1] = f.key;
  into[2] = f.principal;
  into[3] = f.account;
  into[4] = f.region;
  into[5] = f.bucket;
  into[6] = f.destinationKey === '' ? f.operation : `${f.operation}\u0000${f.destinationKey}`;
  into[7] = f.path;
  into[8] = f.network;
  return into;
};

/**
 * The parts of an object access's identity, written into `into` as `rowPath` does: `objectAccessId`'s, but the
 * operation and the network before the object key. Nearly every access names an object no other access of the run
 * names, and with the object key last it becomes an entry in its network's map, where earlier it made a map of its
 * own (with one entry) for every access, all held until the accumulator is drained.
 */
const accessPath = (f: ReturnType<typeof fieldsOf>, objectKey: string, operation: string, into: string[]): string[] => {
  into[0] = f.day;
  into[1] = f.key;
  into[2] = f.principal;
  into[3] = f.bucket;
  into[4] = operation;
  into[5] = f.network;
  into[6] = objectKey;
  return into;
};

/**
 * Aggregates KMS calls into ledger rows and object accesses, batch after batch: a row that batches repeat (the
 * same day, key, principal, ...) stays one row until drained. `ledgerOf` uses one per batch; the replay keeps
 * one for the run, so its database receives each row once per drain instead of once per batch.
 */
export class LedgerAccumulator {
  /** Rows and accesses in the order they were first seen (the order `drain` hands them over). */
  #rowList: LedgerRow[] = [];
  #accessList: ObjectAccess[] = [];
  readonly #rows = new PathMap<LedgerRow>();
  readonly #accesses = new PathMap<ObjectAccess>();
  /** Each row's `objects` as a set, so a row holding hundreds of them is not scanned on every call. */
  readonly #objectSets = new Map<LedgerRow, Set<string>>();
  /** The paths of the call being counted (see `rowPath`). */
  readonly #rowPath: string[] = new Array<string>(9).fill('');
  readonly #accessPath: string[] = new Array<string>(7).fill('');
  /** The latest day a call was counted on (YYYY-MM-DD, so later is greater), over the accumulator's life. */
  #newestDay = '';
  /** Object accesses held, by day. */
  readonly #accessesByDay = new Map<string, number>();

  /** Rows and accesses held (what a drain would hand over). */
  get size(): number {
    return this.#rowList.length + this.#accessList.length;
  }

  /**
   * Adds one batch: `direct` are the accepted KMS calls not made by S3 (decided at once), `decided` the S3-made
   * calls decided in this batch (with their S3 request when matched), `detections` the batch's detections
   * (counted on the rows of this batch's calls).
   */
  add(direct: readonly MonitorEvent[], decided: readonly KmsCall[], detections: readonly Detection[]): void {
    const touched = new Set<LedgerRow>();
    for (const e of direct) {
      if (isLedgerCall(e)) {
        if (!e.madeByS3) touched.add(this.#addCall(e));
      } else if (e.kind === 's3' && e.recipientAccountId !== e.principal.accountId) {
        const key = unloggedWriteKeyOf(e);
        if (key !== undefined) this.#addUnloggedWrite(e, key);
      }
    }
    for (const e of decided) if (isLedgerCall(e)) touched.add(this.#addCall(e));
    for (const d of detections) {
      if (!isLedgerCall(d.event)) continue;
      const row = this.#rows.get(rowPath(fieldsOf(d.event), this.#rowPath));
      if (row !== undefined && touched.has(row)) row.findings++;
    }
  }

  /** Hands over everything held, and starts empty. */
  drain(): LedgerDelta {
    const delta = { rows: this.#rowList, accesses: this.#accessList };
    this.#rowList = [];
    this.#accessList = [];
    this.#rows.clear();
    this.#accesses.clear();
    this.#objectSets.clear();
    this.#accessesByDay.clear();
    return delta;
  }

  /**
   * What a write in the middle of a run hands over.
   *
   * Object accesses: those of the days before the latest day a call was counted on, whose accesses are then all
   * here (but a late call's); the current day's only once `holdUpTo` of them are held, and then all of them.
   * A store merges each access it receives with the one it holds of the same identity, and finding those took a
   * third of a 1M-record replay's ledger writes (540 of 1,660 ms), for the accesses of a day that two writes had
   * split: handed over a day at a time, an access reaches the store once. `holdUpTo` bounds what a day holds.
   *
   * Ledger rows: only once they are at least half of what is held (then everything is handed over); until then
   * they stay and keep aggregating (a drain at a checkpoint, or at the end, takes them). Rows are few, one a day,
   * key, principal, account, region, bucket, operation, path and network, but wide (up to LEDGER_DISTINCT_OBJECTS
   * object keys each), and a store merges every row it receives with the one it holds, so handing the same rows
   * over at every write rewrote them for nothing.
   */
  drainForWrite(holdUpTo = 0): LedgerDelta {
    if (this.#rowList.length * 2 >= this.size) return this.drain();
    let over = 0;
    for (const [day, accesses] of this.#accessesByDay) if (day < this.#newestDay) over += accesses;
    const current = this.#accessList.length - over;
    if (current === 0 || current >= holdUpTo) {
      const delta = { rows: [], accesses: this.#accessList };
      this.#accessList = [];
      this.#accesses.clear();
      this.#accessesByDay.clear();
      return delta;
    }
    if (over === 0) return { rows: [], accesses: [] };
    const handed: ObjectAccess[] = [];
    const kept: ObjectAccess[] = [];
    for (const a of this.#accessList) (a.day < this.#newestDay ? handed : kept).push(a);
    // Deleting the entry being visited is safe in a Map's iteration.
    for (const day of this.#accessesByDay.keys()) {
      if (day >= this.#newestDay) continue;
      this.#accesses.deleteUnder(day);
      this.#accessesByDay.delete(day);
    }
    this.#accessList = kept;
    return { rows: [], accesses: handed };
  }

  /** Counts one call on its row (and its object access); returns the row. */
  #addCall(e: KmsCall): LedgerRow {
    const f = fieldsOf(e);
    if (f.day > this.#newestDay) this.#newestDay = f.day;
    const path = rowPath(f, this.#rowPath);
    let row = this.#rows.get(path);
    if (row === undefined) {
      row = {
        kind: 'ledger', day: f.day, key: f.key, principal: f.principal, principalType: e.principal.type, account: f.account, region: f.region,
        bucket: f.bucket, operation: f.operation, path: f.path, destinationKey: f.destinationKey, network: f.network, count: 0, errors: 0, firstSeenMs: e.eventTimeMs, lastSeenMs: e.eventTimeMs,
        objects: [], objectsOverflow: false, eventIds: [], findings: 0,
      };
      this.#rows.set(path, row);
      this.#rowList.push(row);
    }
    if (row.keyAlias === undefined && e.keyAlias !== undefined) row.keyAlias = e.keyAlias;
    row.count++;
    if (e.errorCode !== undefined) row.errors++;
    row.firstSeenMs = Math.min(row.firstSeenMs, e.eventTimeMs);
    row.lastSeenMs = Math.max(row.lastSeenMs, e.eventTimeMs);
    if (f.objectKey !== undefined && !row.objectsOverflow) {
      let objects = this.#objectSets.get(row);
      if (objects === undefined) this.#objectSets.set(row, (objects = new Set()));
      if (!objects.has(f.objectKey)) {
        if (row.objects.length < LEDGER_DISTINCT_OBJECTS) {
          row.objects.push(f.objectKey);
          objects.add(f.objectKey);
        } else row.objectsOverflow = true;
      }
    }
    pushCapped(row.eventIds, e.eventId, LEDGER_SAMPLE);
    if (f.objectKey === undefined || e.errorCode !== undefined) return row;
    const request = e.s3Request;
    const operation = request?.operation ?? e.eventName;
    const sourceIp = request?.sourceIp ?? (e.madeByS3 ? undefined : e.sourceIp);
    const access = accessPath(f, f.objectKey, operation, this.#accessPath);
    const counted = countedFromDataEvent(request, f);
    if (counted) access[0] = dayOf(request.eventTimeMs); // the access the data event made
    this.#countAccess(access, e, sourceIp, e.correlation ?? 'none', counted ? 0 : 1);
    return row;
  }

  /** Counts a write known from its data event alone (`unloggedWriteKeyOf`) as an object access: no row counts it. */
  #addUnloggedWrite(e: S3ObjectAccess, key: string): void {
    const day = dayOf(e.eventTimeMs);
    if (day > this.#newestDay) this.#newestDay = day;
    const path = this.#accessPath;
    path[0] = day;
    path[1] = key;
    path[2] = e.principal.id;
    path[3] = e.bucket;
    path[4] = e.eventName;
    path[5] = networkOf(e) ?? '';
    path[6] = e.objectKey ?? '';
    this.#countAccess(path, e, e.sourceIp, 'data-event', 1);
  }

  /**
   * Counts one event on the object access at `path` (`accessPath`'s parts), making it the first time; `requests` is
   * 0 for a KMS call whose S3 request its data event counted already (`countedFromDataEvent`).
   */
  #countAccess(path: readonly string[], e: MonitorEvent, sourceIp: string | undefined, correlation: string, requests: 0 | 1): void {
    const a = this.#accesses.get(path);
    if (a === undefined) {
      const [day = '', key = '', principal = '', bucket = '', operation = '', network = '', objectKey = ''] = path;
      // Built whole, its samples as lists of one: it lives until the accumulator is drained.
      const created: ObjectAccess = {
        kind: 'object-access', day, key, principal, bucket, objectKey, operation, network,
        count: requests, firstSeenMs: e.eventTimeMs, lastSeenMs: e.eventTimeMs, sourceIps: sampleOf(sourceIp), sessions: sampleOf(e.principal.sessionName), eventIds: sampleOf(e.eventId), correlation,
      };
      this.#accesses.set(path, created);
      this.#accessList.push(created);
      this.#accessesByDay.set(day, (this.#accessesByDay.get(day) ?? 0) + 1);
      return;
    }
    a.count += requests;
    a.correlation = correlationOnMerge(a.correlation, correlation);
    a.firstSeenMs = Math.min(a.firstSeenMs, e.eventTimeMs);
    a.lastSeenMs = Math.max(a.lastSeenMs, e.eventTimeMs);
    pushCapped(a.sourceIps, sourceIp, ACCESS_SAMPLE);
    pushCapped(a.sessions, e.principal.sessionName, ACCESS_SAMPLE);
    pushCapped(a.eventIds, e.eventId, ACCESS_SAMPLE);
  }
}

/** One batch's ledger (see `LedgerAccumulator.add`). */
export const ledgerOf = (direct: readonly MonitorEvent[], decided: readonly KmsCall[], detections: readonly Detection[]): LedgerDelta => {
  const accumulator = new LedgerAccumulator();
  accumulator.add(direct, decided, detections);
  return accumulator.drain();
};

/** Adds a batch's row to what the store holds (either may be absent). */
export const mergeLedgerRow = (prior: LedgerRow | undefined, delta: LedgerRow): LedgerRow => {
  if (prior === undefined) return delta;
  const objects = [...prior.objects];
  let overflow = prior.objectsOverflow || delta.objectsOverflow;
  for (const o of delta.objects) {
    if (objects.includes(o)) continue;
    if (objects.length < LEDGER_DISTINCT_OBJECTS) objects.push(o);
    else overflow = true;
  }
  const eventIds = [...prior.eventIds];
  for (const id of delta.eventIds) pushCapped(eventIds, id, LEDGER_SAMPLE);
  return {
    ...prior,
    ...(prior.keyAlias === undefined && delta.keyAlias !== undefined ? { keyAlias: delta.keyAlias } : {}),
    count: prior.count + delta.count,
    errors: prior.errors + delta.errors,
    firstSeenMs: Math.min(prior.firstSeenMs, delta.firstSeenMs),
    lastSeenMs: Math.max(prior.lastSeenMs, delta.lastSeenMs),
    objects,
    objectsOverflow: overflow,
    eventIds,
    findings: prior.findings + delta.findings,
  };
};

export const mergeObjectAccess = (prior: ObjectAccess | undefined, delta: ObjectAccess): ObjectAccess => {
  if (prior === undefined) return delta;
  const merged: ObjectAccess = { ...prior, correlation: correlationOnMerge(prior.correlation, delta.correlation), count: prior.count + delta.count, firstSeenMs: Math.min(prior.firstSeenMs, delta.firstSeenMs), lastSeenMs: Math.max(prior.lastSeenMs, delta.lastSeenMs), sourceIps: [...prior.sourceIps], sessions: [...prior.sessions], eventIds: [...prior.eventIds] };
  for (const ip of delta.sourceIps) pushCapped(merged.sourceIps, ip, ACCESS_SAMPLE);
  for (const s of delta.sessions) pushCapped(merged.sessions, s, ACCESS_SAMPLE);
  for (const id of delta.eventIds) pushCapped(merged.eventIds, id, ACCESS_SAMPLE);
  return merged;
};

/** Rows and accesses of one or more deltas, one entry per id: those of the same id merged as a store merges them. */
export interface MergedLedger {
  readonly rows: Map<string, LedgerRow>;
  readonly accesses: Map<string, ObjectAccess>;
}

export const mergeById = (delta: LedgerDelta): MergedLedger => {
  const rows = new Map<string, LedgerRow>();
  for (const r of delta.rows) {
    const id = ledgerRowId(r);
    rows.set(id, mergeLedgerRow(rows.get(id), r));
  }
  const accesses = new Map<string, ObjectAccess>();
  for (const a of delta.accesses) {
    const id = objectAccessId(a);
    accesses.set(id, mergeObjectAccess(accesses.get(id), a));
  }
  return { rows, accesses };
};
