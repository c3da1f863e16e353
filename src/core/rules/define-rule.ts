import type { ConfigFile } from '../config.ts';
import type { KeyFactsLookup } from '../key-facts.ts';
import { RuleDefinitionError } from '../errors.ts';
import { NETWORK_ACTIVITY_SOURCES, type KMS_EVENT_SOURCE, type OTHER_SELECTABLE_SOURCES, type S3_EVENT_SOURCE } from '../events/normalize.ts';
import type { KmsCall, MonitorEvent, OtherApiCall, S3ObjectAccess, VpcEndpointCall } from '../events/types.ts';
import type { NetworkList } from '../network.ts';
import type { BucketCoverage, EndpointBaseline, KeyBaseline, PrincipalBaseline } from '../state.ts';

/** The ASFF severity labels; Sigma's levels map one to one. */
export type Severity = 'INFORMATIONAL' | 'LOW' | 'MEDIUM' | 'HIGH' | 'CRITICAL';
export const SEVERITIES: readonly Severity[] = ['INFORMATIONAL', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL'];
/** Whether a text (in capitals) names a severity. */
export const isSeverity = (text: string): text is Severity => (SEVERITIES as readonly string[]).includes(text);

export type RuleStatus = 'experimental' | 'test' | 'stable' | 'deprecated';

export type SelectedEventSource = typeof KMS_EVENT_SOURCE | typeof S3_EVENT_SOURCE | (typeof OTHER_SELECTABLE_SOURCES)[number];

/** Which CloudTrail events a rule looks at: data, so the EventBridge patterns and the pre-filter derive from it. */
export interface RuleSelection {
  readonly eventSource: SelectedEventSource;
  readonly eventNames: readonly string[];
  /** The rule looks only at failed calls (with an errorCode): lets the subscription stay narrow. */
  readonly onlyFailed?: boolean;
  /**
   * The rule looks at the source's network activity events (VpcEndpointCall), not at its calls: the VPC endpoint
   * owner's records of the calls through its endpoints. Only KMS and S3 (NETWORK_ACTIVITY_SOURCES).
   */
  readonly networkActivity?: boolean;
}

export interface RuleMetadata {
  /** kebab-case, equal to the file name; a public contract (suppressions, routing and counts use it). */
  readonly id: string;
  readonly title: string;
  readonly description: string;
  readonly severity: Severity;
  readonly status: RuleStatus;
  readonly references: readonly string[];
  readonly falsePositives: readonly string[];
  /** `attack.<tactic>` / `attack.t<id>` tags. */
  readonly tags: readonly string[];
  /** Triage and response steps; becomes the finding's remediation text. */
  readonly runbook: string;
  /** ASFF `Types` (namespace/category/classifier). */
  readonly findingTypes: readonly string[];
}

/** Per-rule settings after defaults and configuration are merged. */
export interface RuleSettings {
  readonly enabled: boolean;
  readonly severity: Severity;
  readonly threshold: number;
  readonly windowMs: number;
}

/**
 * What a rule may ask of the engine while it decides: all pure, all over loaded state. Valid during the `detect` call
 * it is given to, and only then: the engine hands the same object to the event's next rule.
 */
export interface RuleContext {
  readonly settings: RuleSettings;
  readonly learningPeriodMs: number;
  /** The key's baseline as it stood before this event (undefined if the key is new). */
  keyBaseline(keyArn: string): Readonly<KeyBaseline> | undefined;
  /** True while the key is inside its learning period at this event's time. */
  isLearning(keyArn: string, eventTimeMs: number): boolean;
  /** The event principal's baseline as it stood before this event (undefined if new). */
  principalBaseline(): Readonly<PrincipalBaseline> | undefined;
  /** True while the event's principal is inside its own learning period. */
  isPrincipalLearning(): boolean;
  /** The accounts seen calling through a VPC endpoint, as they stood before this event (undefined if new). */
  endpointBaseline(vpcEndpointId: string): Readonly<EndpointBaseline> | undefined;
  /** True while the endpoint is inside its learning period at this event's time. */
  isEndpointLearning(vpcEndpointId: string): boolean;
  /** While the principal learns, remembers the highest window count it reached for this rule. */
  notePeak(count: number): void;
  /** Event time at which history began for this key (its first call), for plain-words reasons. */
  historyStartMs(keyArn: string): number | undefined;
  /**
   * Counts this event into the rule's event-time window (grouped by the rule's `windowGroup`), tracking
   * distinct `member`s when given, and returns a sliding estimate over the last window length. Undefined
   * when the rule declares no window group for the event.
   */
  countInWindow(member?: string): WindowView | undefined;
  /** Marks the current window as having fired, so one window raises one detection. */
  markWindowFired(): void;
  /** What is known of a bucket's logging and encryption (data events seen, Bucket Keys, SSE types). */
  bucketCoverage(bucket: string): Readonly<BucketCoverage> | undefined;
  /** Best known alias for a key ARN. */
  aliasOf(keyArn: string): string | undefined;
  readonly keyPolicy: KeyPolicyView;
}

/** A window rule's view of its current window. */
export interface WindowView {
  /** Sliding estimate: this window plus the overlapping share of the previous one. */
  readonly count: number;
  /** Distinct members of the current window (bounded). */
  readonly members: readonly string[];
  /** This burst already raised its detection. */
  readonly fired: boolean;
}

/** What the configuration says about keys, principals and accounts (issue #3 fills it from YAML). */
export interface KeyPolicyView {
  isSensitiveKey(keyArn: string, alias: string | undefined): boolean;
  /** undefined: the configuration says nothing; true/false: allowed or not. */
  isPrincipalAllowed(keyArn: string, alias: string | undefined, principalId: string): boolean | undefined;
  isRegionAllowed(keyArn: string, alias: string | undefined, region: string): boolean | undefined;
  /**
   * undefined: the configuration lists no networks for the key; true/false: whether a call through this VPC endpoint
   * (or none) from this address is in every list that applies (the key's, and the one for all keys).
   */
  isNetworkAllowed(keyArn: string, alias: string | undefined, vpcEndpointId: string | undefined, sourceIp: string | undefined): boolean | undefined;
  /** The entries of those lists, for a finding to name. */
  allowedNetworks(keyArn: string, alias: string | undefined): readonly string[] | undefined;
  isAccountTrusted(accountId: string): boolean;
  requiredContext(keyArn: string, alias: string | undefined): Readonly<Record<string, string | null>> | undefined;
  requiredBucketKey(bucket: string): string | undefined;
  /**
   * The networks the configuration allows the bucket's S3 requests to come through or from (its exact name first,
   * then the first pattern that matches); undefined when it lists none for the bucket.
   */
  bucketNetworks(bucket: string): NetworkList | undefined;
  /** Which KMS lookups the configuration's key selectors need (tags, aliases KMS knows). */
  readonly needs: { readonly tags: boolean; readonly aliases: boolean };
  /** The same policy, with key selectors also matching what KMS says about each key (tags, aliases). */
  withKeyFacts(facts: KeyFactsLookup): KeyPolicyView;
}

/**
 * What a finding is about besides the key, the object and the caller: a CloudTrail trail, the principal a KMS grant
 * let use the key (its `arn` the grantee as the grant names it: an IAM ARN, or another principal id), or the VPC
 * endpoint a call came through.
 */
export interface AffectedResource {
  readonly type: 'AwsCloudTrailTrail' | 'KmsGrantee' | 'AwsEc2VpcEndpoint';
  readonly arn: string;
  readonly name: string;
}

/** One rule's verdict on one event. */
export interface Detection {
  readonly ruleId: string;
  readonly severity: Severity;
  /** What the finding is about (e.g. `principal|key`): with the rule and window it makes the finding id. */
  readonly subject: string;
  /** Findings on the same subject within this event-time window aggregate into one. */
  readonly aggregationWindowMs: number;
  /** Why it is unusual, in plain words, naming principal, key and what is normal. */
  readonly reason: string;
  readonly event: MonitorEvent;
  /** What the finding is about besides the event's key, object and caller. */
  readonly resource?: AffectedResource;
  /**
   * The key and bucket of a detection whose event is neither a KMS call nor an S3 access but names them (a bucket's
   * default encryption): the finding names them as it names a KMS call's key and an S3 access's bucket.
   */
  readonly key?: { readonly arn: string; readonly alias?: string; readonly accountId?: string };
  readonly bucket?: string;
  /**
   * When what the detection stands for began, when before its event. A window rule's detection gets its window's
   * first call from the engine, with the window's first calls as `relatedEventIds`.
   */
  readonly firstSeenMs?: number;
  /** Further evidence ids (e.g. the other calls in a burst window). */
  readonly relatedEventIds?: readonly string[];
  /** Events this detection stands for (a window rule counts the whole burst). */
  readonly eventCount?: number;
}

export type DetectionDraft = Omit<Detection, 'ruleId' | 'severity' | 'aggregationWindowMs' | 'event'> & {
  readonly severity?: Severity;
  readonly aggregationWindowMs?: number;
};

/** The events a selection of the source reaches: S3's calls that access no object (bucket settings) come as OtherApiCall. */
type EventOf<S extends SelectedEventSource> = S extends 'kms.amazonaws.com'
  ? KmsCall
  : S extends 's3.amazonaws.com'
    ? S3ObjectAccess | OtherApiCall
    : OtherApiCall;

export interface Rule<E extends MonitorEvent = MonitorEvent> extends RuleMetadata {
  readonly selection: readonly RuleSelection[];
  /** Default threshold and window (for window rules). */
  readonly defaults?: { readonly threshold?: number; readonly windowMinutes?: number };
  /** For window rules: the group an event counts in (e.g. its principal), so state can be planned per batch. */
  readonly windowGroup?: (event: E) => string | undefined;
  /**
   * Key ARNs whose baselines `detect` reads for the event besides those the engine plans for every event (a KMS
   * call's key and a ReEncrypt's destination, the key an S3 write names), so state can be planned per batch.
   */
  readonly keyBaselinesRead?: (event: E) => readonly string[];
  /** Decides on one event. Pure: everything it needs comes through `ctx`. */
  readonly detect: (event: E, ctx: RuleContext) => DetectionDraft | undefined;
  /**
   * For a rule over findings (`defineFindingsRule`), which selects no events: decides on what one principal's
   * findings of the other rules tell within one of the rule's windows. Pure.
   */
  readonly judgeStory?: (story: PrincipalStory, settings: RuleSettings) => StoryVerdict | undefined;
}

/** One of a principal's findings as a rule over findings sees it. */
export interface StoryFinding {
  readonly id: string;
  readonly ruleId: string;
  readonly firstSeenMs: number;
  readonly lastSeenMs: number;
  readonly eventCount: number;
  /** Where it is: its account (when known) and Region. */
  readonly accountId?: string;
  readonly region: string;
}

/**
 * What one principal's findings tell within one window of event time (the rule's window, aligned as a finding's
 * aggregation window is): its findings of other rules seen in it, suppressed ones left out, in the order of their ids.
 */
export interface PrincipalStory {
  /** Its stable identity (an assumed role's ARN with the session folded away), as `FindingRecord.principal.id`. */
  readonly principal: { readonly id: string };
  readonly windowStartMs: number;
  readonly windowMs: number;
  readonly findings: readonly StoryFinding[];
}

/** A rule over findings' verdict on a story: why it is unusual, in plain words. */
export interface StoryVerdict {
  readonly reason: string;
}

export interface RuleCase {
  readonly name: string;
  /** Events in delivery order; the engine sorts each batch by event time as it would in production. */
  readonly events: readonly MonitorEvent[];
  /** Number of findings (after aggregation) the rule must produce. */
  readonly expectFindings: number;
  /** When set, every finding must carry this severity. */
  readonly expectSeverity?: Severity;
  /** When set, every finding's reason must include this text (what the analyst is told, not only that it fired). */
  readonly expectReasonIncludes?: string;
  /** Optional engine settings for the case (e.g. a short learning period). */
  readonly learningPeriodMs?: number;
  /** Optional configuration for the case, as it would be written in kdm.config.yaml. */
  readonly config?: ConfigFile;
}

const KEBAB = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
/** ASFF's limit on `Remediation.Recommendation.Text`, where a finding carries its rule's runbook. */
export const RUNBOOK_MAX = 512;

/** The events a selection reaches: a source's calls, or with `networkActivity` its network activity events. */
type SelectedEvent<S extends SelectedEventSource, N extends boolean> = N extends true ? VpcEndpointCall : EventOf<S>;

/** Declares a rule with its selection as data; checks the metadata once, at load time. */
export const defineRule = <S extends SelectedEventSource, N extends boolean = false>(
  rule: RuleMetadata & {
    readonly selection: readonly (RuleSelection & { readonly eventSource: S; readonly networkActivity?: N })[];
    readonly defaults?: { readonly threshold?: number; readonly windowMinutes?: number };
    readonly windowGroup?: (event: SelectedEvent<S, N>) => string | undefined;
    readonly keyBaselinesRead?: (event: SelectedEvent<S, N>) => readonly string[];
    readonly detect: (event: SelectedEvent<S, N>, ctx: RuleContext) => DetectionDraft | undefined;
  },
): Rule => {
  const problems = metadataProblems(rule);
  if (rule.selection.length === 0 || rule.selection.some((s) => s.eventNames.length === 0)) problems.push('selection must name event names');
  if (rule.selection.some((s) => s.networkActivity === true && !NETWORK_ACTIVITY_SOURCES.has(s.eventSource))) problems.push('network activity is kept for KMS and S3 only');
  if (new Set(rule.selection.map((s) => s.networkActivity === true)).size > 1) problems.push('a rule selects network activity events or calls, not both');
  if (problems.length > 0) throw new RuleDefinitionError(`rule ${rule.id}: ${problems.join('; ')}`);
  return rule as unknown as Rule;
};

/**
 * Declares a rule over findings: it selects no events, and judges each principal's story (`judgeStory`) once a
 * batch's findings are made, over the findings of the other rules kept in the principal's entry. Its window (the
 * story's span) and threshold are settings like any rule's.
 */
export const defineFindingsRule = (
  rule: RuleMetadata & {
    readonly defaults: { readonly threshold: number; readonly windowMinutes: number };
    readonly judgeStory: (story: PrincipalStory, settings: RuleSettings) => StoryVerdict | undefined;
  },
): Rule => {
  const problems = metadataProblems(rule);
  if (problems.length > 0) throw new RuleDefinitionError(`rule ${rule.id}: ${problems.join('; ')}`);
  return { ...rule, selection: [], detect: () => undefined };
};

/** Whether a rule judges findings (`defineFindingsRule`) rather than events. */
export const isFindingsRule = (rule: Rule): rule is Rule & { readonly judgeStory: NonNullable<Rule['judgeStory']> } => rule.judgeStory !== undefined;

const metadataProblems = (rule: RuleMetadata): string[] => {
  const problems: string[] = [];
  if (!KEBAB.test(rule.id)) problems.push('id must be kebab-case');
  if (rule.title.length === 0 || rule.title.length > 80) problems.push('title must be 1-80 characters');
  if (rule.falsePositives.length === 0) problems.push('falsePositives must list at least one reason ("none known" counts)');
  if (rule.findingTypes.length === 0) problems.push('findingTypes must not be empty');
  // A finding carries the runbook whole: as ASFF's Remediation.Recommendation.Text, at most 512 characters.
  if (rule.runbook.length === 0 || rule.runbook.length > RUNBOOK_MAX) problems.push(`runbook must be 1-${RUNBOOK_MAX} characters, to reach Security Hub whole (it has ${rule.runbook.length})`);
  if (rule.references.some((r) => !/^https:\/\//.test(r))) problems.push('references must be https URLs');
  return problems;
};
