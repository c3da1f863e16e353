import { clientOfCall } from './client.ts';
import { DEFAULT_ENGINE_CONFIG, type EngineConfig } from './engine-config.ts';
import type { KeyFactsLookup } from './key-facts.ts';
import { RuleDefinitionError } from './errors.ts';
import {
  bucketOfS3Arn,
  correlateKms,
  correlateS3,
  correlationKeysOf,
  createWatermarks,
  isKmsHalf,
  isS3Half,
  noteBucketCoverage,
  partitionOf,
  resolveDue,
  type ResolvedKmsCall,
} from './correlation/correlate.ts';
import { KMS_KEY_USE_OPERATION_SET } from './events/kms-operations.ts';
import { kmsCallWith } from './events/kms-call-with.ts';
import { dedupeKeyOf, KMS_EVENT_SOURCE, reEncryptDestinationArnOf, s3AccessKeyArnOf, S3_EVENT_SOURCE, VPCE_ACCESS_DENIED } from './events/normalize.ts';
import type { KmsCall, MonitorEvent, S3ObjectAccess, VpcEndpointCall } from './events/types.ts';
import { MAX_EVIDENCE_IDS } from './findings/finding.ts';
import { networkOf, s3RequestNetworkOf } from './network.ts';
import type { Detection, Rule, RuleContext, RuleSettings, WindowView } from './rules/define-rule.ts';
import {
  ENDPOINT_ACCOUNT_LIMIT,
  PRINCIPAL_ENTRY_LIMIT,
  getEntry,
  newKeyBaseline,
  newPrincipalBaseline,
  putEntry,
  stateKey,
  type AliasEntry,
  type BucketCoverage,
  type EndpointBaseline,
  type KeyBaseline,
  type PrincipalBaseline,
  type WindowCounter,
  type WorkingState,
} from './state.ts';

/**
 * Upper bound on distinct members a window remembers. Past it the count keeps going with every member, whether
 * seen before or not (the count, and the peaks learned from it, then measure volume): counting none would let a
 * larger exfiltration hide under the bound, and remembering all would let hostile traffic grow the state.
 */
const WINDOW_MEMBER_LIMIT = 1_000;

/**
 * A large window's members as a set, beside the list the state keeps, keyed by that list (a window keeps its list for
 * its life, through `markWindowFired`'s copy too): whether a call's member was counted already took a scan of up to
 * WINDOW_MEMBER_LIMIT strings for every call: 4-6x the engine's time for a principal making 2,000 calls in a window
 * (docs/performance.md). Most windows hold a few members, and for them the scan is cheaper than a set: in the bench's
 * replay, windows averaged 4 members, and a set for every window took 1.11x the time. Built from the list the first
 * time a window of MEMBER_SET_FROM members is met after it was loaded, and kept in step as members are added.
 */
const MEMBER_SET_FROM = 32;
const windowMemberSets = new WeakMap<readonly string[], Set<string>>();

const hasMember = (members: readonly string[], member: string): boolean => {
  if (members.length < MEMBER_SET_FROM) return members.includes(member);
  let set = windowMemberSets.get(members);
  if (set === undefined) {
    set = new Set(members);
    windowMemberSets.set(members, set);
  }
  return set.has(member);
};

const addMember = (members: string[], member: string): void => {
  members.push(member);
  // A set exists only for a list that had MEMBER_SET_FROM members before this one.
  if (members.length > MEMBER_SET_FROM) windowMemberSets.get(members)?.add(member);
};

/** An enabled rule and its settings (defaults and configuration resolved once, when the engine is made). */
interface ActiveRule {
  readonly rule: Rule;
  readonly settings: RuleSettings;
}

/** A rule's window for one group (a principal, say): where it starts, its state key, and the previous window's. */
interface GroupWindow {
  readonly group: string;
  readonly startMs: number;
  readonly key: string;
  readonly previousKey: string;
}

/** Groups whose window keys are kept, per rule: records name as many principals as they like. */
const KEPT_WINDOW_GROUPS = 10_000;

/**
 * Each rule's window keys for its groups, as last built. Consecutive calls of one principal mostly fall in one
 * window, so its two keys (`win#<rule>#<start>#<principal>`, about 100 characters each) are built and hashed once a
 * window instead of for every call.
 */
class WindowKeys {
  readonly #byRule = new Map<Rule, Map<string, GroupWindow>>();

  of(rule: Rule, group: string, startMs: number, windowMs: number): GroupWindow {
    let byGroup = this.#byRule.get(rule);
    if (byGroup === undefined) this.#byRule.set(rule, (byGroup = new Map()));
    let window = byGroup.get(group);
    if (window === undefined || window.startMs !== startMs) {
      window = { group, startMs, key: stateKey.window(rule.id, group, startMs), previousKey: stateKey.window(rule.id, group, startMs - windowMs) };
      if (byGroup.size < KEPT_WINDOW_GROUPS || byGroup.has(group)) byGroup.set(group, window);
    }
    return window;
  }
}

/** The share of the previous window's count that a sliding window of the same length, ending at `atMs`, still covers. */
const carriedCount = (previousCount: number, atMs: number, windowStartMs: number, windowMs: number): number =>
  Math.floor(previousCount * (1 - (atMs - windowStartMs) / windowMs));
/** Upper bound on principals/regions a key baseline remembers, so hostile traffic cannot grow it forever. */
const BASELINE_ENTRY_LIMIT = 5_000;

export interface EvaluationResult {
  /** Events that were new (not duplicates), in event-time order. */
  readonly accepted: readonly MonitorEvent[];
  readonly duplicates: number;
  /**
   * Accepted events that came more than the lateness allowance behind their stream (the latest event time already
   * seen of their account and Region): more out of order than delivery makes them, so matching, windows and
   * baselines may take them otherwise than in time order.
   */
  readonly late: number;
  readonly detections: readonly Detection[];
  /** S3-made KMS calls decided in this batch, by how they matched their S3 request. */
  readonly correlations: { object: number; bucket: number; none: number };
  /** S3-made KMS calls as the rules saw them (with correlation), for the ledger and reports. */
  readonly decidedKmsCalls: readonly KmsCall[];
}

export interface EvaluateOptions {
  /** Keys of correlation slots the store found due (`StateStore.takeDue`), loaded into the working state. */
  readonly due?: Iterable<string>;
  /** What KMS says about the keys in the batch (tags, aliases): key selectors in the configuration match on it. */
  readonly keyFacts?: KeyFactsLookup;
  /**
   * Decide waiting KMS halves whose deadline is at or before this event time even if their stream's
   * watermark has not reached it: `Infinity` at the end of a replay; now minus the lateness allowance in
   * a scheduled flush, for streams that went quiet.
   */
  readonly decideBeforeMs?: number;
  /**
   * S3 data events from just outside a replay's window of time (`--from`, `--to`), for the S3-made KMS calls inside
   * it: each may complete a call's match, or wait for one, and is otherwise passed over (not judged, learned, counted,
   * recorded or made a duplicate of). Without them, a call at a window's edge would lose its S3 request to the edge.
   * Those earlier than every event of the batch are taken before its events, the others after them: in time order
   * for a window's, which lie outside the span of the window's events.
   */
  readonly matchOnly?: readonly S3ObjectAccess[];
}

export interface Engine {
  readonly rules: readonly Rule[];
  readonly config: EngineConfig;
  /** Alias entries that calls naming a key only by alias need before their state can be planned. */
  planAliasKeys(events: readonly MonitorEvent[]): string[];
  /**
   * The state entries a batch needs: the shell loads them in one round trip before `evaluate`. `pending`
   * are the KMS calls waiting in due correlation slots, which will be decided (and need their state) too;
   * `aliases` are the entries loaded for `planAliasKeys`, so alias-only calls plan their key's baseline.
   */
  planStateKeys(events: readonly MonitorEvent[], pending?: readonly MonitorEvent[], aliases?: ReadonlyMap<string, unknown>): string[];
  /**
   * Second round: what the calls parked in the loaded correlation slots need, since any of them may be
   * matched by this batch and reach the rules (plus each slot's watermark).
   */
  planDependentKeys(loaded: ReadonlyMap<string, unknown>): string[];
  /** Pure and synchronous: dedupes, orders by event time, correlates, runs the rules, learns baselines. */
  evaluate(events: readonly MonitorEvent[], state: WorkingState, options?: EvaluateOptions): EvaluationResult;
}

/** What a rule's selection names an event by: its source, or for a network activity event that source's network activity. */
const selectedSourceOf = (source: string, networkActivity: boolean | undefined): string => (networkActivity === true ? `${NETWORK_ACTIVITY_PREFIX}${source}` : source);
const NETWORK_ACTIVITY_PREFIX = 'network-activity:';

const sourceOf = (e: MonitorEvent): string =>
  e.kind === 'kms' ? KMS_EVENT_SOURCE : e.kind === 's3' ? S3_EVENT_SOURCE : e.kind === 'vpce' ? selectedSourceOf(e.eventSource, true) : e.eventSource;

const byEventTime = (a: MonitorEvent, b: MonitorEvent): number => a.eventTimeMs - b.eventTimeMs;

export const resolveRuleSettings = (rule: Rule, config: EngineConfig): RuleSettings => {
  const override = config.rules[rule.id] ?? {};
  return {
    enabled: override.enabled ?? rule.status !== 'deprecated',
    severity: override.severity ?? rule.severity,
    threshold: override.threshold ?? rule.defaults?.threshold ?? 1,
    windowMs: override.windowMs ?? (rule.defaults?.windowMinutes ?? 60) * 60_000,
  };
};

export const windowStartMs = (eventTimeMs: number, windowMs: number): number =>
  Math.floor(eventTimeMs / windowMs) * windowMs;

/** The account whose alias a call names: aliases are per account (the caller's, else the one that recorded it). */
export const aliasAccountOf = (e: KmsCall): string | undefined => e.principal.accountId ?? e.recipientAccountId;

export const createEngine = (options: { readonly rules: readonly Rule[]; readonly config?: EngineConfig }): Engine => {
  const config = options.config ?? DEFAULT_ENGINE_CONFIG;
  const seenIds = new Set<string>();
  for (const rule of options.rules) {
    if (seenIds.has(rule.id)) throw new RuleDefinitionError(`two rules share the id ${rule.id}`);
    seenIds.add(rule.id);
  }
  const windowKeys = new WindowKeys();
  // Index the enabled rules, with their settings, by event source and name so a rule that does not apply to an event
  // is never called, and a rule's settings are not looked up for every event it judges.
  const index = new Map<string, ActiveRule[]>();
  for (const rule of options.rules) {
    const active: ActiveRule = { rule, settings: resolveRuleSettings(rule, config) };
    if (!active.settings.enabled) continue;
    for (const sel of rule.selection) {
      for (const name of sel.eventNames) {
        const k = `${selectedSourceOf(sel.eventSource, sel.networkActivity)}|${name}`;
        const list = index.get(k) ?? [];
        if (!list.includes(active)) list.push(active);
        index.set(k, list);
      }
    }
  }
  // A rule selecting `*` applies to every event of its source, alongside the rules that name the event.
  // Resolved lists by source, then event name: two lookups on strings the event already holds, no key to build.
  const resolved = new Map<string, Map<string, readonly ActiveRule[]>>();
  let resolvedCount = 0;
  const rulesFor = (e: MonitorEvent): readonly ActiveRule[] => {
    const source = sourceOf(e);
    let bySource = resolved.get(source);
    let list = bySource?.get(e.eventName);
    if (list === undefined) {
      const named = index.get(`${source}|${e.eventName}`) ?? [];
      const wildcard = index.get(`${source}|*`) ?? [];
      list = wildcard.length === 0 ? named : [...named, ...wildcard.filter((r) => !named.includes(r))];
      // Event names come from the records: bounded, so hostile input cannot grow the cache forever.
      if (resolvedCount < 10_000) {
        if (bySource === undefined) resolved.set(source, (bySource = new Map()));
        bySource.set(e.eventName, list);
        resolvedCount++;
      }
    }
    return list;
  };

  const planStateKeys = (events: readonly MonitorEvent[], pending: readonly MonitorEvent[] = [], aliases: ReadonlyMap<string, unknown> = new Map()): string[] => {
    const keys = new Set<string>();
    for (const list of [events, pending]) for (const e of list) {
      for (const k of correlationKeysOf(e)) keys.add(k);
      // Every accepted event moves its stream's watermark.
      keys.add(stateKey.watermark(partitionOf(e)));
      const d = dedupeKeyOf(e);
      if (d !== undefined) keys.add(stateKey.seen(d, e.eventTimeMs));
      if (e.kind === 'kms') {
        if (e.keyArn !== undefined) keys.add(stateKey.keyBaseline(e.keyArn));
        const destination = reEncryptDestinationArnOf(e);
        if (destination !== undefined) keys.add(stateKey.keyBaseline(destination));
        keys.add(stateKey.principalBaseline(e.principal.id));
        const account = aliasAccountOf(e);
        if (e.keyAlias !== undefined && account !== undefined) {
          keys.add(stateKey.alias(account, e.keyAlias));
          const alias = aliases.get(stateKey.alias(account, e.keyAlias)) as { kind?: string; keyArn?: string } | undefined;
          if (e.keyArn === undefined && alias?.kind === 'alias' && alias.keyArn !== undefined) keys.add(stateKey.keyBaseline(alias.keyArn));
        }
      } else if (e.kind === 's3') {
        // The key an S3 write names: rules weigh it against the accounts that have been using it.
        const keyArn = s3AccessKeyArnOf(e);
        if (keyArn !== undefined) keys.add(stateKey.keyBaseline(keyArn));
      } else if (e.kind === 'vpce' && e.vpcEndpointId !== undefined) {
        keys.add(stateKey.endpointBaseline(e.vpcEndpointId));
      }
      for (const { rule, settings: s } of rulesFor(e)) {
        if (rule.keyBaselinesRead !== undefined) for (const keyArn of rule.keyBaselinesRead(e)) keys.add(stateKey.keyBaseline(keyArn));
        const group = rule.windowGroup?.(e);
        if (group !== undefined) {
          // The window and the previous one, as the rule's context reads them (countInWindow, windowEvidence).
          const window = windowKeys.of(rule, group, windowStartMs(e.eventTimeMs, s.windowMs), s.windowMs);
          keys.add(window.key);
          keys.add(window.previousKey);
        }
      }
    }
    return [...keys];
  };

  return {
    rules: options.rules,
    config,

    planAliasKeys(events) {
      const keys = new Set<string>();
      for (const e of events) {
        const account = e.kind === 'kms' && e.keyArn === undefined ? aliasAccountOf(e) : undefined;
        if (e.kind === 'kms' && e.keyAlias !== undefined && account !== undefined) keys.add(stateKey.alias(account, e.keyAlias));
      }
      return [...keys];
    },

    planStateKeys,

    planDependentKeys(loaded) {
      const parked: MonitorEvent[] = [];
      const keys = new Set<string>();
      for (const entry of loaded.values()) {
        const slot = entry as { kind?: string; partition?: string; kms?: readonly { event: MonitorEvent }[] };
        if (slot.kind !== 'correlation') continue;
        if (slot.partition !== undefined) keys.add(stateKey.watermark(slot.partition));
        for (const h of slot.kms ?? []) parked.push(h.event);
      }
      for (const k of planStateKeys([], parked)) keys.add(k);
      return [...keys];
    },

    evaluate(events, state, options = {}) {
      const ordered = [...events].sort(byEventTime);
      const effective = options.keyFacts === undefined ? config : { ...config, keyPolicy: config.keyPolicy.withKeyFacts(options.keyFacts) };
      const accepted: MonitorEvent[] = [];
      const detections: Detection[] = [];
      const decidedKmsCalls: KmsCall[] = [];
      const correlations = { object: 0, bucket: 0, none: 0 };
      let duplicates = 0;
      let late = 0;
      const watermarks = createWatermarks(state, config.correlation.latenessMs);

      const runRules = (event: MonitorEvent, baselines = new EventBaselines(state, event)): void => {
        let ctx: EventRuleContext | undefined;
        for (const { rule, settings: ruleSettings } of rulesFor(event)) {
          ctx = ctx === undefined ? new EventRuleContext(rule, ruleSettings, event, state, baselines, windowKeys, config.learningPeriodMs, effective) : ctx.forRule(rule, ruleSettings);
          const draft = rule.detect(event, ctx);
          if (draft === undefined) continue;
          // A window rule's detection stands for the calls its window counted: its finding starts at the first of
          // them and shows them, not only the call that crossed the threshold.
          const evidence = draft.firstSeenMs === undefined ? ctx.windowEvidence() : undefined;
          detections.push({
            ...(evidence !== undefined ? { firstSeenMs: evidence.firstSeenMs, relatedEventIds: evidence.eventIds } : {}),
            ...draft,
            ruleId: rule.id,
            severity: draft.severity ?? ruleSettings.severity,
            aggregationWindowMs: draft.aggregationWindowMs ?? ruleSettings.windowMs,
            event,
          });
        }
        if (event.kind === 'kms') learn(event, state, aliasAccountOf(event), baselines);
        else if (event.kind === 'vpce') learnEndpoint(event, state);
      };
      const decide = (resolved: readonly ResolvedKmsCall[]): void => {
        for (const r of resolved) {
          correlations[r.confidence]++;
          decidedKmsCalls.push(r.event);
          runRules(r.event);
        }
      };

      // S3 requests from outside a window of time: those before the batch's events first, the others after them.
      const matchOnly = options.matchOnly !== undefined && options.matchOnly.length > 0 ? [...options.matchOnly].sort(byEventTime) : undefined;
      const firstMs = ordered[0]?.eventTimeMs ?? Number.POSITIVE_INFINITY;
      const match = (e: S3ObjectAccess): void => {
        // Seen once, so a copy delivered again completes no second call.
        if (state.markSeen(e, e.eventTimeMs + config.dedupeRetentionMs)) decide(correlateS3(e, state, config.correlation));
      };
      if (matchOnly !== undefined) for (const e of matchOnly) if (e.eventTimeMs < firstMs) match(e);

      for (const original of ordered) {
        if (!state.markSeen(original, original.eventTimeMs + config.dedupeRetentionMs)) {
          duplicates++;
          continue;
        }
        const baselines = new EventBaselines(state, original);
        const event = original.kind === 'kms' ? resolveAlias(original, state, aliasAccountOf(original), baselines) : original;
        accepted.push(event);
        if (watermarks.advance(event)) late++;
        noteBucketCoverage(state, event);
        // An S3-made KMS call reaches the rules once its S3 request is known, or once it is decided unmatched.
        if (isKmsHalf(event)) decide(correlateKms(event, state, config.correlation));
        else if (isS3Half(event)) {
          decide(correlateS3(event, state, config.correlation));
          // The decided calls learned before this event's rules run: its baselines have not been read yet (they read lazily).
          runRules(event, baselines);
        } else runRules(event, baselines);
      }
      if (matchOnly !== undefined) for (const e of matchOnly) if (e.eventTimeMs >= firstMs) match(e);
      decide(resolveDue(options.due ?? [], state, options.decideBeforeMs ?? Number.NEGATIVE_INFINITY));
      return { accepted, duplicates, late, detections, correlations, decidedKmsCalls };
    },
  };
};

/**
 * One event's key and principal baselines, each read from the state once however many of its rules ask (and
 * `learn` after them). Only `learn` changes a key baseline, after the rules; `notePeak` writes the principal's
 * through `setPrincipal`, so what the event's later rules read stays what the state holds.
 */
class EventBaselines {
  private readonly state: WorkingState;
  private readonly principalId: string;
  private keyArn: string | undefined;
  private key: KeyBaseline | undefined;
  private principalRead = false;
  private principalEntry: PrincipalBaseline | undefined;

  constructor(state: WorkingState, event: MonitorEvent) {
    this.state = state;
    this.principalId = event.principal.id;
  }

  keyBaseline(keyArn: string): KeyBaseline | undefined {
    if (this.keyArn !== keyArn) {
      const entry = this.state.get(stateKey.keyBaseline(keyArn));
      this.keyArn = keyArn;
      this.key = entry?.kind === 'key-baseline' ? entry : undefined;
    }
    return this.key;
  }

  principal(): PrincipalBaseline | undefined {
    if (!this.principalRead) {
      const entry = this.state.get(stateKey.principalBaseline(this.principalId));
      this.principalRead = true;
      this.principalEntry = entry?.kind === 'principal-baseline' ? entry : undefined;
    }
    return this.principalEntry;
  }

  setPrincipal(baseline: PrincipalBaseline): void {
    this.state.set(stateKey.principalBaseline(this.principalId), baseline);
    this.principalRead = true;
    this.principalEntry = baseline;
  }
}

/** Fills in the key ARN from a known alias, and the alias from the key's baseline, so findings name both. */
const resolveAlias = (e: KmsCall, state: WorkingState, account: string | undefined, baselines: EventBaselines): KmsCall => {
  if (e.keyArn !== undefined) {
    if (e.keyAlias !== undefined) return e;
    const alias = baselines.keyBaseline(e.keyArn)?.aliases[0];
    return alias === undefined ? e : kmsCallWith(e, { keyAlias: alias });
  }
  if (e.keyAlias === undefined || account === undefined) return e;
  const entry = state.get(stateKey.alias(account, e.keyAlias));
  if (entry?.kind !== 'alias') return e;
  const keyAccountId = /:(\d{12}):key\//.exec(entry.keyArn)?.[1];
  return kmsCallWith(e, { keyArn: entry.keyArn, keyAccountId });
};

/**
 * What a rule sees of the state while it judges one event. One object per event, handed to each of its rules in
 * turn (`forRule`), with its methods on the prototype: no closures or objects per rule on the hot path (a Decrypt
 * meets about ten rules). The window key is built only for rules that count; the baselines are the event's, shared
 * by its rules.
 */
class EventRuleContext implements RuleContext {
  settings: RuleSettings;
  readonly learningPeriodMs: number;
  readonly keyPolicy: EngineConfig['keyPolicy'];
  private rule: Rule;
  private readonly event: MonitorEvent;
  private readonly state: WorkingState;
  private readonly baselines: EventBaselines;
  private readonly windowKeys: WindowKeys;
  private window: GroupWindow | null | undefined;

  constructor(rule: Rule, settings: RuleSettings, event: MonitorEvent, state: WorkingState, baselines: EventBaselines, windowKeys: WindowKeys, learningPeriodMs: number, config: EngineConfig) {
    this.rule = rule;
    this.settings = settings;
    this.event = event;
    this.state = state;
    this.baselines = baselines;
    this.windowKeys = windowKeys;
    this.learningPeriodMs = learningPeriodMs;
    this.keyPolicy = config.keyPolicy;
  }

  /** The same event's context for its next rule: that rule's settings, and its own window. */
  forRule(rule: Rule, settings: RuleSettings): this {
    this.rule = rule;
    this.settings = settings;
    this.window = undefined;
    return this;
  }

  keyBaseline(keyArn: string): KeyBaseline | undefined {
    return this.baselines.keyBaseline(keyArn);
  }

  isLearning(keyArn: string, t: number): boolean {
    const b = this.keyBaseline(keyArn);
    return b === undefined || t < b.firstSeenMs + this.learningPeriodMs;
  }

  historyStartMs(keyArn: string): number | undefined {
    return this.keyBaseline(keyArn)?.firstSeenMs;
  }

  principalBaseline(): PrincipalBaseline | undefined {
    return this.baselines.principal();
  }

  isPrincipalLearning(): boolean {
    const b = this.principalBaseline();
    return b === undefined || this.event.eventTimeMs < b.firstSeenMs + this.learningPeriodMs;
  }

  endpointBaseline(vpcEndpointId: string): EndpointBaseline | undefined {
    const entry = this.state.get(stateKey.endpointBaseline(vpcEndpointId));
    return entry?.kind === 'endpoint-baseline' ? entry : undefined;
  }

  isEndpointLearning(vpcEndpointId: string): boolean {
    const b = this.endpointBaseline(vpcEndpointId);
    return b === undefined || this.event.eventTimeMs < b.firstSeenMs + this.learningPeriodMs;
  }

  notePeak(count: number): void {
    if (!this.isPrincipalLearning()) return;
    const b = this.principalBaseline() ?? newPrincipalBaseline(this.event.eventTimeMs);
    if ((getEntry(b.peaks, this.rule.id) ?? 0) < count) putEntry(b.peaks, this.rule.id, count);
    this.baselines.setPrincipal(b);
  }

  private currentWindow(): GroupWindow | null {
    if (this.window === undefined) {
      const group = this.rule.windowGroup?.(this.event);
      const { windowMs } = this.settings;
      this.window = group === undefined ? null : this.windowKeys.of(this.rule, group, windowStartMs(this.event.eventTimeMs, windowMs), windowMs);
    }
    return this.window;
  }

  countInWindow(member?: string): WindowView | undefined {
    const window = this.currentWindow();
    if (window === null) return undefined;
    const { key, previousKey, startMs: start } = window;
    const { windowMs, threshold } = this.settings;
    const existing = this.state.get(key);
    const counter: WindowCounter = existing?.kind === 'window' ? existing : { kind: 'window', startMs: start, endMs: start + windowMs, count: 0, members: [], fired: false, firstMs: this.event.eventTimeMs, eventIds: [] };
    if (member === undefined || !hasMember(counter.members, member)) {
      counter.count++;
      if (member !== undefined && counter.members.length < WINDOW_MEMBER_LIMIT) addMember(counter.members, member);
      const { eventTimeMs, eventId } = this.event;
      if (counter.firstMs === undefined || eventTimeMs < counter.firstMs) counter.firstMs = eventTimeMs;
      const ids = (counter.eventIds ??= []);
      if (ids.length < MAX_EVIDENCE_IDS && eventId !== '') ids.push(eventId);
    }
    this.state.set(key, counter);
    // Sliding estimate over the last window length: the previous tumbling window counts for the part of it
    // that still overlaps, so a burst straddling a boundary is not split in two.
    const previous = this.state.get(previousKey);
    const carried = previous?.kind === 'window' ? carriedCount(previous.count, this.event.eventTimeMs, start, windowMs) : 0;
    return {
      count: counter.count + carried,
      members: counter.members,
      // A burst that already fired in the previous window does not fire again unless this window alone qualifies.
      fired: counter.fired || (previous?.kind === 'window' && previous.fired && counter.count < threshold),
    };
  }

  /** When the calls counted in the event's window began (the previous window's too, when carried over), and the first ids. */
  windowEvidence(): { readonly firstSeenMs: number; readonly eventIds: readonly string[] } | undefined {
    const window = this.currentWindow();
    const counter = window === null ? undefined : this.state.get(window.key);
    if (window === null || counter?.kind !== 'window') return undefined;
    // The previous window counts when countInWindow's estimate carried some of its calls over.
    const previous = this.state.get(window.previousKey);
    const carried = previous?.kind === 'window' && carriedCount(previous.count, this.event.eventTimeMs, window.startMs, this.settings.windowMs) > 0 ? previous : undefined;
    const firstSeenMs = Math.min(counter.firstMs ?? this.event.eventTimeMs, carried?.firstMs ?? Number.POSITIVE_INFINITY);
    return { firstSeenMs, eventIds: [...(carried?.eventIds ?? []), ...(counter.eventIds ?? [])].slice(0, MAX_EVIDENCE_IDS) };
  }

  markWindowFired(): void {
    const window = this.currentWindow();
    if (window === null) return;
    const entry = this.state.get(window.key);
    if (entry?.kind === 'window') this.state.set(window.key, { ...entry, fired: true });
  }

  bucketCoverage(bucket: string): BucketCoverage | undefined {
    const entry = this.state.get(stateKey.bucket(bucket));
    return entry?.kind === 'bucket' ? entry : undefined;
  }

  aliasOf(keyArn: string): string | undefined {
    return this.keyBaseline(keyArn)?.aliases[0] ?? (this.event.kind === 'kms' && this.event.keyArn === keyArn ? this.event.keyAlias : undefined);
  }
}

/** Notes when `key` was first seen: one lookup for a key already there (most calls), the bound checked only for a new one. */
const remember = (record: Record<string, number>, key: string, t: number, limit = BASELINE_ENTRY_LIMIT): void => {
  const first = getEntry(record, key);
  if (first !== undefined) {
    if (first > t) putEntry(record, key, t);
    return;
  }
  if (Object.keys(record).length < limit) putEntry(record, key, t);
};

/** Notes a call's use of a key on the key's baseline (new if the key is): when, by whom, in which region and account. */
const noteKeyUse = (keyArn: string, e: KmsCall, baselines: EventBaselines): KeyBaseline => {
  const b = baselines.keyBaseline(keyArn) ?? newKeyBaseline(e.eventTimeMs);
  b.firstSeenMs = Math.min(b.firstSeenMs, e.eventTimeMs);
  b.lastSeenMs = Math.max(b.lastSeenMs, e.eventTimeMs);
  remember(b.principals, e.principal.id, e.eventTimeMs);
  remember(b.regions, e.region, e.eventTimeMs);
  if (e.principal.accountId !== undefined) remember(b.accounts, e.principal.accountId, e.eventTimeMs);
  return b;
};

/**
 * Folds a network activity event into its endpoint's baseline (after the rules saw it as it was): the caller's
 * account, when the endpoint let the call through. A denied caller is not one the endpoint serves.
 */
const learnEndpoint = (e: VpcEndpointCall, state: WorkingState): void => {
  const account = e.principal.accountId;
  if (e.vpcEndpointId === undefined || account === undefined || e.errorCode === VPCE_ACCESS_DENIED) return;
  const key = stateKey.endpointBaseline(e.vpcEndpointId);
  const entry = state.get(key);
  const b: EndpointBaseline =
    entry?.kind === 'endpoint-baseline'
      ? { ...entry, accounts: Object.assign(Object.create(null) as Record<string, number>, entry.accounts) }
      : { kind: 'endpoint-baseline', firstSeenMs: e.eventTimeMs, lastSeenMs: e.eventTimeMs, accounts: Object.create(null) as Record<string, number> };
  b.firstSeenMs = Math.min(b.firstSeenMs, e.eventTimeMs);
  b.lastSeenMs = Math.max(b.lastSeenMs, e.eventTimeMs);
  remember(b.accounts, account, e.eventTimeMs, ENDPOINT_ACCOUNT_LIMIT);
  state.set(key, b);
};

/** Folds one KMS call into its key's baseline (after the rules saw the baseline as it was). */
const learn = (e: KmsCall, state: WorkingState, account: string | undefined, baselines: EventBaselines): void => {
  if (e.keyAlias !== undefined && e.keyArn !== undefined && account !== undefined) {
    const entry: AliasEntry = { kind: 'alias', keyArn: e.keyArn };
    state.set(stateKey.alias(account, e.keyAlias), entry);
  }
  if (e.eventName === 'CreateAlias' || e.eventName === 'UpdateAlias') {
    const { aliasName, targetKeyId } = e.request;
    if (aliasName !== undefined && e.keyArn !== undefined && account !== undefined && (targetKeyId === undefined || e.keyArn.endsWith(targetKeyId) || targetKeyId.startsWith('arn:'))) {
      state.set(stateKey.alias(account, aliasName), { kind: 'alias', keyArn: e.keyArn });
    }
  }
  if (e.keyArn === undefined || e.errorCode !== undefined || !KMS_KEY_USE_OPERATION_SET.has(e.eventName)) return;
  const b = noteKeyUse(e.keyArn, e, baselines);
  if (!e.madeByAwsService) {
    b.directCalls++;
    const contextKeys = e.encryptionContext !== undefined ? Object.keys(e.encryptionContext) : [];
    if (contextKeys.length > 0) {
      b.directCallsWithContext++;
      for (const k of contextKeys) putEntry(b.contextKeys, k, (getEntry(b.contextKeys, k) ?? 0) + 1);
    }
  }
  if (e.keyAlias !== undefined && !b.aliases.includes(e.keyAlias) && b.aliases.length < 10) b.aliases.push(e.keyAlias);
  state.set(stateKey.keyBaseline(e.keyArn), b);
  // A ReEncrypt uses its destination too (kms:ReEncryptTo): its caller, region and account are noted on it, so
  // re-encrypting into another account's key is learned as any other use of that key is.
  const destination = reEncryptDestinationArnOf(e);
  if (destination !== undefined) state.set(stateKey.keyBaseline(destination), noteKeyUse(destination, e, baselines));

  const p = baselines.principal() ?? newPrincipalBaseline(e.eventTimeMs);
  p.firstSeenMs = Math.min(p.firstSeenMs, e.eventTimeMs);
  p.lastSeenMs = Math.max(p.lastSeenMs, e.eventTimeMs);
  remember(p.regions, e.region, e.eventTimeMs);
  // Where the principal's own calls come from: a service's call on its behalf says nothing of that.
  if (!e.madeByAwsService && !e.principal.isAwsService) {
    const network = networkOf(e);
    if (network !== undefined) remember((p.networks ??= Object.create(null) as Record<string, number>), network, e.eventTimeMs, PRINCIPAL_ENTRY_LIMIT);
  }
  // Where its S3 requests come from, for the objects S3 encrypts and decrypts for it.
  const s3Network = s3RequestNetworkOf(e);
  if (s3Network !== undefined) remember((p.s3Networks ??= Object.create(null) as Record<string, number>), s3Network, e.eventTimeMs, PRINCIPAL_ENTRY_LIMIT);
  // Which client its calls come from: its own, or the S3 request's behind a call S3 made for it.
  const client = clientOfCall(e);
  if (client !== undefined) remember((p.clients ??= Object.create(null) as Record<string, number>), client, e.eventTimeMs, PRINCIPAL_ENTRY_LIMIT);
  // Whose objects S3 encrypts and decrypts for it: the buckets it works with.
  if (e.madeByS3 && e.s3Arn !== undefined) remember((p.buckets ??= Object.create(null) as Record<string, number>), bucketOfS3Arn(e.s3Arn).bucket, e.eventTimeMs, PRINCIPAL_ENTRY_LIMIT);
  baselines.setPrincipal(p);
};
