import { s3ContextKeyOf } from '../events/normalize.ts';
import { BASE_TIME_MS, kmsEvent } from '../testing/builders.ts';
import { defineRule, type RuleCase } from './define-rule.ts';
import { keyLabel, origin, principalLabel } from './wording.ts';

const DIRECTORY_BUCKET_ARN = 'arn:aws:s3express:us-east-1:111122223333:bucket/trades--use1-az4--x-s3';
const VECTOR_INDEX_ARN = 'arn:aws:s3vectors:us-east-1:111122223333:bucket/embeddings/index/docs';

export const rule = defineRule({
  id: 'kms-s3-data-key-direct-decrypt',
  title: 'S3 Data Key Decrypted Outside S3',
  description:
    'A Decrypt whose encryption context holds aws:s3:arn (aws:s3express:arn for a directory bucket, aws:s3vectors:arn for a vector bucket) was not made by S3: someone holds the encrypted data key of an SSE-KMS object (for example from a copy of the object\'s metadata or a backup) and is decrypting it directly, outside S3\'s access controls and logging.',
  severity: 'HIGH',
  status: 'test',
  references: [
    'https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html#encryption-context',
    'https://docs.aws.amazon.com/AmazonS3/latest/userguide/s3-express-UsingKMSEncryption.html#s3-express-encryption-context',
    'https://attack.mitre.org/techniques/T1530/',
  ],
  falsePositives: ['Client-side tooling that deliberately mimics S3 context (rare; should use its own context)'],
  tags: ['attack.collection', 'attack.t1530', 'attack.exfiltration'],
  runbook:
    'Treat as data exposure. Identify the principal and source IP; find how it obtained the object\'s encrypted data key. Revoke the session, rotate access, and restrict kms:Decrypt with the kms:ViaService condition in the key policy (s3.<region>.amazonaws.com; s3vectors.<region>.amazonaws.com for a vector bucket).',
  findingTypes: ['TTPs/Collection', 'Effects/Data Exposure'],
  selection: [{ eventSource: 'kms.amazonaws.com', eventNames: ['Decrypt'] }],
  detect: (e) => {
    if (e.s3Arn === undefined || e.madeByAwsService) return undefined;
    const outcome = e.errorCode !== undefined ? ` The call failed (${e.errorCode}), so this was an attempt.` : '';
    return {
      subject: `${e.principal.id}|${e.s3Arn}`,
      reason: `${principalLabel(e)} called Decrypt with key ${keyLabel(e)} ${origin(e)} on an S3 data key (context ${s3ContextKeyOf(e.s3Arn)} = ${e.s3Arn}), but S3 did not make the call: no AWS-service marker in invokedBy or sourceIPAddress.${outcome}`,
    };
  },
});

export const cases = (): readonly RuleCase[] => [
  {
    name: 'fires for a Decrypt with an aws:s3:arn context from a real network address',
    events: [kmsEvent({ context: { 'aws:s3:arn': 'arn:aws:s3:::reports/q3.pdf' }, sourceIp: '198.51.100.23', userAgent: 'Boto3/1.34' })],
    expectFindings: 1,
  },
  {
    name: 'stays silent for the Decrypt S3 makes on GetObject, whatever its marker',
    events: ['AWS Internal', 'internal.amazonaws.com', 'fas.s3.amazonaws.com'].map((m, i) => kmsEvent({ s3Arn: `arn:aws:s3:::reports/${i}`, viaService: m, atMs: BASE_TIME_MS + i })),
    expectFindings: 0,
  },
  {
    name: 'fires for a Decrypt of a directory bucket\'s data key (aws:s3express:arn) from a real network address',
    events: [kmsEvent({ context: { 'aws:s3express:arn': DIRECTORY_BUCKET_ARN }, sourceIp: '198.51.100.23', userAgent: 'Boto3/1.34' })],
    expectFindings: 1,
    expectReasonIncludes: `context aws:s3express:arn = ${DIRECTORY_BUCKET_ARN}`,
  },
  {
    name: 'fires for a Decrypt of a vector bucket\'s data key (aws:s3vectors:arn) from a real network address',
    events: [kmsEvent({ context: { 'aws:s3vectors:arn': VECTOR_INDEX_ARN }, sourceIp: '198.51.100.23', userAgent: 'Boto3/1.34' })],
    expectFindings: 1,
    expectReasonIncludes: `context aws:s3vectors:arn = ${VECTOR_INDEX_ARN}`,
  },
  {
    name: 'stays silent for the Decrypt S3 makes for a directory bucket',
    events: [kmsEvent({ context: { 'aws:s3express:arn': DIRECTORY_BUCKET_ARN }, viaService: 'AWS Internal' })],
    expectFindings: 0,
  },
  {
    name: 'stays silent for direct Decrypts with an application context',
    events: [kmsEvent({ context: { app: 'payments' } })],
    expectFindings: 0,
  },
];
