/**
 * CloudTrail records as Event history returns them: each an `Event` of LookupEvents' response (the API reference's
 * "Event" data type), the record itself as JSON text in `CloudTrailEvent` beside a summary of it, printed as
 * `aws cloudtrail lookup-events` prints them (AWS CLI v2: times as ISO 8601 text; absent fields left out).
 */
type Json = Record<string, unknown>;

const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/** One record as an Event history event. */
export const eventHistoryEvent = (record: unknown): Json => {
  const r = (typeof record === 'object' && record !== null ? record : {}) as Json;
  const identity = (typeof r['userIdentity'] === 'object' && r['userIdentity'] !== null ? r['userIdentity'] : {}) as Json;
  const issuer = (((identity['sessionContext'] ?? {}) as Json)['sessionIssuer'] ?? {}) as Json;
  const time = text(r['eventTime']);
  const resources = Array.isArray(r['resources']) ? (r['resources'] as Json[]) : [];
  const fields: Json = {
    EventId: text(r['eventID']),
    EventName: text(r['eventName']),
    ReadOnly: r['readOnly'] === undefined ? undefined : String(r['readOnly']),
    AccessKeyId: text(identity['accessKeyId']),
    EventTime: time?.replace(/Z$/, '+00:00'),
    EventSource: text(r['eventSource']),
    Username: text(identity['userName']) ?? text(issuer['userName']),
    Resources: resources.map((x) => ({ ResourceType: text(x['type']), ResourceName: text(x['ARN']) ?? text(x['arn']) })),
    CloudTrailEvent: JSON.stringify(record),
  };
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
};

/** What `aws cloudtrail lookup-events` prints for these records: one page, ending with `nextToken` when more matched. */
export const lookupEventsOutput = (records: readonly unknown[], nextToken?: string): Json => ({
  Events: records.map(eventHistoryEvent),
  ...(nextToken !== undefined ? { NextToken: nextToken } : {}),
});
