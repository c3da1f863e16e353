// Writes the hand-made sample set under events/: every shape CloudTrail reaches users in, built from the
// documented record layouts (../shared/docs/event-shapes.md). Run: node scripts/make-sample-events.mjs
// The output is committed; rerunning it reproduces the same bytes (fixed ids and times, gzip without mtime).
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';

const OUT = 'events';
const DATA_ACCOUNT = '111122223333';
const PARTNER_ACCOUNT = '444455556666';
const REGION = 'us-east-1';
const KEY_ID = '1234abcd-12ab-34cd-56ef-1234567890ab';
const KEY_ARN = `arn:aws:kms:${REGION}:${DATA_ACCOUNT}:key/${KEY_ID}`;
const LOGS_KEY_ARN = `arn:aws:kms:${REGION}:${DATA_ACCOUNT}:key/0987dcba-09fe-87dc-65ba-ab0987654321`;
const REPORTS_BUCKET = 'example-finance-reports';
const ARCHIVE_BUCKET = 'example-logs-archive'; // S3 Bucket Keys enabled

let seq = 0;
const id = () => `5f1c2a00-0000-4000-8000-${String(++seq).padStart(12, '0')}`;
const t = (hh, mm, ss = 0) => `2026-10-01T${String(hh).padStart(2, '0')}:${String(mm).padStart(2, '0')}:${String(ss).padStart(2, '0')}Z`;

const role = (name, session, account = DATA_ACCOUNT, extra = {}) => ({
  type: 'AssumedRole',
  principalId: `AROAEXAMPLE${name.toUpperCase().slice(0, 8)}:${session}`,
  arn: `arn:aws:sts::${account}:assumed-role/${name}/${session}`,
  accountId: account,
  accessKeyId: 'ASIAEXAMPLEEXAMPLE01',
  sessionContext: {
    sessionIssuer: { type: 'Role', principalId: `AROAEXAMPLE${name.toUpperCase().slice(0, 8)}`, arn: `arn:aws:iam::${account}:role/${name}`, accountId: account, userName: name },
    attributes: { creationDate: t(8, 0), mfaAuthenticated: 'false' },
  },
  ...extra,
});

const kmsKeyResource = (arn = KEY_ARN) => [{ accountId: arn.split(':')[4], type: 'AWS::KMS::Key', ARN: arn }];

const kms = ({ name, time, identity, sourceIp = 'AWS Internal', userAgent = sourceIp, requestParameters, resources = kmsKeyResource(), ...rest }) => ({
  eventVersion: '1.11',
  userIdentity: identity,
  eventTime: time,
  eventSource: 'kms.amazonaws.com',
  eventName: name,
  awsRegion: REGION,
  sourceIPAddress: sourceIp,
  userAgent,
  requestParameters,
  responseElements: null,
  additionalEventData: { keyMaterialId: '9fd63d6b1e6e43d1b8a6d2b4a1c0de6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b' },
  requestID: id(),
  eventID: id(),
  readOnly: true,
  resources,
  eventType: 'AwsApiCall',
  managementEvent: true,
  recipientAccountId: DATA_ACCOUNT,
  eventCategory: 'Management',
  ...rest,
});

const s3 = ({ name, time, identity, bucket, key, sourceIp, userAgent = '[aws-cli/2.17.0 md/Botocore#1.34 ua/2.0 os/linux]', requestParameters = {}, additional = {}, ...rest }) => ({
  eventVersion: '1.10',
  userIdentity: identity,
  eventTime: time,
  eventSource: 's3.amazonaws.com',
  eventName: name,
  awsRegion: REGION,
  sourceIPAddress: sourceIp,
  userAgent,
  requestParameters: { bucketName: bucket, Host: `${bucket}.s3.${REGION}.amazonaws.com`, key, ...requestParameters },
  responseElements: null,
  additionalEventData: { SignatureVersion: 'SigV4', CipherSuite: 'TLS_AES_128_GCM_SHA256', bytesTransferredIn: 0, bytesTransferredOut: 0, AuthenticationMethod: 'AuthHeader', 'x-amz-id-2': 'EXAMPLEid2', ...additional },
  requestID: `EXAMPLE${String(++seq).padStart(9, '0')}`,
  eventID: id(),
  readOnly: name.startsWith('Get') || name === 'HeadObject',
  resources: [
    { type: 'AWS::S3::Object', ARN: `arn:aws:s3:::${bucket}/${key}` },
    { accountId: DATA_ACCOUNT, type: 'AWS::S3::Bucket', ARN: `arn:aws:s3:::${bucket}` },
  ],
  eventType: 'AwsApiCall',
  managementEvent: false,
  recipientAccountId: DATA_ACCOUNT,
  eventCategory: 'Data',
  ...rest,
});

const analyst = role('FinanceAnalyst', 'alice@example.com');
const etl = role('ReportEtl', 'etl-run-20261001');
const app = role('PaymentsApp', 'i-0abc1234def567890');
const partner = role('PartnerReader', 'batch-7', PARTNER_ACCOUNT);

// --- a day of activity in the data account, as an S3 delivery file -------------------------------------
const reportKey = 'q3/board-pack.pdf';
const uploadKey = 'q4/forecast.xlsx';
const records = [
  // ETL writes a report: GenerateDataKey made by S3 (internal.amazonaws.com, as in the KMS guide) + PutObject.
  kms({ name: 'GenerateDataKey', time: t(9, 0, 1), identity: { ...etl, invokedBy: 'internal.amazonaws.com' }, sourceIp: 'internal.amazonaws.com',
    requestParameters: { keyId: KEY_ARN, keySpec: 'AES_256', encryptionContext: { 'aws:s3:arn': `arn:aws:s3:::${REPORTS_BUCKET}/${uploadKey}` } } }),
  s3({ name: 'PutObject', time: t(9, 0, 1), identity: etl, bucket: REPORTS_BUCKET, key: uploadKey, sourceIp: '10.20.30.40', vpcEndpointId: 'vpce-0a1b2c3d4e5f60718',
    requestParameters: { 'x-amz-server-side-encryption': 'aws:kms', 'x-amz-server-side-encryption-aws-kms-key-id': KEY_ARN },
    additional: { bytesTransferredIn: 48213, SSEApplied: 'SSE_KMS' } }),
  // An analyst reads a report: S3-made Decrypt with the object ARN as context ("AWS Internal" markers) + GetObject.
  kms({ name: 'Decrypt', time: t(9, 15, 2), identity: { ...analyst, invokedBy: 'AWS Internal' },
    requestParameters: { encryptionAlgorithm: 'SYMMETRIC_DEFAULT', encryptionContext: { 'aws:s3:arn': `arn:aws:s3:::${REPORTS_BUCKET}/${reportKey}` } } }),
  s3({ name: 'GetObject', time: t(9, 15, 2), identity: analyst, bucket: REPORTS_BUCKET, key: reportKey, sourceIp: '203.0.113.7',
    userAgent: '[Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15]', additional: { bytesTransferredOut: 1048576 } }),
  // Reads from the archive bucket with S3 Bucket Keys: the context is the bucket ARN.
  kms({ name: 'Decrypt', time: t(9, 20, 0), identity: { ...etl, invokedBy: 'AWS Internal' }, resources: kmsKeyResource(LOGS_KEY_ARN),
    requestParameters: { encryptionAlgorithm: 'SYMMETRIC_DEFAULT', encryptionContext: { 'aws:s3:arn': `arn:aws:s3:::${ARCHIVE_BUCKET}` } } }),
  s3({ name: 'GetObject', time: t(9, 20, 0), identity: etl, bucket: ARCHIVE_BUCKET, key: 'app/2026/09/30/events-0001.json.gz', sourceIp: '10.20.30.40', vpcEndpointId: 'vpce-0a1b2c3d4e5f60718', additional: { bytesTransferredOut: 5242880 } }),
  s3({ name: 'GetObject', time: t(9, 20, 3), identity: etl, bucket: ARCHIVE_BUCKET, key: 'app/2026/09/30/events-0002.json.gz', sourceIp: '10.20.30.40', vpcEndpointId: 'vpce-0a1b2c3d4e5f60718', additional: { bytesTransferredOut: 5111808 } }),
  // The payments app decrypts its own envelope keys directly, passing an application encryption context.
  kms({ name: 'Decrypt', time: t(9, 30, 0), identity: app, sourceIp: '10.20.31.12', userAgent: 'aws-sdk-java/2.25.11 Linux/6.1 OpenJDK_64-Bit_Server_VM/21',
    vpcEndpointId: 'vpce-0fedcba9876543210',
    requestParameters: { keyId: 'alias/app-data', encryptionAlgorithm: 'SYMMETRIC_DEFAULT', encryptionContext: { app: 'payments', env: 'prod', tenant: 'acme' } } }),
  kms({ name: 'GenerateDataKey', time: t(9, 30, 5), identity: app, sourceIp: '10.20.31.12', userAgent: 'aws-sdk-java/2.25.11 Linux/6.1 OpenJDK_64-Bit_Server_VM/21',
    requestParameters: { keyId: 'alias/app-data', keySpec: 'AES_256', encryptionContext: { app: 'payments', env: 'prod', tenant: 'acme' } } }),
  // A failed Decrypt: the caller lacks kms:Decrypt (errored calls are kept; they are signals).
  kms({ name: 'Decrypt', time: t(10, 2, 11), identity: role('ContractorSandbox', 'bob'), sourceIp: '198.51.100.23', userAgent: 'aws-cli/2.17.0 md/Botocore#1.34',
    requestParameters: { encryptionAlgorithm: 'SYMMETRIC_DEFAULT' }, errorCode: 'AccessDeniedException',
    errorMessage: `User: arn:aws:sts::${DATA_ACCOUNT}:assumed-role/ContractorSandbox/bob is not authorized to perform: kms:Decrypt on the resource associated with this ciphertext because the resource does not exist in this Region, no resource-based policies allow access, or a resource-based policy explicitly denies access` }),
  // Someone decrypts a raw S3 data key outside S3: aws:s3:arn context but a real source IP and no service marker.
  kms({ name: 'Decrypt', time: t(10, 40, 9), identity: role('ContractorSandbox', 'bob'), sourceIp: '198.51.100.23', userAgent: 'Boto3/1.34.100 md/Botocore#1.34.100 ua/2.0 os/linux',
    requestParameters: { encryptionAlgorithm: 'SYMMETRIC_DEFAULT', encryptionContext: { 'aws:s3:arn': `arn:aws:s3:::${REPORTS_BUCKET}/${reportKey}` } } }),
  // The root user decrypts.
  kms({ name: 'Decrypt', time: t(11, 5, 0), identity: { type: 'Root', principalId: DATA_ACCOUNT, arn: `arn:aws:iam::${DATA_ACCOUNT}:root`, accountId: DATA_ACCOUNT, accessKeyId: 'ASIAEXAMPLEROOT00001',
    sessionContext: { attributes: { creationDate: t(11, 0), mfaAuthenticated: 'true' } } }, sourceIp: '192.0.2.44', userAgent: 'AWS Internal',
    requestParameters: { keyId: KEY_ARN, encryptionAlgorithm: 'SYMMETRIC_DEFAULT', encryptionContext: { app: 'payments', env: 'prod' } } }),
  // A throttled GenerateDataKey by S3 on a busy upload path.
  kms({ name: 'GenerateDataKey', time: t(11, 30, 0), identity: { ...etl, invokedBy: 'AWS Internal' }, errorCode: 'ThrottlingException', errorMessage: 'You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls.',
    requestParameters: { keyId: KEY_ARN, keySpec: 'AES_256', encryptionContext: { 'aws:s3:arn': `arn:aws:s3:::${REPORTS_BUCKET}/q4/bulk-0001.csv` } } }),
];

// The same cross-account call appears in both accounts' trails: same sharedEventID, different eventID.
const sharedEventID = 'c0ffee00-0000-4000-8000-00000000beef';
const crossAccountDecrypt = kms({ name: 'Decrypt', time: t(12, 0, 0), identity: partner, sourceIp: '198.51.100.80', userAgent: 'aws-sdk-go-v2/1.30.0 os/linux lang/go#1.22',
  requestParameters: { keyId: KEY_ARN, encryptionAlgorithm: 'SYMMETRIC_DEFAULT', encryptionContext: { app: 'payments', env: 'prod', partner: 'globex' } },
  sharedEventID, recipientAccountId: DATA_ACCOUNT });
records.push(crossAccountDecrypt);
const partnerCopy = { ...crossAccountDecrypt, eventID: id(), recipientAccountId: PARTNER_ACCOUNT };

const write = (path, data) => {
  const full = join(OUT, path);
  mkdirSync(dirname(full), { recursive: true });
  writeFileSync(full, data);
};
/**
 * A network activity event of KMS, as AWS's examples show one: the KMS endpoint owner's record of a call through
 * it, with no parameters and no resources; a caller of another account named by its account and access key alone.
 */
const networkRecord = ({ identity, time, sourceIp, sharedEventID }) => ({
  eventVersion: '1.09',
  userIdentity: identity,
  eventTime: time,
  eventSource: 'kms.amazonaws.com',
  eventName: 'Decrypt',
  awsRegion: REGION,
  sourceIPAddress: sourceIp,
  requestID: id(),
  eventID: id(),
  eventType: 'AwsVpceEvent',
  recipientAccountId: DATA_ACCOUNT,
  sharedEventID,
  vpcEndpointId: 'vpce-0a1b2c3d4e5f60718',
  vpcEndpointAccountId: DATA_ACCOUNT,
  eventCategory: 'NetworkActivity',
});

const gz = (obj) => gzipSync(Buffer.from(JSON.stringify(obj)), { level: 9 });
const trailPath = (account, file) => `cloudtrail/AWSLogs/${account}/CloudTrail/${REGION}/2026/10/01/${account}_CloudTrail_${REGION}_${file}.json.gz`;

rmSync(OUT, { recursive: true, force: true });
records.sort((a, b) => a.eventTime.localeCompare(b.eventTime));
write(trailPath(DATA_ACCOUNT, '20261001T0925Z_a1b2c3d4e5f6a7b8'), gz({ Records: records.slice(0, 7) }));
write(trailPath(DATA_ACCOUNT, '20261001T1210Z_b2c3d4e5f6a7b8c9'), gz({ Records: records.slice(7) }));
// CloudTrail delivers duplicates: the first file's GetObject shows up again in a later file.
write(trailPath(DATA_ACCOUNT, '20261001T1215Z_c3d4e5f6a7b8c9d0'), gz({ Records: [records[3]] }));
write(trailPath(PARTNER_ACCOUNT, '20261001T1205Z_d4e5f6a7b8c9d0e1'), gz({ Records: [partnerCopy] }));
// A digest file: integrity data, recognised and skipped.
write(`cloudtrail/AWSLogs/${DATA_ACCOUNT}/CloudTrail-Digest/${REGION}/2026/10/01/${DATA_ACCOUNT}_CloudTrail-Digest_${REGION}_trail_${REGION}_20261001T1300Z.json.gz`, gz({
  awsAccountId: DATA_ACCOUNT, digestStartTime: t(12, 0), digestEndTime: t(13, 0), digestS3Bucket: 'example-trail-bucket', digestS3Object: 'AWSLogs/...',
  digestPublicKeyFingerprint: '0123456789abcdef0123456789abcdef', digestSignatureAlgorithm: 'SHA256withRSA', newestEventTime: t(12, 0), oldestEventTime: t(9, 0),
  previousDigestS3Bucket: null, previousDigestS3Object: null, previousDigestHashValue: null, previousDigestHashAlgorithm: null, previousDigestSignature: null,
  logFiles: [{ s3Bucket: 'example-trail-bucket', s3Object: 'AWSLogs/...', hashValue: 'abc', hashAlgorithm: 'SHA-256', newestEventTime: t(12, 0), oldestEventTime: t(9, 0) }],
}));
// An Insights event: recognised and skipped.
write(`cloudtrail/AWSLogs/${DATA_ACCOUNT}/CloudTrail-Insight/${REGION}/2026/10/01/${DATA_ACCOUNT}_CloudTrail-Insight_${REGION}_20261001T1300Z.json.gz`, gz({
  Records: [{ eventVersion: '1.08', eventTime: t(12, 30), awsRegion: REGION, eventID: id(), eventType: 'AwsCloudTrailInsight', recipientAccountId: DATA_ACCOUNT, sharedEventID: id(),
    insightDetails: { state: 'Start', eventSource: 'kms.amazonaws.com', eventName: 'Decrypt', insightType: 'ApiCallRateInsight',
      insightContext: { statistics: { baseline: { average: 0.1 }, insight: { average: 12.5 } } } }, eventCategory: 'Insight' }],
}));

// EventBridge envelopes, as the live path receives them: one per file, and one per line.
const envelope = (record, n) => ({
  version: '0', id: `7bf73129-1428-4cd3-a780-95db273d1${String(n).padStart(3, '0')}`, 'detail-type': 'AWS API Call via CloudTrail',
  source: record.eventSource === 'kms.amazonaws.com' ? 'aws.kms' : 'aws.s3', account: record.recipientAccountId, time: record.eventTime, region: record.awsRegion, resources: [], detail: record,
});
const directDecrypt = kms({ name: 'Decrypt', time: t(13, 0, 0), identity: app, sourceIp: '10.20.31.12', userAgent: 'aws-sdk-java/2.25.11 Linux/6.1 OpenJDK_64-Bit_Server_VM/21',
  requestParameters: { keyId: KEY_ARN, encryptionAlgorithm: 'SYMMETRIC_DEFAULT', encryptionContext: { app: 'payments', env: 'prod', tenant: 'initech' } } });
write('eventbridge/kms-decrypt.json', `${JSON.stringify(envelope(directDecrypt, 1), null, 2)}\n`);
const s3Decrypt = kms({ name: 'Decrypt', time: t(13, 5, 0), identity: { ...analyst, invokedBy: 'AWS Internal' },
  requestParameters: { encryptionAlgorithm: 'SYMMETRIC_DEFAULT', encryptionContext: { 'aws:s3:arn': `arn:aws:s3:::${REPORTS_BUCKET}/q3/appendix.pdf` } } });
const s3Get = s3({ name: 'GetObject', time: t(13, 5, 1), identity: analyst, bucket: REPORTS_BUCKET, key: 'q3/appendix.pdf', sourceIp: '203.0.113.7', additional: { bytesTransferredOut: 204800 } });
write('eventbridge/s3-read.ndjson', `${[envelope(s3Decrypt, 2), envelope(s3Get, 3)].map((e) => JSON.stringify(e)).join('\n')}\n`);

// NDJSON of bare records, as CloudTrail Lake or Athena exports them.
const lakeRecords = [
  kms({ name: 'Encrypt', time: t(14, 0, 0), identity: app, sourceIp: '10.20.31.12', userAgent: 'aws-sdk-java/2.25.11',
    requestParameters: { keyId: 'alias/app-data', encryptionAlgorithm: 'SYMMETRIC_DEFAULT', encryptionContext: { app: 'payments', env: 'prod' } }, resources: kmsKeyResource() }),
  kms({ name: 'ReEncrypt', time: t(14, 1, 0), identity: app, sourceIp: '10.20.31.12', userAgent: 'aws-sdk-java/2.25.11',
    requestParameters: { sourceKeyId: KEY_ARN, destinationKeyId: KEY_ARN, sourceEncryptionContext: { app: 'payments', env: 'prod' }, destinationEncryptionContext: { app: 'payments', env: 'prod' }, sourceEncryptionAlgorithm: 'SYMMETRIC_DEFAULT', destinationEncryptionAlgorithm: 'SYMMETRIC_DEFAULT' } }),
];
write('lake-export/kms-records.jsonl', `${lakeRecords.map((r) => JSON.stringify(r)).join('\n')}\n`);

// --- later that day, ransomware turns the bucket's default encryption against its owner -------------------
// (made last, so the records above keep their ids). The sandbox session sets the reports bucket's default to a
// key of an account nobody here trusts; S3 does not check the key a default names. The ETL's next write names
// no key, so S3 encrypts it under that key: its GenerateDataKey reaches this trail as the caller's copy of a
// cross-account call, and the data event's response names the key.
const ATTACKER_ACCOUNT = '777788889999';
const ATTACKER_KEY_ARN = `arn:aws:kms:${REGION}:${ATTACKER_ACCOUNT}:key/4d5e6f70-8192-4a3b-9c4d-5e6f70819201`;
const hostageKey = 'q4/forecast-v2.xlsx';
const ransomware = [
  s3({ name: 'PutBucketEncryption', time: t(12, 40, 0), identity: role('ContractorSandbox', 'bob'), bucket: REPORTS_BUCKET, key: undefined, sourceIp: '198.51.100.23',
    userAgent: '[Boto3/1.34.100 md/Botocore#1.34.100 ua/2.0 os/linux]',
    requestParameters: { encryption: '', ServerSideEncryptionConfiguration: { xmlns: 'http://s3.amazonaws.com/doc/2006-03-01/',
      Rule: { ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: ATTACKER_KEY_ARN }, BucketKeyEnabled: false } } },
    resources: [{ accountId: DATA_ACCOUNT, type: 'AWS::S3::Bucket', ARN: `arn:aws:s3:::${REPORTS_BUCKET}` }],
    managementEvent: true, eventCategory: 'Management' }),
  kms({ name: 'GenerateDataKey', time: t(12, 45, 10), identity: { ...etl, invokedBy: 'AWS Internal' }, resources: kmsKeyResource(ATTACKER_KEY_ARN),
    requestParameters: { keyId: ATTACKER_KEY_ARN, keySpec: 'AES_256', encryptionContext: { 'aws:s3:arn': `arn:aws:s3:::${REPORTS_BUCKET}/${hostageKey}` } },
    sharedEventID: 'c0ffee00-0000-4000-8000-0000000dead1' }),
  s3({ name: 'PutObject', time: t(12, 45, 10), identity: etl, bucket: REPORTS_BUCKET, key: hostageKey, sourceIp: '10.20.30.40', vpcEndpointId: 'vpce-0a1b2c3d4e5f60718',
    responseElements: { 'x-amz-server-side-encryption': 'aws:kms', 'x-amz-server-side-encryption-aws-kms-key-id': ATTACKER_KEY_ARN },
    additional: { bytesTransferredIn: 51877, SSEApplied: 'Default_SSE_KMS' } }),
  // The same session then re-encrypts the payments app's ciphertext (held outside S3) from the app's key into the
  // attacker's: only that account can decrypt it now. A cross-account call, so this trail holds the caller's copy.
  kms({ name: 'ReEncrypt', time: t(12, 47, 30), identity: role('ContractorSandbox', 'bob'), sourceIp: '198.51.100.23', userAgent: 'Boto3/1.34.100 md/Botocore#1.34.100 ua/2.0 os/linux',
    resources: [...kmsKeyResource(KEY_ARN), ...kmsKeyResource(ATTACKER_KEY_ARN)],
    requestParameters: { destinationKeyId: ATTACKER_KEY_ARN, sourceEncryptionContext: { app: 'payments', env: 'prod' }, destinationEncryptionContext: { app: 'payments', env: 'prod' },
      sourceEncryptionAlgorithm: 'SYMMETRIC_DEFAULT', destinationEncryptionAlgorithm: 'SYMMETRIC_DEFAULT' },
    sharedEventID: 'c0ffee00-0000-4000-8000-0000000dead2' }),
  // Then the attacker's own credentials decrypt with its key from a host of the VPC, through the data account's KMS
  // endpoint. The call is the attacker's account's; this trail logs KMS's network activity events, so it holds the
  // endpoint owner's record of it (below).
  networkRecord({ identity: { type: 'AWSAccount', principalId: 'AKIAEXAMPLEATTACKER1', accountId: ATTACKER_ACCOUNT }, time: t(12, 48, 40), sourceIp: '10.20.30.41', sharedEventID: 'c0ffee00-0000-4000-8000-0000000dead3' }),
];
write(trailPath(DATA_ACCOUNT, '20261001T1250Z_e5f6a7b8c9d0e1f2'), gz({ Records: ransomware }));

// --- a week before: the KMS endpoint's own traffic, from which it learned the accounts it serves -------------------
// (made last, so the records above keep their ids).
const weekBefore = [networkRecord({ identity: app, time: '2026-09-23T09:12:00Z', sourceIp: '10.20.31.12', sharedEventID: 'c0ffee00-0000-4000-8000-0000000dead4' })];
write(`cloudtrail/AWSLogs/${DATA_ACCOUNT}/CloudTrail/${REGION}/2026/09/23/${DATA_ACCOUNT}_CloudTrail_${REGION}_20260923T0915Z_f6a7b8c9d0e1f2a3.json.gz`, gz({ Records: weekBefore }));
console.log(`wrote sample events under ${OUT}/`);
