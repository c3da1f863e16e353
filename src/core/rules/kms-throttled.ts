import { KMS_CRYPTO_OPERATION_SET, KMS_KEY_USE_OPERATIONS, KMS_THROTTLING_ERRORS } from '../events/kms-operations.ts';
import { BASE_TIME_MS, kmsEvent } from '../testing/builders.ts';
import { defineRule, type RuleCase } from './define-rule.ts';
import { keyLabel, principalLabel } from './wording.ts';

export const rule = defineRule({
  id: 'kms-throttled',
  title: 'KMS Cryptographic Calls Throttled',
  description:
    'KMS answered cryptographic calls with ThrottlingException: the account is near its shared request quota for cryptographic operations in the region. S3 SSE-KMS without Bucket Keys is the usual cause; throttled reads, writes and signatures fail for applications.',
  severity: 'LOW',
  status: 'stable',
  references: ['https://docs.aws.amazon.com/kms/latest/developerguide/requests-per-second.html', 'https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-key.html'],
  falsePositives: ['Load tests', 'Short spikes that the callers retry successfully'],
  tags: ['attack.impact', 'attack.t1499'],
  runbook:
    'Find the callers driving the volume (the evidence names them). For S3 traffic, enable S3 Bucket Keys on the bucket (up to 99% fewer KMS calls); for applications, cache data keys. Signatures, MACs and shared secrets cannot be cached: a caller signing far more than it did may not be the usual one, so confirm it before anything else. Request a quota increase only after that.',
  findingTypes: ['Effects/Resource Consumption', 'Software and Configuration Checks/AWS Security Best Practices'],
  selection: [{ eventSource: 'kms.amazonaws.com', eventNames: KMS_KEY_USE_OPERATIONS }],
  detect: (e) => {
    if (e.errorCode === undefined || !KMS_THROTTLING_ERRORS.has(e.errorCode)) return undefined;
    const hint = e.madeByS3
      ? ' The call was made by S3 for an SSE-KMS object: enabling S3 Bucket Keys on that bucket removes most of these calls.'
      : KMS_CRYPTO_OPERATION_SET.has(e.eventName)
        ? ' Consider caching data keys in the calling application.'
        : ' A signature, HMAC or shared secret cannot be cached as a data key can: find what drives the volume, since a caller that suddenly signs this much may not be the usual one.';
    return {
      subject: e.keyArn ?? `${e.region}|unknown-key`,
      reason: `${e.eventName} with key ${keyLabel(e)} by ${principalLabel(e)} was throttled (${e.errorCode}) in ${e.region}.${hint}`,
    };
  },
});

export const cases = (): readonly RuleCase[] => [
  { name: 'fires for a throttled GenerateDataKey made by S3', events: [kmsEvent({ eventName: 'GenerateDataKey', s3Arn: 'arn:aws:s3:::b/k', errorCode: 'ThrottlingException' })], expectFindings: 1 },
  {
    name: 'aggregates a storm of throttling on one key into one finding',
    events: Array.from({ length: 50 }, (_, i) => kmsEvent({ errorCode: 'ThrottlingException', atMs: BASE_TIME_MS + i * 1000 })),
    expectFindings: 1,
  },
  { name: 'fires for a throttled Sign, without the data-key advice', events: [kmsEvent({ eventName: 'Sign', errorCode: 'ThrottlingException' })], expectFindings: 1, expectReasonIncludes: 'cannot be cached' },
  { name: 'stays silent for successful and denied calls', events: [kmsEvent(), kmsEvent({ errorCode: 'AccessDeniedException' })], expectFindings: 0 },
];
