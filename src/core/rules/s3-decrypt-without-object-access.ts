import { BASE_TIME_MS, kmsEvent, s3Event } from '../testing/builders.ts';
import { bucketOfS3Arn } from '../correlation/correlate.ts';
import { defineRule, type RuleCase } from './define-rule.ts';
import { keyLabel, principalLabel } from './wording.ts';

export const rule = defineRule({
  id: 's3-decrypt-without-object-access',
  title: 'S3 Decrypt Without A Logged Object Access',
  description:
    'S3 decrypted an SSE-KMS object for a principal, in a bucket whose object reads we do see in CloudTrail data events (a read of it was logged before the call), yet no data event for that object and session arrived within the correlation window. Either data events are being lost (a logging gap) or the object was reached through a path that is not logged.',
  severity: 'MEDIUM',
  status: 'experimental',
  references: ['https://docs.aws.amazon.com/AmazonS3/latest/userguide/cloudtrail-logging-s3-info.html', 'https://attack.mitre.org/techniques/T1562/008/'],
  falsePositives: [
    'Trail event selectors that log only some prefixes or operations of the bucket',
    'Data events delivered later than the correlation lateness (raise correlation.lateness)',
  ],
  tags: ['attack.defense-evasion', 'attack.t1562.008', 'attack.collection'],
  runbook:
    'Check the trail\'s data event selectors for the bucket and prefix. If they should have logged the read, look for delivery problems (CloudTrail delivery errors) and for access paths such as access points or S3 Object Lambda with separate logging.',
  findingTypes: ['Software and Configuration Checks/AWS Security Best Practices', 'TTPs/Defense Evasion'],
  selection: [{ eventSource: 'kms.amazonaws.com', eventNames: ['Decrypt'] }],
  detect: (e, ctx) => {
    if (e.correlation !== 'none' || !e.madeByS3 || e.s3Arn === undefined || e.errorCode !== undefined) return undefined;
    const { bucket, isBucketArn } = bucketOfS3Arn(e.s3Arn);
    if (isBucketArn) return undefined;
    const coverage = ctx.bucketCoverage(bucket);
    if (coverage === undefined || coverage.readEvents === 0) return undefined;
    // Reads logged before the call: a bucket whose reads began to be logged after it had no read of it to log. (What
    // the call is weighed against is fixed by its own time, not by when it was decided, so any split of the input
    // into files or batches gives the same finding, worded the same.)
    const readsSinceMs = coverage.firstReadMs ?? coverage.firstSeenMs;
    if (readsSinceMs > e.eventTimeMs) return undefined;
    return {
      subject: `${bucket}|${e.principal.id}`,
      reason: `S3 decrypted ${e.s3Arn} with key ${keyLabel(e)} for ${principalLabel(e)}, but no S3 data event for that object and session arrived within the correlation window, although object reads of bucket ${bucket} have been logged since ${new Date(readsSinceMs).toISOString()}.`,
    };
  },
});

const object = 'arn:aws:s3:::reports/q3.pdf';
const decrypt = (atMs = BASE_TIME_MS) => kmsEvent({ who: { role: 'Analyst', session: 'alice' }, s3Arn: object, atMs });
const read = (atMs = BASE_TIME_MS, key = 'q3.pdf') => s3Event({ who: { role: 'Analyst', session: 'alice' }, bucket: 'reports', key, atMs });

export const cases = (): readonly RuleCase[] => [
  { name: 'fires for an S3 Decrypt with no data event, in a bucket whose reads are logged', events: [read(BASE_TIME_MS - 3_600_000, 'other.pdf'), decrypt()], expectFindings: 1 },
  { name: 'stays silent when the GetObject arrives in the window', events: [read(BASE_TIME_MS - 3_600_000, 'other.pdf'), decrypt(), read(BASE_TIME_MS + 1_000)], expectFindings: 0 },
  { name: 'stays silent when the GetObject was delivered first', events: [read(BASE_TIME_MS - 3_600_000, 'other.pdf'), read(BASE_TIME_MS), decrypt(BASE_TIME_MS + 2_000)], expectFindings: 0 },
  { name: 'stays silent in a bucket without data events (no gap to report)', events: [decrypt()], expectFindings: 0 },
  { name: 'stays silent in a bucket whose reads began to be logged only after the call', events: [decrypt(), read(BASE_TIME_MS + 3_600_000, 'other.pdf')], expectFindings: 0 },
  {
    name: 'stays silent for a Bucket Key decrypt (its context names only the bucket)',
    events: [read(BASE_TIME_MS - 3_600_000, 'other.pdf'), kmsEvent({ who: { role: 'Analyst', session: 'alice' }, s3Arn: 'arn:aws:s3:::reports' })],
    expectFindings: 0,
  },
];
