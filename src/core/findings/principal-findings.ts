import { compact } from '../events/fields.ts';
import { DAY_MS } from '../engine-config.ts';
import type { PrincipalType } from '../events/types.ts';
import type { PrincipalStory, Rule, RuleSettings, StoryFinding, StoryVerdict } from '../rules/define-rule.ts';
import { findingIdFor, MAX_RELATED_FINDINGS, ruleIdOfFindingId, type FindingPlace, type FindingRecord } from './finding.ts';

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
   * finding id → when it was first and last seen (event time), its account ('' when unknown), Region and count of
   * events; at most PRINCIPAL_FINDINGS_LIMIT.
   */
  findings: Record<string, Recorded>;
}

/** An entry written before a finding's count was kept holds four; its findings count one event each. */
type Recorded = readonly [firstSeenMs: number, lastSeenMs: number, accountId: string, region: string, eventCount?: number];

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

/** Which findings a finding names before the others of its principal (`withSamePrincipal`): none, by default. */
export type LeadingFinding = (id: string) => boolean;
const NONE_LEADING: LeadingFinding = () => false;

/** The order names are kept in: those `leading` says first, then by id (by rule, then subject and window). */
const namingOrder =
  (leading: LeadingFinding) =>
  (a: string, b: string): number => {
    const first = Number(leading(b)) - Number(leading(a));
    return first !== 0 ? first : a < b ? -1 : a > b ? 1 : 0;
  };

/**
 * `f` naming `others` among the findings of its principal too, as a new record with a later `updatedAtMs` (Security
 * Hub keeps a re-import only then) when that changes what it names; `f` itself otherwise. The names are kept in order,
 * those `leading` says first (the principal's stories, which tell the rest) and then by id, the first
 * MAX_RELATED_FINDINGS of them, so that they do not depend on the order the findings came in: a replay of the same
 * logs in another order names the same.
 */
export const withSamePrincipal = (f: FindingRecord, others: readonly NamedFinding[], nowMs: number, leading: LeadingFinding = NONE_LEADING): FindingRecord => {
  const before = f.samePrincipal ?? [];
  const all = new Set(before);
  const places = new Map<string, FindingPlace>();
  for (const o of others) {
    if (o.id === f.id || f.related?.includes(o.id) === true || all.has(o.id)) continue;
    all.add(o.id);
    places.set(o.id, o);
  }
  if (all.size === before.length) return f;
  const named = [...all].sort(namingOrder(leading)).slice(0, MAX_RELATED_FINDINGS);
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

/**
 * A principal's recorded findings with `group` (a batch's findings of that principal) merged in: each one's span grown
 * to hold what the entry had, and one suppressed since it was recorded (a suppression added later) taken out.
 */
const recordedWith = (entry: PrincipalFindings | undefined, group: readonly FindingRecord[]): Record<string, Recorded> => {
  const recorded = Object.create(null) as Record<string, Recorded>;
  if (entry !== undefined) for (const id in entry.findings) recorded[id] = entry.findings[id] as Recorded;
  for (const f of group) {
    if (f.suppressedBy !== undefined) {
      delete recorded[f.id];
      continue;
    }
    const before = recorded[f.id];
    recorded[f.id] = [Math.min(before?.[0] ?? f.firstSeenMs, f.firstSeenMs), Math.max(before?.[1] ?? f.lastSeenMs, f.lastSeenMs), f.accountId ?? '', f.region, Math.max(before?.[4] ?? 1, f.eventCount)];
  }
  return recorded;
};

/** A batch's findings by the entry their principal's findings are kept under; those of no one identity left out. */
const byPrincipalKey = (batch: Iterable<FindingRecord>): Map<string, FindingRecord[]> => {
  const byKey = new Map<string, FindingRecord[]>();
  for (const f of batch) {
    const key = principalFindingsKeyOf(f.principal);
    if (key === undefined) continue;
    const group = byKey.get(key);
    if (group === undefined) byKey.set(key, [f]);
    else group.push(f);
  }
  return byKey;
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
  leading: LeadingFinding = NONE_LEADING,
): PrincipalFindingsUpdate => {
  const findings = new Map<string, FindingRecord>();
  const entries = new Map<string, PrincipalFindings | undefined>();
  const namedBack = new Map<string, NamedFinding[]>();
  for (const [key, group] of byPrincipalKey(batch)) {
    const inBatch = new Set(group.map((f) => f.id));
    const recorded = recordedWith(stored(key), group);
    const known = Object.entries(recorded);
    for (const f of group) {
      if (f.suppressedBy !== undefined) continue;
      const seen = recorded[f.id] as Recorded;
      const others = known.filter(([id, at]) => id !== f.id && near(at, seen)).map(([id, at]): NamedFinding => ({ id, accountId: at[2] === '' ? undefined : at[2], region: at[3] }));
      const named = withSamePrincipal(f, others, nowMs, leading);
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

/**
 * Windows of a story one finding may be judged in, at most. A finding's span lies within its rule's aggregation
 * window (a day by default): 24 stories of an hour. The bound keeps a configuration of minute-long stories over
 * month-long findings from judging tens of thousands a finding.
 */
export const MAX_STORY_WINDOWS = 1_000;

/** A principal's story to judge, with the principal as its findings name it (`findingOfStory`). */
export interface StoryToJudge {
  readonly story: PrincipalStory;
  /** The parts of a finding's principal that do not change from one of its sessions or keys to the next. */
  readonly principal: Pick<FindingRecord['principal'], 'id' | 'type' | 'accountId'>;
}

/**
 * The starts of the windows of `windowMs` beginning at `offsetMs` past a multiple of it that a span seen from
 * `firstMs` to `lastMs` meets, at most MAX_STORY_WINDOWS of them, into `into`.
 */
const windowsMet = (firstMs: number, lastMs: number, windowMs: number, offsetMs: number, into: Set<number>): void => {
  const first = Math.floor((firstMs - offsetMs) / windowMs);
  const last = Math.min(Math.floor((lastMs - offsetMs) / windowMs), first + MAX_STORY_WINDOWS - 1);
  for (let w = first; w <= last; w++) into.add(w * windowMs + offsetMs);
};

/**
 * Whether a story's findings join across `middleMs`: one seen before it and another seen at or after it. Once true it
 * stays true as findings are added and their spans grow, so whether a shifted window is a story does not depend on
 * the order its findings came in. One finding seen on both sides is not a join: the aligned windows tell it.
 */
const joinsAcross = (findings: readonly StoryFinding[], middleMs: number): boolean => {
  const before = findings.filter((f) => f.firstSeenMs < middleMs);
  const after = findings.filter((f) => f.lastSeenMs >= middleMs);
  return before.length > 0 && after.length > 0 && !(before.length === 1 && after.length === 1 && before[0] === after[0]);
};

/**
 * The stories of a batch's principals that a rule over findings judges: for each window of `windowMs` that a batch's
 * finding was seen in, the principal's findings seen in that window, from the batch and from its entry (`stored`), but
 * those of `skipRules` (the rules over findings themselves) and suppressed ones. The windows are aligned as a
 * finding's aggregation window is (UTC days, by default), and shifted by half of one (noon to noon): a shifted one
 * is a story only when two of its findings join across its middle (`joinsAcross`), so that a night's findings from
 * 22:00 to 02:00 are one story, and an afternoon's are not told twice (a day whose findings join the night after it
 * is: as the day, and noon to noon with what the night adds). What a story holds depends only on the findings, not
 * on the batches they came in: each batch judges the stories it adds to, over everything recorded so far.
 */
export const storiesOf = (
  batch: Iterable<FindingRecord>,
  stored: (key: string) => PrincipalFindings | undefined,
  windowMs: number,
  skipRules: ReadonlySet<string>,
): StoryToJudge[] => {
  const out: StoryToJudge[] = [];
  const halfMs = Math.floor(windowMs / 2);
  for (const [key, group] of byPrincipalKey(batch)) {
    const recorded = recordedWith(stored(key), group);
    const known = Object.entries(recorded).filter(([id]) => !skipRules.has(ruleIdOfFindingId(id)));
    const aligned = new Set<number>();
    const shifted = new Set<number>();
    for (const f of group) {
      const seen = recorded[f.id];
      if (seen === undefined || skipRules.has(f.ruleId)) continue;
      windowsMet(seen[0], seen[1], windowMs, 0, aligned);
      windowsMet(seen[0], seen[1], windowMs, halfMs, shifted);
    }
    const { id, type, accountId } = (group[0] as FindingRecord).principal;
    const principal = compact({ id, type, accountId });
    const storyFrom = (startMs: number): StoryToJudge => {
      const findings: StoryFinding[] = known
        .filter(([, at]) => at[0] < startMs + windowMs && at[1] >= startMs)
        .map(([findingId, at]) => compact({ id: findingId, ruleId: ruleIdOfFindingId(findingId), firstSeenMs: at[0], lastSeenMs: at[1], eventCount: at[4] ?? 1, accountId: at[2] === '' ? undefined : at[2], region: at[3] }))
        .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      return { story: { principal: { id }, windowStartMs: startMs, windowMs, findings }, principal };
    };
    for (const startMs of aligned) out.push(storyFrom(startMs));
    for (const startMs of shifted) {
      const told = storyFrom(startMs);
      if (joinsAcross(told.story.findings, startMs + halfMs)) out.push(told);
    }
  }
  return out;
};

/** The id of a rule over findings' finding on a story: one a principal and window, as `findingIdOf` makes ids. */
export const storyFindingId = (ruleId: string, story: PrincipalStory): string => findingIdFor(ruleId, story.principal.id, story.windowStartMs);

/**
 * A rule over findings' finding on a story it judged unusual, new or `existing` brought up to the story (its reason,
 * span, count and place, with a later `updatedAtMs`), or `existing` itself when the story says nothing new. It is
 * about the principal: the findings it names tell of keys, objects, calls and networks. It is of the account of the
 * story's first finding (first seen, then first id), and of `homeRegion` (the configuration's), or without one of that
 * finding's Region. Its `eventCount` is the events of the findings it gathers; it keeps no event ids of its own. So
 * what it holds depends on the story alone, not on the order its findings came in.
 */
export const findingOfStory = (judged: JudgedStory, existing: FindingRecord | undefined, nowMs: number, homeRegion?: string): FindingRecord => {
  const { story, verdict, ruleId, settings } = judged;
  let firstSeenMs = Number.POSITIVE_INFINITY;
  let lastSeenMs = Number.NEGATIVE_INFINITY;
  let eventCount = 0;
  let first: StoryFinding | undefined;
  for (const f of story.findings) {
    if (first === undefined || f.firstSeenMs < first.firstSeenMs) first = f;
    firstSeenMs = Math.min(firstSeenMs, f.firstSeenMs);
    lastSeenMs = Math.max(lastSeenMs, f.lastSeenMs);
    eventCount += f.eventCount;
  }
  const accountId = first?.accountId ?? judged.principal.accountId;
  const region = homeRegion ?? first?.region ?? existing?.region ?? '';
  if (existing !== undefined) {
    const same = existing.reason === verdict.reason && existing.eventCount === eventCount && existing.firstSeenMs === firstSeenMs && existing.lastSeenMs === lastSeenMs && existing.accountId === accountId && existing.region === region;
    if (same) return existing;
    return { ...existing, reason: verdict.reason, firstSeenMs, lastSeenMs, eventCount, accountId, region, updatedAtMs: Math.max(nowMs, existing.updatedAtMs + 1) };
  }
  return compact({
    kind: 'finding' as const,
    id: storyFindingId(ruleId, story),
    ruleId,
    severity: settings.severity,
    subject: story.principal.id,
    windowStartMs: story.windowStartMs,
    reason: verdict.reason,
    firstSeenMs,
    lastSeenMs,
    createdAtMs: nowMs,
    updatedAtMs: nowMs,
    eventCount,
    // Its evidence is the findings it names: the events of the one that happened to come first are no more its own.
    eventIds: [],
    // No one call: ASFF and OCSF leave out the API call.
    api: '',
    serviceName: '',
    accountId,
    region,
    principal: judged.principal,
    network: {},
  }) as FindingRecord;
};

/** A story a rule over findings judged unusual, with the id of its finding (`storyFindingId`). */
export interface JudgedStory extends StoryToJudge {
  readonly ruleId: string;
  readonly settings: RuleSettings;
  readonly verdict: StoryVerdict;
  readonly id: string;
}

/**
 * The stories of a batch's findings that enabled rules over findings judge unusual (`Rule.judgeStory`), each rule
 * over its own window. The findings of every rule over findings are left out of every story: one does not feed another.
 */
export const judgeStoriesOf = (
  rules: readonly { readonly rule: Pick<Rule, 'id' | 'judgeStory'>; readonly settings: RuleSettings }[],
  batch: readonly FindingRecord[],
  stored: (key: string) => PrincipalFindings | undefined,
): JudgedStory[] => {
  const judging = rules.filter(({ rule, settings }) => rule.judgeStory !== undefined && settings.enabled);
  if (judging.length === 0 || batch.length === 0) return [];
  const skipRules = new Set(rules.filter(({ rule }) => rule.judgeStory !== undefined).map(({ rule }) => rule.id));
  const out: JudgedStory[] = [];
  for (const { rule, settings } of judging) {
    for (const told of storiesOf(batch, stored, settings.windowMs, skipRules)) {
      const verdict = rule.judgeStory?.(told.story, settings);
      if (verdict !== undefined) out.push({ ...told, ruleId: rule.id, settings, verdict, id: storyFindingId(rule.id, told.story) });
    }
  }
  return out;
};
