import { DAY_MS } from '../engine-config.ts';
import type { PrincipalType } from '../events/types.ts';
import { MAX_RELATED_FINDINGS, type FindingPlace, type FindingRecord } from './finding.ts';

/**
 * How far apart in event time two findings of one principal may be and still name each other (the gap between
 * their first and last seen): a stolen role's new network in the morning and its mass decrypt at night are one story.
 */
export const PRINCIPAL_FINDINGS_WINDOW_MS = DAY_MS;

/** Findings one principal's entry remembers, the most recently seen: more than a day of one identity's findings. */
export const PRINCIPAL_FINDINGS_LIMIT = 50;

/**
 * The findings one principal raised lately, so that a finding raised in a later batch, Lambda invocation or replay
 * can name the ones before it (`FindingRecord.samePrincipal`). Kept under `principalFindingsKey`.
 */
export interface PrincipalFindings {
  readonly kind: 'principal-findings';
  /**
   * finding id → when it was first and last seen (event time), and its account ('' when unknown) and Region; at most
   * PRINCIPAL_FINDINGS_LIMIT.
   */
  findings: Record<string, Recorded>;
}

type Recorded = readonly [firstSeenMs: number, lastSeenMs: number, accountId: string, region: string];

/** A finding another one names: its id, and where it is. */
export interface NamedFinding extends FindingPlace {
  readonly id: string;
}

const namedOf = (f: FindingRecord): NamedFinding => ({ id: f.id, accountId: f.accountId, region: f.region });

export const principalFindingsKey = (principalId: string): string => `pfind#${principalId}`;

/**
 * The entry a finding of this principal belongs under, or undefined: an AWS service's calls and a caller the record
 * does not name are no one identity's story. The principal's `id` is its stable identity (an assumed role's ARN
 * with the session folded away), so a role's sessions share one entry.
 */
export const principalFindingsKeyOf = (principal: { readonly id: string; readonly type: PrincipalType }): string | undefined =>
  principal.type === 'AWSService' || principal.type === 'Unknown' || principal.id === '' ? undefined : principalFindingsKey(principal.id);

/** When event time makes an entry obsolete: a window after its newest finding was last seen (an empty one, at once). */
export const principalFindingsObsoleteAt = (entry: PrincipalFindings): number => {
  let newest = Number.NEGATIVE_INFINITY;
  for (const id in entry.findings) newest = Math.max(newest, (entry.findings[id] as Recorded)[1]);
  return Number.isFinite(newest) ? newest + PRINCIPAL_FINDINGS_WINDOW_MS : 0;
};

/**
 * Whether two findings were seen within a window of each other. A finding's span only grows as it is updated, so
 * two findings once near stay near: what they name does not depend on the order or the batches the events came in.
 */
const near = (a: Recorded, b: Recorded): boolean => a[0] - PRINCIPAL_FINDINGS_WINDOW_MS <= b[1] && b[0] - PRINCIPAL_FINDINGS_WINDOW_MS <= a[1];

/**
 * `f` naming `others` among the findings of its principal too, as a new record with a later `updatedAtMs` (Security
 * Hub keeps a re-import only then) when that changes what it names; `f` itself otherwise. The names are kept in the
 * order of their ids (by rule, then subject and window), the first MAX_RELATED_FINDINGS of them, so that they do not
 * depend on the order the findings came in: a replay of the same logs in another order names the same.
 */
export const withSamePrincipal = (f: FindingRecord, others: readonly NamedFinding[], nowMs: number): FindingRecord => {
  const before = f.samePrincipal ?? [];
  const all = new Set(before);
  const places = new Map<string, FindingPlace>();
  for (const o of others) {
    if (o.id === f.id || f.related?.includes(o.id) === true || all.has(o.id)) continue;
    all.add(o.id);
    places.set(o.id, o);
  }
  if (all.size === before.length) return f;
  const named = [...all].sort().slice(0, MAX_RELATED_FINDINGS);
  if (named.length === before.length && named.every((id, i) => id === before[i])) return f;
  const elsewhere = Object.create(null) as Record<string, FindingPlace>;
  for (const id of named) {
    const place = places.get(id) ?? f.samePrincipalElsewhere?.[id];
    if (place !== undefined && (place.accountId !== f.accountId || place.region !== f.region)) elsewhere[id] = { accountId: place.accountId, region: place.region };
  }
  const { samePrincipalElsewhere: _, ...rest } = f;
  return { ...rest, samePrincipal: named, ...(Object.keys(elsewhere).length > 0 ? { samePrincipalElsewhere: elsewhere } : {}), updatedAtMs: Math.max(nowMs, f.updatedAtMs + 1) };
};

export interface PrincipalFindingsUpdate {
  /** The batch's findings that now name findings of their principal they did not, by id. */
  readonly findings: ReadonlyMap<string, FindingRecord>;
  /** The entries the batch's findings changed, by state key; undefined for one left with no finding, to delete. */
  readonly entries: ReadonlyMap<string, PrincipalFindings | undefined>;
  /**
   * The findings of earlier batches near the batch's findings, each with those of the batch it is near: the shell
   * loads them and names those back (`withSamePrincipal`), so the first finding of a story leads to the rest.
   */
  readonly namedBack: ReadonlyMap<string, readonly NamedFinding[]>;
}

const recordedOf = (entry: PrincipalFindings | undefined): Record<string, Recorded> => {
  const out = Object.create(null) as Record<string, Recorded>;
  if (entry !== undefined) for (const id in entry.findings) out[id] = entry.findings[id] as Recorded;
  return out;
};

/** The PRINCIPAL_FINDINGS_LIMIT of `recorded` last seen most recently. */
const newestOf = (recorded: Record<string, Recorded>): Record<string, Recorded> => {
  const all = Object.entries(recorded);
  if (all.length <= PRINCIPAL_FINDINGS_LIMIT) return recorded;
  all.sort(([a, [, at]], [b, [, bt]]) => bt - at || (a < b ? -1 : a > b ? 1 : 0));
  const out = Object.create(null) as Record<string, Recorded>;
  for (const [id, seen] of all.slice(0, PRINCIPAL_FINDINGS_LIMIT)) out[id] = seen;
  return out;
};

/**
 * Relates a batch's findings (those created or updated now) to the other findings their principal raised within
 * PRINCIPAL_FINDINGS_WINDOW_MS of them, in this batch or before it (`stored`: the principals' entries as loaded).
 * Findings of this batch name each other here; `namedBack` says which earlier ones are to name them back. A
 * suppressed finding neither names nor is named: a suppression says it is expected. Findings another rule raised on
 * the same event are named by `related` already, and not again.
 */
export const relateByPrincipal = (
  batch: Iterable<FindingRecord>,
  stored: (key: string) => PrincipalFindings | undefined,
  nowMs: number,
): PrincipalFindingsUpdate => {
  const byKey = new Map<string, FindingRecord[]>();
  for (const f of batch) {
    const key = principalFindingsKeyOf(f.principal);
    if (key === undefined) continue;
    const group = byKey.get(key);
    if (group === undefined) byKey.set(key, [f]);
    else group.push(f);
  }
  const findings = new Map<string, FindingRecord>();
  const entries = new Map<string, PrincipalFindings | undefined>();
  const namedBack = new Map<string, NamedFinding[]>();
  for (const [key, group] of byKey) {
    const inBatch = new Set(group.map((f) => f.id));
    const recorded = recordedOf(stored(key));
    for (const f of group) {
      // One suppressed since it was recorded (a suppression added later) leaves the entry.
      if (f.suppressedBy !== undefined) {
        delete recorded[f.id];
        continue;
      }
      const before = recorded[f.id];
      recorded[f.id] = [Math.min(before?.[0] ?? f.firstSeenMs, f.firstSeenMs), Math.max(before?.[1] ?? f.lastSeenMs, f.lastSeenMs), f.accountId ?? '', f.region];
    }
    const known = Object.entries(recorded);
    for (const f of group) {
      if (f.suppressedBy !== undefined) continue;
      const seen = recorded[f.id] as Recorded;
      const others = known.filter(([id, at]) => id !== f.id && near(at, seen)).map(([id, at]): NamedFinding => ({ id, accountId: at[2] === '' ? undefined : at[2], region: at[3] }));
      const named = withSamePrincipal(f, others, nowMs);
      if (named !== f) findings.set(f.id, named);
      // Every earlier one it is near is offered its name, not only those it names: it may name the first
      // MAX_RELATED_FINDINGS alone, and they may have room for it.
      for (const { id } of others) {
        if (inBatch.has(id) || f.samePrincipal?.includes(id) === true) continue;
        const naming = namedBack.get(id);
        if (naming === undefined) namedBack.set(id, [namedOf(f)]);
        else naming.push(namedOf(f));
      }
    }
    entries.set(key, known.length > 0 ? { kind: 'principal-findings', findings: newestOf(recorded) } : undefined);
  }
  return { findings, entries, namedBack };
};
