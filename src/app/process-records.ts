import { aliasAccountOf, resolveRuleSettings, type Engine } from '#core/engine.ts';
import { normalizeRecord } from '#core/events/normalize.ts';
import type { KmsCall, MonitorEvent, NormalizeResult, S3ObjectAccess } from '#core/events/types.ts';
import { isS3Half } from '#core/correlation/correlate.ts';
import { findingIdOf, findingStateKey, mergeDetection, relatedFindingsByEvent, ruleIdOfFindingId, withRelatedFindings, type FindingRecord } from '#core/findings/finding.ts';
import { findingOfStory, judgeStoriesOf, principalFindingsKeyOf, relateByPrincipal, withSamePrincipal, type PrincipalFindings } from '#core/findings/principal-findings.ts';
import { withSuppression } from '#core/findings/suppress.ts';
import type { KeyFacts } from '#core/key-facts.ts';
import { ledgerOf, mergeLedgerRow, type LedgerAccumulator, mergeObjectAccess, objectAccessId, ledgerRowId, type LedgerDelta } from '#core/ledger/ledger.ts';
import type { EngineConfig } from '#core/engine-config.ts';
import type { Clock, ReadIssue, RecordBatch, StateStore, StoredEntry } from '#core/ports.ts';
import { isFindingsRule, type Rule, type RuleSettings } from '#core/rules/define-rule.ts';
import { createWorkingState, createWriteThroughState, stateKey, type StateEntry, type WorkingState } from '#core/state.ts';
import { createSummary, fileSkipped, recordCorrelations, recordEvent, recordFailed, recordSkipped, type ActivitySummary } from '#core/summary.ts';

export interface ProcessorDeps {
  readonly engine: Engine;
  readonly store: StateStore;
  readonly clock: Clock;
  /** What KMS says about keys (tags, aliases, manager): key selectors match on it, findings show it. Optional. */
  readonly keyFacts?: { lookup(keyArns: readonly string[]): Promise<ReadonlyMap<string, KeyFacts>> };
  /**
   * The decrypt ledger: `outcome` hands each batch's aggregated rows back (a local database appends them);
   * `state` also merges them into the state store with the batch (the DynamoDB table, committed atomically
   * with the state, so a redelivered batch never counts twice); `{ into }` adds them to the caller's
   * accumulator, which the caller drains (the replay, so rows that batches repeat reach its database once).
   * Off when absent.
   */
  readonly ledger?: 'outcome' | 'state' | { readonly into: LedgerAccumulator };
  /**
   * Privacy: replaces each encryption context value a finding carries (config `privacy.hashEncryptionContext`).
   * The shell supplies a keyed hash; the ledger never stores context values.
   */
  readonly redactContextValue?: (value: string) => string;
  /** Told about every record that is skipped or fails, with its file and index. */
  readonly onIssue?: (issue: ReadIssue) => void;
  /**
   * Plan and load each batch's state keys even when the store's entries can be read directly, recording reads
   * that were not planned (`unplannedStateReads`). Remote stores depend on the planning; tests turn this on to
   * check it with the in-memory store.
   */
  readonly checkStatePlanning?: boolean;
  /**
   * Only events of this window of event time (inclusive) are evaluated: the others are skipped, each counted as
   * `outside-time-range` (a replay's `--from` and `--to`). S3 data events within the correlation window of an edge
   * still match the S3-made KMS calls inside it (the engine's `matchOnly`), and are counted as skipped all the same.
   */
  readonly eventTimes?: { readonly fromMs: number; readonly toMs: number };
}

export interface BatchOutcome {
  readonly processed: number;
  readonly duplicates: number;
  /** Events that came more than the lateness allowance behind their stream (EvaluationResult.late). */
  readonly late: number;
  /** Skipped for another reason than being a duplicate (Insights events, digest records, ...). */
  readonly skipped: number;
  readonly failed: number;
  /** S3-made KMS calls decided in this batch, by how they matched their S3 request. */
  readonly correlations: { readonly object: number; readonly bucket: number; readonly none: number };
  /** Findings created or updated by this batch (suppressed ones included, marked). */
  readonly findings: readonly FindingRecord[];
  /** S3-made KMS calls decided in this batch, with their correlation (and S3 request when matched). */
  readonly decidedKmsCalls: readonly KmsCall[];
  /** The batch's ledger rows and object accesses (empty unless the ledger is `outcome` or `state`). */
  readonly ledger: LedgerDelta;
}

export interface RecordProcessor {
  readonly summary: ActivitySummary;
  processBatch(batch: RecordBatch): Promise<BatchOutcome>;
  /** The same, for records already normalized elsewhere (the replay's reader thread), one result per record. */
  processNormalized(batch: Omit<RecordBatch, 'records'>, results: readonly NormalizeResult[]): Promise<BatchOutcome>;
  /**
   * Decides the KMS calls still waiting for their S3 request whose deadline is at or before `decideBeforeMs`
   * (default: all of them, the end of a replay; in AWS a scheduled flush passes now minus the lateness).
   */
  flush(options?: { readonly decideBeforeMs?: number }): Promise<BatchOutcome>;
  /** State keys the engine read without having planned them (should stay empty; tests assert it). */
  readonly unplannedStateReads: ReadonlySet<string>;
  /** With `eventTimes`: the events read outside the window, and the first and last of their times. */
  readonly outsideWindow: OutsideWindow;
  /** Counts a problem found while reading (file-level or record-level) so the totals add up. */
  noteIssue(issue: ReadIssue): void;
}

/** The events a window of time passed over (`ProcessorDeps.eventTimes`): how many, and over what span of time. */
export interface OutsideWindow {
  count: number;
  firstMs: number;
  lastMs: number;
}

const NO_LEDGER: LedgerDelta = { rows: [], accesses: [] };

/** An event a replay of a window of time (`eventTimes`) passes over. */
const OUTSIDE_TIME_RANGE: NormalizeResult = { ok: false, outcome: 'skipped', reason: 'outside-time-range' };

/** Only advance expiry when event time has moved this far, so a run of small files does not rescan state. */
const EXPIRY_STEP_MS = 10 * 60_000;

/** The rules over findings (`defineFindingsRule`), with their settings; those configured off are skipped. */
type FindingsRules = readonly { readonly rule: Rule; readonly settings: RuleSettings }[];

/**
 * The stories of a batch's principals judged by the rules over findings (`judgeStoriesOf`), then the findings of one
 * principal within a day named by each other (`relateByPrincipal`), the stories' findings among them: each changed
 * finding and entry goes into `findings` and `changes`. It reads from the store only what the batch's load did not
 * give: the entry of a finding that keeps the principal of an earlier, more severe detection (not one of the
 * batch's), the stories' findings, and the earlier findings that are to name the batch's back.
 */
const relateFindingsOfPrincipals = async (
  store: StateStore,
  into: { readonly findings: Map<string, FindingRecord>; readonly changes: Map<string, StoredEntry | undefined> },
  batch: { readonly loaded: ReadonlyMap<string, StoredEntry>; readonly planned: ReadonlySet<string> },
  context: { readonly findingsRules: FindingsRules; readonly suppressions: EngineConfig['suppressions']; readonly homeRegion: EngineConfig['homeRegion']; readonly nowMs: number },
): Promise<void> => {
  const { nowMs } = context;
  // A principal's stories are named before its other findings: past ten, they are the ones to keep.
  const storyRules = new Set(context.findingsRules.map(({ rule }) => rule.id));
  const leading = (id: string): boolean => storyRules.has(ruleIdOfFindingId(id));
  const keep = (f: FindingRecord): void => {
    const key = findingStateKey(f.id);
    into.findings.set(key, f);
    into.changes.set(key, f);
  };
  const unplanned = new Set<string>();
  for (const f of into.findings.values()) {
    const key = principalFindingsKeyOf(f.principal);
    if (key !== undefined && !batch.planned.has(key)) unplanned.add(key);
  }
  const entries = unplanned.size > 0 ? new Map([...batch.loaded, ...(await store.load([...unplanned]))]) : batch.loaded;
  const stored = (key: string): PrincipalFindings | undefined => {
    const entry = entries.get(key);
    return entry?.kind === 'principal-findings' ? entry : undefined;
  };
  const judged = judgeStoriesOf(context.findingsRules, [...into.findings.values()], stored);
  if (judged.length > 0) {
    const prior = await store.load(judged.map((j) => findingStateKey(j.id)).filter((key) => !into.findings.has(key)));
    for (const j of judged) {
      const key = findingStateKey(j.id);
      const existing = into.findings.get(key) ?? prior.get(key);
      const f = findingOfStory(j, existing?.kind === 'finding' ? existing : undefined, nowMs, context.homeRegion);
      if (f === existing) continue;
      keep(withSuppression(f, context.suppressions, nowMs));
    }
  }
  const related = relateByPrincipal(into.findings.values(), stored, nowMs, leading);
  for (const f of related.findings.values()) keep(f);
  for (const [key, entry] of related.entries) into.changes.set(key, entry);
  if (related.namedBack.size === 0) return;
  const unread = [...related.namedBack.keys()].map(findingStateKey).filter((key) => !into.findings.has(key));
  const earlier = unread.length > 0 ? await store.load(unread) : new Map<string, StoredEntry>();
  for (const [id, naming] of related.namedBack) {
    const f = into.findings.get(findingStateKey(id)) ?? earlier.get(findingStateKey(id));
    if (f?.kind !== 'finding' || f.suppressedBy !== undefined) continue;
    const named = withSamePrincipal(f, naming, nowMs, leading);
    if (named !== f) keep(named);
  }
};

/**
 * The one pipeline behind `kdm replay` and the Lambda handlers: normalize → plan state → load →
 * evaluate (pure) → aggregate findings → save. Every record ends as processed, skipped or failed.
 */
export const createRecordProcessor = (deps: ProcessorDeps): RecordProcessor => {
  const summary = createSummary();
  let watermarkMs = Number.NEGATIVE_INFINITY;
  let expiredUpToMs = Number.NEGATIVE_INFINITY;

  // Issues the reader found before records reached a batch: a record it could not parse was still read.
  const noteIssue = (issue: ReadIssue): void => {
    if (issue.kind === 'record-failed') {
      summary.records.read++;
      recordFailed(summary);
    } else if (issue.kind === 'record-skipped') {
      summary.records.read++;
      recordSkipped(summary, issue.reason ?? 'unspecified');
    }
    else if (issue.kind === 'file-failed') summary.files.failed++;
    else if (issue.kind === 'file-skipped') fileSkipped(summary, issue.reason ?? 'unspecified');
    deps.onIssue?.(issue);
  };

  const findingsRules: FindingsRules = deps.engine.rules.filter(isFindingsRule).map((rule) => ({ rule, settings: resolveRuleSettings(rule, deps.engine.config) }));
  const unplannedStateReads = new Set<string>();
  const outsideWindow: OutsideWindow = { count: 0, firstMs: Number.POSITIVE_INFINITY, lastMs: Number.NEGATIVE_INFINITY };

  return {
    summary,
    noteIssue,
    unplannedStateReads,
    outsideWindow,
    processBatch: (batch) => processResults(batch, batch.records.length, (i) => normalizeRecord(batch.records[i])),
    processNormalized: (batch, results) => processResults(batch, results.length, (i) => results[i] as NormalizeResult),
    flush: (options) => evaluate([], options?.decideBeforeMs ?? Number.POSITIVE_INFINITY),
  };

  /** Counts each record's normalization result, then evaluates the batch's events. */
  async function processResults(batch: Omit<RecordBatch, 'records'>, count: number, resultAt: (i: number) => NormalizeResult): Promise<BatchOutcome> {
    const events: MonitorEvent[] = [];
    let failed = 0;
    let skipped = 0;
    summary.records.read += count;
    const window = deps.eventTimes;
    // A replay of a window of time sees each event outside it as skipped; without one, the loop is as it was.
    let matchOnly: S3ObjectAccess[] | undefined;
    let outcomeAt = resultAt;
    if (window !== undefined) {
      matchOnly = [];
      outcomeAt = outsideWindowSkipped(resultAt, window, deps.engine.config.correlation.windowMs, matchOnly, outsideWindow);
    }
    for (let i = 0; i < count; i++) {
      const result = outcomeAt(i);
      if (result.ok) {
        events.push(result.event);
        continue;
      }
      const index = batch.indexes?.[i] ?? batch.firstIndex + i;
      const origin = { file: batch.file, index };
      if (result.outcome === 'skipped') {
        skipped++;
        recordSkipped(summary, result.reason);
        deps.onIssue?.({ kind: 'record-skipped', origin, message: result.reason, reason: result.reason });
      } else {
        failed++;
        recordFailed(summary);
        deps.onIssue?.({ kind: 'record-failed', origin, message: result.reason });
      }
    }

    const outcome = await evaluate(events, Number.NEGATIVE_INFINITY, matchOnly);
    return { ...outcome, skipped, failed };
  }

  /** The batch's working state: over the store's own entries when it has them, else over the planned keys, loaded. */
  async function workingStateFor(events: readonly MonitorEvent[], due: ReadonlyMap<string, StoredEntry>): Promise<{ working: WorkingState; stored: ReadonlyMap<string, StoredEntry>; aliases: ReadonlyMap<string, StoredEntry> }> {
    const { engine, store } = deps;
    if (store.entries !== undefined && deps.checkStatePlanning !== true) {
      const entries = store.entries as ReadonlyMap<string, StateEntry>;
      const working = store.write !== undefined ? createWriteThroughState(entries, store.write, store.markSeen) : createWorkingState(entries);
      return { working, stored: store.entries, aliases: store.entries };
    }
    const pending: MonitorEvent[] = [];
    for (const entry of due.values()) if (entry.kind === 'correlation') for (const h of entry.kms) pending.push(h.event);
    // Calls that name a key only by alias need the alias entry first, to plan their key's baseline.
    const aliasKeys = engine.planAliasKeys(events);
    const aliases = aliasKeys.length > 0 ? await store.load(aliasKeys) : new Map<string, StoredEntry>();
    const planned = new Set([...engine.planStateKeys(events, pending, aliases), ...aliasKeys, ...due.keys()]);
    const loaded = new Map(await store.load([...planned]));
    for (const [key, entry] of due) loaded.set(key, entry);
    // Calls parked in the loaded slots may be matched now: load what they need too (usually nothing new).
    const dependent = engine.planDependentKeys(loaded).filter((k) => !planned.has(k));
    if (dependent.length > 0) {
      for (const k of dependent) planned.add(k);
      for (const [key, entry] of await store.load(dependent)) loaded.set(key, entry);
    }
    return { working: createWorkingState(loaded as ReadonlyMap<string, StateEntry>, planned), stored: loaded, aliases };
  }

  /** Plan → load → evaluate (pure) → aggregate findings → save, for one batch of normalized events. */
  async function evaluate(events: readonly MonitorEvent[], decideBeforeMs: number, matchOnly?: readonly S3ObjectAccess[]): Promise<BatchOutcome> {
    const { engine, store } = deps;
    const due = await store.takeDue({ decideBeforeMs });
    const withMatchOnly = matchOnly !== undefined && matchOnly.length > 0;
    // The S3 requests a window's edges lend are planned with the batch's events: they read and write correlation slots.
    const { working, stored, aliases } = await workingStateFor(withMatchOnly ? [...events, ...matchOnly] : events, due);
    const facts = deps.keyFacts === undefined ? undefined : await deps.keyFacts.lookup(keyArnsOf(events, due, aliases));
    const options = { due: due.keys(), decideBeforeMs, ...(facts !== undefined ? { keyFacts: (arn: string) => facts.get(arn) } : {}) };
    const result = engine.evaluate(events, working, withMatchOnly ? { ...options, matchOnly } : options);
    for (const key of working.unplannedReads()) if (unplannedStateReads.size < 100) unplannedStateReads.add(key);
    if (result.duplicates > 0) recordSkipped(summary, 'duplicate', result.duplicates);
    summary.events.late += result.late;
    for (const e of result.accepted) {
      recordEvent(summary, e);
      if (e.eventTimeMs > watermarkMs) watermarkMs = e.eventTimeMs;
    }
    recordCorrelations(summary, result.correlations);

    // A key created and deleted within the batch (a correlation half matched in the same batch) was never
    // stored: its deletion is not written.
    const changes: Map<string, StoredEntry | undefined> = working.changes();
    for (const [key, entry] of changes) if (entry === undefined && !stored.has(key)) changes.delete(key);
    const findings = new Map<string, FindingRecord>();
    if (result.detections.length > 0) {
      const findingKeys = new Set(result.detections.map((d) => findingStateKey(findingIdOf(d))));
      const principalKeys = new Set<string>();
      for (const d of result.detections) {
        const key = principalFindingsKeyOf(d.event.principal);
        if (key !== undefined) principalKeys.add(key);
      }
      // The principals' entries come with the findings: one load.
      const existing = await store.load([...findingKeys, ...principalKeys]);
      const nowMs = deps.clock.nowMs();
      for (const d of result.detections) {
        const key = findingStateKey(findingIdOf(d));
        const prior = findings.get(key) ?? existing.get(key);
        const merged = mergeDetection(prior?.kind === 'finding' ? prior : undefined, d, nowMs);
        if (deps.redactContextValue !== undefined && merged.encryptionContext !== undefined && merged.contextHashed !== true) {
          const redacted: Record<string, string> = Object.create(null) as Record<string, string>;
          for (const [k, v] of Object.entries(merged.encryptionContext)) redacted[k] = deps.redactContextValue(v);
          (merged as { encryptionContext?: Readonly<Record<string, string>> }).encryptionContext = redacted;
          merged.contextHashed = true;
        }
        const keyFacts = merged.key !== undefined ? facts?.get(merged.key.arn) : undefined;
        if (keyFacts !== undefined) merged.keyFacts = keyFacts;
        const decided = withSuppression(merged, engine.config.suppressions, nowMs);
        findings.set(key, decided);
        changes.set(key, decided);
      }
      // Findings of several rules on one event name each other (ASFF RelatedFindings).
      for (const [id, others] of relatedFindingsByEvent(result.detections)) {
        const key = findingStateKey(id);
        const f = findings.get(key);
        if (f === undefined) continue;
        const related = withRelatedFindings(f, others, nowMs);
        if (related === f) continue;
        findings.set(key, related);
        changes.set(key, related);
      }
      // The rules over findings judge each principal's story, and the findings of one principal within a day of each
      // other name each other, across batches (ASFF RelatedFindings too).
      const context = { findingsRules, suppressions: engine.config.suppressions, homeRegion: engine.config.homeRegion, nowMs };
      await relateFindingsOfPrincipals(store, { findings, changes }, { loaded: existing, planned: principalKeys }, context);
    }
    let ledger = NO_LEDGER;
    if (typeof deps.ledger === 'object') deps.ledger.into.add(result.accepted, result.decidedKmsCalls, result.detections);
    else if (deps.ledger !== undefined) ledger = ledgerOf(result.accepted, result.decidedKmsCalls, result.detections);
    if (deps.ledger === 'state' && (ledger.rows.length > 0 || ledger.accesses.length > 0)) {
      const prior = await store.load([...ledger.rows.map(ledgerRowId), ...ledger.accesses.map(objectAccessId)]);
      for (const row of ledger.rows) {
        const key = ledgerRowId(row);
        const before = prior.get(key);
        changes.set(key, mergeLedgerRow(before?.kind === 'ledger' ? before : undefined, row));
      }
      for (const access of ledger.accesses) {
        const key = objectAccessId(access);
        const before = prior.get(key);
        changes.set(key, mergeObjectAccess(before?.kind === 'object-access' ? before : undefined, access));
      }
    }
    await store.save(changes);
    if (store.expire !== undefined && watermarkMs - expiredUpToMs >= EXPIRY_STEP_MS) {
      await store.expire(watermarkMs - engine.config.correlation.latenessMs);
      expiredUpToMs = watermarkMs;
    }
    return { processed: result.accepted.length, duplicates: result.duplicates, late: result.late, skipped: 0, failed: 0, correlations: result.correlations, findings: [...findings.values()], decidedKmsCalls: result.decidedKmsCalls, ledger };
  }
};

/**
 * `resultAt` with each event outside `window` made skipped (`outside-time-range`) and counted in `outside`. An S3 data
 * event within `edgeMs` (the correlation window) of an edge goes to `matchOnly` too: the S3-made calls just inside the
 * edge may be its.
 */
const outsideWindowSkipped =
  (resultAt: (i: number) => NormalizeResult, window: NonNullable<ProcessorDeps['eventTimes']>, edgeMs: number, matchOnly: S3ObjectAccess[], outside: OutsideWindow) =>
  (i: number): NormalizeResult => {
    const result = resultAt(i);
    if (!result.ok) return result;
    const { event } = result;
    const atMs = event.eventTimeMs;
    if (atMs >= window.fromMs && atMs <= window.toMs) return result;
    if (atMs >= window.fromMs - edgeMs && atMs <= window.toMs + edgeMs && isS3Half(event)) matchOnly.push(event);
    outside.count++;
    if (atMs < outside.firstMs) outside.firstMs = atMs;
    if (atMs > outside.lastMs) outside.lastMs = atMs;
    return OUTSIDE_TIME_RANGE;
  };

/** Keys a batch names (its calls, and those waiting in due slots): by ARN, or by an alias a record revealed. */
const keyArnsOf = (events: readonly MonitorEvent[], due: ReadonlyMap<string, StoredEntry>, aliases: ReadonlyMap<string, StoredEntry>): string[] => {
  const arns = new Set<string>();
  const note = (e: MonitorEvent): void => {
    if (e.kind !== 'kms') return;
    if (e.keyArn !== undefined) arns.add(e.keyArn);
    else if (e.keyAlias !== undefined) {
      const account = aliasAccountOf(e);
      const alias = account !== undefined ? aliases.get(stateKey.alias(account, e.keyAlias)) : undefined;
      if (alias?.kind === 'alias') arns.add(alias.keyArn);
    }
  };
  for (const e of events) note(e);
  for (const entry of due.values()) if (entry.kind === 'correlation') for (const h of entry.kms) note(h.event);
  return [...arns];
};
