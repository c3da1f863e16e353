import type { Rule, SelectedEventSource } from './define-rule.ts';

const SOURCES: Readonly<Record<SelectedEventSource, string>> = {
  'kms.amazonaws.com': 'aws.kms',
  's3.amazonaws.com': 'aws.s3',
  'cloudtrail.amazonaws.com': 'aws.cloudtrail',
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

/**
 * The EventBridge patterns the deployment subscribes with, derived from the rules' selections so the two
 * cannot drift. A source selected with `*` subscribes to every event name of that source. S3 object events
 * are all subscribed (correlation needs every data event, not only those a rule names).
 */
export const eventPatternsFor = (rules: readonly Rule[]): Record<'kms' | 's3' | 'cloudtrail', EventPattern> => {
  const names = new Map<SelectedEventSource, Set<string>>();
  const failedOnly = new Set<SelectedEventSource>();
  for (const rule of rules) {
    for (const sel of rule.selection) {
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
  return {
    kms: pattern('kms.amazonaws.com'),
    s3: pattern('s3.amazonaws.com', ['CompleteMultipartUpload', 'CopyObject', 'CreateMultipartUpload', 'GetObject', 'PutObject', 'RestoreObject', 'SelectObjectContent', 'UploadPart', 'UploadPartCopy']),
    cloudtrail: pattern('cloudtrail.amazonaws.com'),
  };
};
