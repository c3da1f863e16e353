import { isObject, type JsonObject } from '../events/fields.ts';
import { partitionOfRegion } from '../events/normalize.ts';
import { otherEvent } from '../testing/builders.ts';
import { defineRule, type AffectedResource, type RuleCase } from './define-rule.ts';
import { principalLabel } from './wording.ts';

const list = (v: unknown): JsonObject[] => (Array.isArray(v) ? v.filter(isObject) : []);
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : typeof v === 'string' ? [v] : []);
const field = (o: JsonObject, name: string): unknown => o[name] ?? o[name.charAt(0).toUpperCase() + name.slice(1)];

const READ_ONLY_GAP = 'only read-only management events are logged, so key deletions, key policy changes and changes to the trail itself are not';

/** What a new set of event selectors stops logging, in plain words (empty when nothing we need is lost). */
export const selectorGaps = (rp: JsonObject | undefined): { kms: string[]; s3: string[] } => {
  const kms: string[] = [];
  const s3: string[] = [];
  if (rp === undefined) return { kms, s3 };
  const basic = list(field(rp, 'eventSelectors'));
  const advanced = list(field(rp, 'advancedEventSelectors'));
  if (basic.length > 0) {
    if (basic.some((s) => strings(field(s, 'excludeManagementEventSources')).includes('kms.amazonaws.com'))) kms.push('the selectors exclude KMS management events (ExcludeManagementEventSources)');
    // readWriteType applies to everything a selector logs: only the selectors that include management events say which of those are logged.
    const management = basic.filter((s) => field(s, 'includeManagementEvents') !== false);
    if (management.length === 0) kms.push('management events, and with them every KMS call, are no longer logged');
    else if (management.every((s) => field(s, 'readWriteType') === 'WriteOnly')) kms.push('only write management events are logged, so read-only calls such as Decrypt are not');
    else if (management.every((s) => field(s, 'readWriteType') === 'ReadOnly')) kms.push(READ_ONLY_GAP);
    // A data resource logs only the buckets and prefixes its Values name, and only what the selector's readWriteType lets through.
    const s3Resources = basic.flatMap((s) => list(field(s, 'dataResources')).filter((d) => field(d, 'type') === 'AWS::S3::Object').map((d) => ({ s, d })));
    const naming = s3Resources.filter(({ d }) => strings(field(d, 'values')).length > 0);
    if (s3Resources.length === 0) s3.push('no S3 object data events are selected');
    else if (naming.length === 0) s3.push('the S3 object data resources name no bucket (empty Values), so no object access is logged');
    else if (naming.every(({ s }) => field(s, 'readWriteType') === 'WriteOnly')) s3.push('S3 object data events are logged for writes only, so GetObject is not');
  } else if (advanced.length > 0) {
    const selectorsOf = (s: JsonObject) => list(field(s, 'fieldSelectors'));
    const eq = (s: JsonObject, name: string): string[] => selectorsOf(s).filter((f) => field(f, 'field') === name).flatMap((f) => strings(field(f, 'equals')));
    const neq = (s: JsonObject, name: string): string[] => selectorsOf(s).filter((f) => field(f, 'field') === name).flatMap((f) => strings(field(f, 'notEquals')));
    const management = advanced.filter((s) => eq(s, 'eventCategory').includes('Management'));
    if (management.length === 0) kms.push('no advanced selector logs management events, so no KMS call is logged');
    else {
      if (management.every((s) => neq(s, 'eventSource').includes('kms.amazonaws.com'))) kms.push('the management selectors exclude eventSource kms.amazonaws.com');
      if (management.every((s) => eq(s, 'readOnly').includes('false'))) kms.push('only write management events are logged, so read-only calls such as Decrypt are not');
      else if (management.every((s) => eq(s, 'readOnly').includes('true'))) kms.push(READ_ONLY_GAP);
    }
    const s3Selectors = advanced.filter((s) => eq(s, 'eventCategory').includes('Data') && eq(s, 'resources.type').includes('AWS::S3::Object'));
    if (s3Selectors.length === 0) s3.push('no advanced selector logs S3 object data events');
    else if (s3Selectors.every((s) => eq(s, 'readOnly').includes('false'))) s3.push('S3 object data events are logged for writes only (readOnly false), so GetObject is not');
  }
  return { kms, s3 };
};

const TRAIL_ARN = /^arn:[^:]+:cloudtrail:[^:]*:(\d{12}):trail\/(.+)$/;
const ACCOUNT_ID = /^\d{12}$/;

interface NamedTrail {
  /** As the call wrote it, for the reason. */
  readonly text: string;
  /** Account and name: CloudTrail takes a trail's name or its ARN, and both must make one finding. */
  readonly identity: string;
  /** The trail as a finding's resource; undefined when neither the call nor the record says whose it is. */
  readonly resource: AffectedResource | undefined;
}

/**
 * The trail a call names (`name`, or `trailName` for selectors). A bare name is a trail of the account and region
 * the call was made in: CloudTrail changes a trail only from its home region.
 */
export const trailOf = (rp: JsonObject | undefined, region: string, accountId: string | undefined): NamedTrail => {
  const named = rp?.['name'] ?? rp?.['trailName'];
  if (typeof named !== 'string' || named === '') return { text: 'unknown trail', identity: `${accountId ?? ''}|`, resource: undefined };
  const arn = TRAIL_ARN.exec(named);
  if (arn) return { text: named, identity: `${arn[1]}|${arn[2]}`, resource: { type: 'AwsCloudTrailTrail', arn: named, name: arn[2] as string } };
  const resource: AffectedResource | undefined =
    accountId !== undefined && ACCOUNT_ID.test(accountId)
      ? { type: 'AwsCloudTrailTrail', arn: `arn:${partitionOfRegion(region)}:cloudtrail:${region}:${accountId}:trail/${named}`, name: named }
      : undefined;
  return { text: named, identity: `${accountId ?? ''}|${named}`, resource };
};

export const rule = defineRule({
  id: 'cloudtrail-kms-blind-spot',
  title: 'CloudTrail Stops Logging KMS Or S3 Data Events',
  description:
    'A trail was stopped or deleted, made to log one region only, or its event selectors were changed so that KMS management events (Decrypt and GenerateDataKey, or key deletions, key policy changes and trail changes) or S3 object data events stop being logged. Every other rule here goes blind when that happens; attackers do it first.',
  severity: 'HIGH',
  status: 'test',
  references: ['https://attack.mitre.org/techniques/T1562/008/', 'https://docs.aws.amazon.com/awscloudtrail/latest/userguide/logging-management-events-with-cloudtrail.html'],
  falsePositives: [
    'Cost work that moves KMS or data events to another trail or to CloudTrail Lake (check that another trail still logs them)',
    'Infrastructure as code restating a single-region trail (UpdateTrail with isMultiRegionTrail false on a trail that never logged other regions)',
  ],
  tags: ['attack.defense-evasion', 'attack.t1562.008'],
  runbook:
    'Check whether another trail still logs KMS management and S3 data events for the account. If not, restore the trail (StartLogging; UpdateTrail --is-multi-region-trail; or the previous selectors from CloudTrail PutEventSelectors history) and investigate the principal that changed it.',
  findingTypes: ['TTPs/Defense Evasion', 'Software and Configuration Checks/AWS Security Best Practices'],
  selection: [{ eventSource: 'cloudtrail.amazonaws.com', eventNames: ['StopLogging', 'DeleteTrail', 'UpdateTrail', 'PutEventSelectors'] }],
  detect: (e) => {
    if (e.errorCode !== undefined) return undefined;
    const rp = e.requestParameters;
    const { text: trail, identity, resource } = trailOf(rp, e.region, e.recipientAccountId ?? e.principal.accountId);
    // Stopping, deleting and reselecting are each their own finding: each asks for its own repair.
    const subject = `${identity}|${e.eventName}`;
    const about = resource !== undefined ? { resource } : {};
    if (e.eventName === 'StopLogging' || e.eventName === 'DeleteTrail') {
      return { subject, ...about, reason: `${principalLabel(e)} ${e.eventName === 'StopLogging' ? 'stopped logging on' : 'deleted'} trail ${trail} in ${e.region}: KMS and S3 events it carried are no longer recorded.` };
    }
    if (e.eventName === 'UpdateTrail') {
      // Other changes (a new bucket, a new KMS key for the log files) keep every event logged.
      const multiRegion = rp?.['isMultiRegionTrail'];
      if (multiRegion !== false && multiRegion !== 'false') return undefined;
      return {
        subject,
        ...about,
        severity: 'MEDIUM',
        reason: `${principalLabel(e)} made trail ${trail} log ${e.region} only: KMS calls and S3 data events in every other region are no longer recorded by it.`,
      };
    }
    const gaps = selectorGaps(rp);
    if (gaps.kms.length === 0 && gaps.s3.length === 0) return undefined;
    return {
      subject,
      ...about,
      ...(gaps.kms.length === 0 ? { severity: 'MEDIUM' as const } : {}),
      reason: `${principalLabel(e)} changed the event selectors of trail ${trail} in ${e.region}: ${[...gaps.kms, ...gaps.s3].join('; ')}.`,
    };
  },
});

const ct = (eventName: string, requestParameters: Record<string, unknown>) => otherEvent('cloudtrail.amazonaws.com', eventName, { requestParameters });
const s3Data = { dataResources: [{ type: 'AWS::S3::Object', values: ['arn:aws:s3:::reports/'] }] };

export const cases = (): readonly RuleCase[] => [
  { name: 'fires on StopLogging', events: [ct('StopLogging', { name: 'org-trail' })], expectFindings: 1 },
  { name: 'fires on DeleteTrail', events: [ct('DeleteTrail', { name: 'org-trail' })], expectFindings: 1 },
  {
    name: 'fires when selectors exclude KMS events',
    events: [ct('PutEventSelectors', { trailName: 'org-trail', eventSelectors: [{ readWriteType: 'All', includeManagementEvents: true, excludeManagementEventSources: ['kms.amazonaws.com'], ...s3Data }] })],
    expectFindings: 1,
    expectSeverity: 'HIGH',
  },
  {
    name: 'fires when advanced selectors drop eventSource kms.amazonaws.com',
    events: [ct('PutEventSelectors', { trailName: 't', advancedEventSelectors: [
      { name: 'mgmt', fieldSelectors: [{ field: 'eventCategory', equals: ['Management'] }, { field: 'eventSource', notEquals: ['kms.amazonaws.com'] }] },
      { name: 's3', fieldSelectors: [{ field: 'eventCategory', equals: ['Data'] }, { field: 'resources.type', equals: ['AWS::S3::Object'] }] },
    ] })],
    expectFindings: 1,
  },
  {
    name: 'raises MEDIUM when only S3 data events are dropped',
    events: [ct('PutEventSelectors', { trailName: 't', eventSelectors: [{ readWriteType: 'All', includeManagementEvents: true, dataResources: [] }] })],
    expectFindings: 1,
    expectSeverity: 'MEDIUM',
  },
  {
    name: 'raises MEDIUM when the S3 object data resource names no bucket (empty Values)',
    events: [ct('PutEventSelectors', { trailName: 't', eventSelectors: [{ readWriteType: 'All', includeManagementEvents: true, dataResources: [{ type: 'AWS::S3::Object', values: [] }] }] })],
    expectFindings: 1,
    expectSeverity: 'MEDIUM',
  },
  {
    name: 'raises HIGH when selectors turn write-only: neither Decrypt nor GetObject is logged',
    events: [ct('PutEventSelectors', { trailName: 't', eventSelectors: [{ readWriteType: 'WriteOnly', includeManagementEvents: true, ...s3Data }] })],
    expectFindings: 1,
    expectSeverity: 'HIGH',
  },
  {
    name: 'raises HIGH when selectors turn read-only: key deletions and trail changes go unlogged',
    events: [ct('PutEventSelectors', { trailName: 't', eventSelectors: [{ readWriteType: 'ReadOnly', includeManagementEvents: true, ...s3Data }] })],
    expectFindings: 1,
    expectSeverity: 'HIGH',
  },
  {
    name: 'raises HIGH when the advanced management selector keeps read-only events only',
    events: [ct('PutEventSelectors', { trailName: 't', advancedEventSelectors: [
      { name: 'mgmt', fieldSelectors: [{ field: 'eventCategory', equals: ['Management'] }, { field: 'readOnly', equals: ['true'] }] },
      { name: 's3', fieldSelectors: [{ field: 'eventCategory', equals: ['Data'] }, { field: 'resources.type', equals: ['AWS::S3::Object'] }] },
    ] })],
    expectFindings: 1,
    expectSeverity: 'HIGH',
  },
  {
    name: 'raises MEDIUM when advanced selectors log S3 object writes only',
    events: [ct('PutEventSelectors', { trailName: 't', advancedEventSelectors: [
      { name: 'mgmt', fieldSelectors: [{ field: 'eventCategory', equals: ['Management'] }] },
      { name: 's3', fieldSelectors: [{ field: 'eventCategory', equals: ['Data'] }, { field: 'resources.type', equals: ['AWS::S3::Object'] }, { field: 'readOnly', equals: ['false'] }] },
    ] })],
    expectFindings: 1,
    expectSeverity: 'MEDIUM',
  },
  {
    name: 'stays silent when one selector logs S3 writes and another logs every S3 object access',
    events: [ct('PutEventSelectors', { trailName: 't', eventSelectors: [
      { readWriteType: 'WriteOnly', includeManagementEvents: false, ...s3Data },
      { readWriteType: 'All', includeManagementEvents: true, ...s3Data },
    ] })],
    expectFindings: 0,
  },
  {
    name: 'stays silent for selectors that keep KMS and S3 data events',
    events: [ct('PutEventSelectors', { trailName: 't', eventSelectors: [{ readWriteType: 'All', includeManagementEvents: true, ...s3Data }] })],
    expectFindings: 0,
  },
  {
    name: 'raises one finding for each thing done to a trail: logging stopped, then the trail deleted',
    events: [ct('StopLogging', { name: 'org-trail' }), ct('DeleteTrail', { name: 'org-trail' })],
    expectFindings: 2,
    expectSeverity: 'HIGH',
  },
  {
    name: 'takes a trail named by its ARN and by its name for one trail',
    events: [ct('StopLogging', { name: 'arn:aws:cloudtrail:us-east-1:111122223333:trail/org-trail' }), ct('StopLogging', { name: 'org-trail' })],
    expectFindings: 1,
  },
  {
    name: 'raises HIGH for a trail whose selectors first drop S3 data events and then KMS events',
    events: [
      ct('PutEventSelectors', { trailName: 't', eventSelectors: [{ readWriteType: 'All', includeManagementEvents: true, dataResources: [] }] }),
      ct('PutEventSelectors', { trailName: 't', eventSelectors: [{ readWriteType: 'All', includeManagementEvents: false, ...s3Data }] }),
    ],
    expectFindings: 1,
    expectSeverity: 'HIGH',
  },
  { name: 'raises MEDIUM when a trail is made to log its own region only', events: [ct('UpdateTrail', { name: 'org-trail', isMultiRegionTrail: false })], expectFindings: 1, expectSeverity: 'MEDIUM' },
  { name: 'stays silent for an UpdateTrail that keeps every region (a new bucket)', events: [ct('UpdateTrail', { name: 'org-trail', s3BucketName: 'new-logs', isMultiRegionTrail: true })], expectFindings: 0 },
  { name: 'stays silent for StartLogging', events: [ct('StartLogging', { name: 't' })], expectFindings: 0 },
];
