import type { Rule, SelectedEventSource } from './define-rule.ts';

const SOURCES: Readonly<Record<SelectedEventSource, string>> = {
  'kms.amazonaws.com': 'aws.kms',
  's3.amazonaws.com': 'aws.s3',
  'cloudtrail.amazonaws.com': 'aws.cloudtrail',
  'events.amazonaws.com': 'aws.events',
};

export interface EventPattern {
  readonly source: readonly string[];
  readonly 'detail-type': readonly string[];
  readonly detail: {
    readonly eventSource: readonly string[];
    readonly eventName?: readonly string[];
    /** The named calls, or any failed call of the source. */
    readonly $or?: readonly [{ readonly eventName: readonly string[] }, { readonly errorCode: readonly [{ readonly exists: true }] }];
  };
}

/** The S3 object operations correlation needs (a KMS call's S3 request), whether or not a rule names them. */
const CORRELATED_S3_OPERATIONS = ['CompleteMultipartUpload', 'CopyObject', 'CreateMultipartUpload', 'GetObject', 'PutObject', 'RestoreObject', 'SelectObjectContent', 'UploadPart', 'UploadPartCopy'];

/**
 * The EventBridge patterns the deployment subscribes with, derived from the rules' selections so the two
 * cannot drift. A source selected with `*` subscribes to every event name of that source. S3's object operations
 * that correlation needs are all subscribed, not only those a rule names, and so are S3 calls a rule names (a
 * bucket's default encryption).
 *
 * Changes to the monitor's own EventBridge rules (`events.amazonaws.com`) ride on two of the three rules, the S3
 * and the trail-change rule, so that disabling either is seen through the other. A pattern's fields match
 * independently, so a pattern of two sources also admits one source's event source with the other's names;
 * CloudTrail writes no such events.
 */
export const eventPatternsFor = (rules: readonly Rule[]): Record<'kms' | 's3' | 'cloudtrail', EventPattern> => {
  const names = new Map<SelectedEventSource, Set<string>>();
  const failedOnly = new Set<SelectedEventSource>();
  for (const rule of rules) {
    for (const sel of rule.selection) {
      // Network activity events add no subscription: that CloudTrail sends them to EventBridge, and how, is not
      // documented (docs/rules.md says so of the rules that read them). The patterns stay those of the calls (which,
      // testing no eventCategory, would take the network records of the calls they name, were they sent).
      if (sel.networkActivity === true) continue;
      if (sel.onlyFailed === true && sel.eventNames.includes('*')) {
        failedOnly.add(sel.eventSource);
        continue;
      }
      const set = names.get(sel.eventSource) ?? new Set<string>();
      for (const n of sel.eventNames) set.add(n);
      names.set(sel.eventSource, set);
    }
  }
  const pattern = (source: SelectedEventSource, eventNames?: readonly string[]): EventPattern => {
    const selected = names.get(source) ?? new Set<string>();
    const list = eventNames ?? (selected.has('*') ? undefined : [...selected].sort());
    const base = { source: [SOURCES[source]], 'detail-type': ['AWS API Call via CloudTrail'] };
    if (list === undefined) return { ...base, detail: { eventSource: [source] } };
    if (failedOnly.has(source)) return { ...base, detail: { eventSource: [source], $or: [{ eventName: list }, { errorCode: [{ exists: true }] }] } };
    return { ...base, detail: { eventSource: [source], eventName: list } };
  };
  /** `main`, also carrying the named calls of the monitor's own EventBridge rules. */
  const withMonitorRules = (main: EventPattern): EventPattern => {
    const watched = pattern('events.amazonaws.com');
    if (main.detail.eventName === undefined || watched.detail.eventName === undefined || main.detail.$or !== undefined || watched.detail.$or !== undefined) {
      throw new Error('the EventBridge rule changes ride on patterns of named calls only');
    }
    if (watched.detail.eventName.length === 0) return main;
    return {
      ...main,
      source: [...main.source, ...watched.source],
      detail: { eventSource: [...main.detail.eventSource, ...watched.detail.eventSource], eventName: [...main.detail.eventName, ...watched.detail.eventName] },
    };
  };
  return {
    kms: pattern('kms.amazonaws.com'),
    s3: withMonitorRules(pattern('s3.amazonaws.com', [...new Set([...CORRELATED_S3_OPERATIONS, ...(names.get('s3.amazonaws.com') ?? [])])].sort())),
    cloudtrail: withMonitorRules(pattern('cloudtrail.amazonaws.com')),
  };
};
