import { readFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { SecurityHubClient } from '@aws-sdk/client-securityhub';
import type { Context } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { expandInputs } from '#adapters/local/cloudtrail-files.ts';
import { objectsInNotification } from '#adapters/aws/s3-notifications.ts';
import { createCloudTrailEventHandler, createFlushHandler, createTrailLogObjectHandler } from '#adapters/lambda/handlers.ts';
import { ConfigError } from '#core/errors.ts';
import { BASE_TIME_MS, days, kmsRecord, networkRecord, otherRecord } from '#core/testing/builders.ts';
import { createLiveDeps } from '../../functions/shared/live-deps.ts';
import { REPO, runKdm } from '../helpers/cli.ts';
import { useDynamoDbLocal } from '../helpers/dynamodb-local.ts';
import { envelopesFromEvents, sqsEvent } from '../helpers/lambda-events.ts';
import { scriptedHttp, TEST_CREDENTIALS } from '../helpers/fake-http.ts';

const ddb = useDynamoDbLocal();

const context = (requestId: string): Context =>
  ({ awsRequestId: requestId, functionName: 'kdm-onCloudTrailEvent', functionVersion: '$LATEST', invokedFunctionArn: 'arn:aws:lambda:us-east-1:111122223333:function:kdm', memoryLimitInMB: '512', logGroupName: 'g', logStreamName: 's', callbackWaitsForEmptyEventLoop: true, getRemainingTimeInMillis: () => 60_000, done: () => undefined, fail: () => undefined, succeed: () => undefined }) as Context;

/** Security Hub on the wire: accepts everything, and keeps what it was sent. */
const securityHub = () => {
  const imported: Record<string, unknown>[] = [];
  const http = scriptedHttp([
    (req) => {
      const findings = (req.json as { Findings: Record<string, unknown>[] }).Findings;
      imported.push(...findings);
      return { status: 200, body: { FailedCount: 0, SuccessCount: findings.length, FailedFindings: [] } };
    },
  ]);
  const clients = new Map<string, SecurityHubClient>();
  const clientFor = (_account: string, region: string): SecurityHubClient => {
    let c = clients.get(region);
    if (c === undefined) clients.set(region, (c = new SecurityHubClient({ region, credentials: TEST_CREDENTIALS, requestHandler: http.handler, maxAttempts: 1 })));
    return c;
  };
  return { imported, clientFor, http };
};

const stdout = () => {
  const lines: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  });
  return lines;
};

afterEach(() => vi.restoreAllMocks());

describe('Lambda handlers (DynamoDB Local state, Security Hub through the real client)', () => {
  it('yield the same findings as `kdm replay` of the same records, delivered as SQS batches of EventBridge envelopes', async () => {
    const table = await ddb.newStateTable();
    const hub = securityHub();
    let nowMs = Date.UTC(2030, 0, 1);
    const deps = await createLiveDeps({
      env: { STATE_TABLE: table, KDM_KEY_FACTS: 'off', POWERTOOLS_LOG_LEVEL: 'SILENT', AWS_ACCOUNT_ID: '111122223333' },
      dynamodb: ddb.client(),
      securityHubClientFor: hub.clientFor,
      clock: { nowMs: () => nowMs },
    });
    const handler = createCloudTrailEventHandler(deps);
    const flush = createFlushHandler(deps);
    const emf = stdout();

    const envelopes = await envelopesFromEvents();
    const failures: string[] = [];
    for (let i = 0; i < envelopes.length; i += 10) {
      const response = await handler(sqsEvent(envelopes.slice(i, i + 10), i), context(`req-${i}`));
      failures.push(...response.batchItemFailures.map((f) => f.itemIdentifier));
    }
    // The first scheduled flush after the findings' 5-minute hold sends what waited for a full call.
    nowMs += 5 * 60_000;
    await flush({}, context('flush'));
    vi.restoreAllMocks();

    const dir = mkdtempSync(join(tmpdir(), 'kdm-parity-'));
    const replay = runKdm(['replay', join(REPO, 'events'), '--findings', join(dir, 'findings.jsonl'), '--account', '111122223333']);
    expect(replay.stderr).not.toMatch(/error/i);
    const replayed = readFileSync(join(dir, 'findings.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

    const essence = (f: Record<string, unknown>) => {
      const fields = f.ProductFields as Record<string, string>;
      const related = (f.RelatedFindings as { ProductArn: string; Id: string }[] | undefined)?.map((r) => `${r.ProductArn} ${r.Id}`).sort();
      return { Id: f.Id, GeneratorId: f.GeneratorId, Severity: f.Severity, Title: f.Title, count: fields['kdm/EventCount'], ids: fields['kdm/EventIds']?.split(' ').sort(), related };
    };
    // Security Hub keeps the last import of each Id.
    const latest = new Map(hub.imported.map((f) => [f.Id, f]));
    expect(failures).toEqual([]);
    expect(replayed.length).toBeGreaterThan(0);
    // What each names (the same call's findings, its principal's within a day), batches of ten against files.
    expect(replayed.filter((f) => f.RelatedFindings !== undefined).length).toBeGreaterThanOrEqual(4);
    expect([...latest.values()].map(essence).sort((a, b) => String(a.Id).localeCompare(String(b.Id)))).toEqual(replayed.map(essence).sort((a, b) => String(a.Id).localeCompare(String(b.Id))));
    // Everything was delivered: the outbox is empty.
    expect(await deps.store.unpublishedFindings()).toEqual([]);
    // Metrics went out as EMF on stdout, without event content.
    const metricLines = emf.filter((l) => l.includes('"_aws"'));
    expect(metricLines.some((l) => l.includes('RecordsProcessed'))).toBe(true);
    expect(metricLines.some((l) => l.includes('"EventsLate"'))).toBe(true);
    expect(metricLines.some((l) => l.includes('"Findings"'))).toBe(true);
    expect(emf.join('')).not.toContain('encryptionContext');
  });

  it('keep a finding about a principal as a whole in their own Region (AWS_REGION), unless the configuration names one', async () => {
    const storyRegions = async (env: Readonly<Record<string, string>>): Promise<string[]> => {
      const hub = securityHub();
      let nowMs = Date.UTC(2030, 0, 1);
      const deps = await createLiveDeps({
        env: { STATE_TABLE: await ddb.newStateTable(), KDM_KEY_FACTS: 'off', POWERTOOLS_LOG_LEVEL: 'SILENT', AWS_ACCOUNT_ID: '111122223333', ...env },
        dynamodb: ddb.client(),
        securityHubClientFor: hub.clientFor,
        clock: { nowMs: () => nowMs },
      });
      stdout();
      const handler = createCloudTrailEventHandler(deps);
      const envelopes = await envelopesFromEvents();
      for (let i = 0; i < envelopes.length; i += 10) await handler(sqsEvent(envelopes.slice(i, i + 10), i), context(`req-${i}`));
      nowMs += 5 * 60_000;
      await createFlushHandler(deps)({}, context('flush'));
      vi.restoreAllMocks();
      const stories = hub.imported.filter((f) => f.GeneratorId === 'kms-decrypt-monitor/kms-principal-several-anomalies');
      expect(stories.length).toBeGreaterThan(0);
      // The findings it names name it back under the product of its Region.
      const namingIt = hub.imported.filter((f) => (f.RelatedFindings as { Id: string; ProductArn: string }[] | undefined)?.some((r) => r.Id === stories[0]?.Id) === true);
      expect(namingIt.length).toBeGreaterThan(0);
      const regions = [...new Set(stories.map((f) => String(f.Region)))];
      for (const f of namingIt) {
        const product = (f.RelatedFindings as { Id: string; ProductArn: string }[]).find((r) => r.Id === stories[0]?.Id)?.ProductArn;
        expect(product).toBe(`arn:aws:securityhub:${regions[0]}:111122223333:product/111122223333/default`);
      }
      return regions;
    };
    // The sample day's findings are all of us-east-1.
    expect(await storyRegions({ AWS_REGION: 'eu-central-1' })).toEqual(['eu-central-1']);
    const config = join(mkdtempSync(join(tmpdir(), 'kdm-home-')), 'kdm.config.yaml');
    writeFileSync(config, 'homeRegion: eu-west-1\n');
    expect(await storyRegions({ AWS_REGION: 'eu-central-1', KDM_CONFIG_FILE: config })).toEqual(['eu-west-1']);
  });

  interface ImportedFinding { readonly GeneratorId: string; readonly Severity: { readonly Label: string }; readonly Resources: readonly { readonly Type: string; readonly Id: string }[] }
  /** One record through the live path as EventBridge delivers it (a fresh table), then the scheduled flush: what Security Hub received. */
  /** Each record in an invocation of its own, in turn, so what one leaves in the state table the next reads. */
  const sendThroughLambda = async (source: 'aws.kms' | 'aws.s3', ...records: Record<string, unknown>[]): Promise<readonly ImportedFinding[]> => {
    const hub = securityHub();
    const deps = await createLiveDeps({
      env: { STATE_TABLE: await ddb.newStateTable(), KDM_KEY_FACTS: 'off', POWERTOOLS_LOG_LEVEL: 'SILENT', POWERTOOLS_METRICS_DISABLED: 'true', AWS_ACCOUNT_ID: '111122223333' },
      dynamodb: ddb.client(),
      securityHubClientFor: hub.clientFor,
    });
    stdout();
    for (const [i, record] of records.entries()) {
      const envelope = JSON.stringify({ version: '0', id: `e-${i}`, 'detail-type': 'AWS API Call via CloudTrail', source, account: '111122223333', time: '2026-10-01T00:00:00Z', region: 'us-east-1', resources: [], detail: record });
      const response = await createCloudTrailEventHandler(deps)(sqsEvent([envelope]), context(`r-${i}`));
      expect(response.batchItemFailures).toEqual([]);
    }
    await createFlushHandler(deps)({}, context('flush'));

    return hub.imported as unknown as ImportedFinding[];
  };
  const foreignKey = 'arn:aws:kms:us-east-1:999988887777:key/3f1c0000-0000-4000-8000-0000000000ff';

  it('send Security Hub a bucket\'s default encryption set to another account\'s key, from the S3 rule\'s envelope, naming the key and the bucket', async () => {
    const record = otherRecord('s3.amazonaws.com', 'PutBucketEncryption', {
      requestParameters: { bucketName: 'finance', encryption: '', ServerSideEncryptionConfiguration: { xmlns: 'http://s3.amazonaws.com/doc/2006-03-01/', Rule: { ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: foreignKey }, BucketKeyEnabled: true } } },
    });

    const imported = await sendThroughLambda('aws.s3', record);

    expect(imported).toHaveLength(1);
    expect(imported[0]?.GeneratorId).toBe('kms-decrypt-monitor/s3-bucket-default-key-changed');
    expect(imported[0]?.Severity.Label).toBe('HIGH');
    expect(imported[0]?.Resources.map((r) => [r.Type, r.Id])).toEqual(expect.arrayContaining([['AwsKmsKey', foreignKey], ['AwsS3Bucket', 'arn:aws:s3:::finance']]));
  });

  it('send Security Hub a re-encryption under another account\'s key, from the KMS rule\'s envelope, naming the key it moved the data under', async () => {
    const record = kmsRecord({ eventName: 'ReEncrypt', requestParameters: { destinationKeyId: foreignKey, destinationEncryptionAlgorithm: 'SYMMETRIC_DEFAULT' } });

    const imported = await sendThroughLambda('aws.kms', record);

    expect(imported).toHaveLength(1);
    expect(imported[0]?.GeneratorId).toBe('kms-decrypt-monitor/kms-data-under-foreign-key');
    expect(imported[0]?.Severity.Label).toBe('HIGH');
    expect(imported[0]?.Resources[0]).toMatchObject({ Type: 'AwsKmsKey', Id: foreignKey });
  });

  it('send Security Hub another account\'s decrypt through a VPC endpoint, from a network activity event something forwarded, naming the endpoint', async () => {
    // The endpoint's owner's own call starts its learning period; the outside account comes eight days later, in a
    // later invocation, judged against the accounts the state table kept for the endpoint.
    const imported = await sendThroughLambda('aws.kms', networkRecord({ atMs: BASE_TIME_MS }), networkRecord({ who: { outsideAccount: '999988887777' }, atMs: BASE_TIME_MS + days(8) }));

    expect(imported).toHaveLength(1);
    expect(imported[0]?.GeneratorId).toBe('kms-decrypt-monitor/vpce-outside-credentials');
    expect(imported[0]?.Severity.Label).toBe('HIGH');
    expect(imported[0]?.Resources.map((r) => [r.Type, r.Id])).toContainEqual(['Other', 'arn:aws:ec2:us-east-1:111122223333:vpc-endpoint/vpce-0a1b2c3d4e5f60718']);
  });

  it('relate one principal\'s findings of invocations hours apart: each names the other to Security Hub, and the principal\'s entry expires', async () => {
    const table = await ddb.newStateTable();
    const hub = securityHub();
    const deps = await createLiveDeps({
      env: { STATE_TABLE: table, KDM_KEY_FACTS: 'off', POWERTOOLS_LOG_LEVEL: 'SILENT', POWERTOOLS_METRICS_DISABLED: 'true', AWS_ACCOUNT_ID: '111122223333' },
      dynamodb: ddb.client(),
      securityHubClientFor: hub.clientFor,
    });
    stdout();
    const who = { role: 'BuildAgent', session: 'stolen' } as const;
    const moved = kmsRecord({ who, atMs: BASE_TIME_MS, eventName: 'ReEncrypt', requestParameters: { destinationKeyId: foreignKey, destinationEncryptionAlgorithm: 'SYMMETRIC_DEFAULT' } });
    const deleted = kmsRecord({ who: { ...who, session: 'later' }, atMs: BASE_TIME_MS + 6 * 3_600_000, eventName: 'ScheduleKeyDeletion', requestParameters: { keyId: '1234abcd-12ab-34cd-56ef-1234567890ab', pendingWindowInDays: 7 } });
    for (const [i, record] of [moved, deleted].entries()) {
      const envelope = JSON.stringify({ version: '0', id: `e-${i}`, 'detail-type': 'AWS API Call via CloudTrail', source: 'aws.kms', account: '111122223333', time: '2026-10-01T00:00:00Z', region: 'us-east-1', resources: [], detail: record });
      expect((await createCloudTrailEventHandler(deps)(sqsEvent([envelope]), context(`r-${i}`))).batchItemFailures).toEqual([]);
    }
    await createFlushHandler(deps)({}, context('flush'));

    // Security Hub keeps the last import of each Id.
    const latest = new Map((hub.imported as { Id: string; GeneratorId: string; Description: string; RelatedFindings?: { Id: string }[] }[]).map((f) => [f.GeneratorId, f]));
    const foreign = latest.get('kms-decrypt-monitor/kms-data-under-foreign-key');
    const lifecycle = latest.get('kms-decrypt-monitor/kms-key-lifecycle');
    expect(foreign?.RelatedFindings?.map((r) => r.Id)).toEqual([lifecycle?.Id]);
    expect(lifecycle?.RelatedFindings?.map((r) => r.Id)).toEqual([foreign?.Id]);
    expect(lifecycle?.Description).toContain('Within a day of it, the same principal also raised kms-data-under-foreign-key (see its related findings).');
    expect(foreign?.Description).toContain('the same principal also raised kms-key-lifecycle');
    const entry = await ddb.client().send(new GetItemCommand({ TableName: table, Key: { pk: { S: 'pfind#arn:aws:iam::111122223333:role/BuildAgent' } } }));
    expect(Number(entry.Item?.['ttl']?.N)).toBeGreaterThanOrEqual((BASE_TIME_MS + 30 * 3_600_000) / 1000);
  });

  it('stop a cold start on a number or severity setting they cannot read, naming the variable', async () => {
    const base = { STATE_TABLE: 'kdm-state', KDM_KEY_FACTS: 'off', POWERTOOLS_LOG_LEVEL: 'SILENT' };
    const cases: [string, string, string][] = [
      // `ledgerRetentionDays` is a deploy parameter: `1y` made every ledger expiry NaN and every batch's write fail.
      ['KDM_LEDGER_RETENTION_DAYS', '1y', 'environment variable KDM_LEDGER_RETENTION_DAYS must be a whole number of at least 1 (got "1y")'],
      ['KDM_LEDGER_RETENTION_DAYS', '0', 'environment variable KDM_LEDGER_RETENTION_DAYS must be a whole number of at least 1 (got "0")'],
      ['KDM_FINDING_HOLD_MS', '5m', 'environment variable KDM_FINDING_HOLD_MS must be a whole number of at least 0 (got "5m")'],
      ['KDM_JOURNAL_TAKEOVER_MS', '-1', 'environment variable KDM_JOURNAL_TAKEOVER_MS must be a whole number of at least 1 (got "-1")'],
      ['KDM_BUSY_WAIT_MS', '2.5', 'environment variable KDM_BUSY_WAIT_MS must be a whole number of at least 0 (got "2.5")'],
      ['KDM_URGENT_SEVERITIES', 'HIGH,CRTICAL', 'environment variable KDM_URGENT_SEVERITIES names no severity "CRTICAL" (expected some of INFORMATIONAL, LOW, MEDIUM, HIGH, CRITICAL, comma-separated)'],
    ];
    for (const [name, value, message] of cases) {
      const failed = await createLiveDeps({ env: { ...base, [name]: value }, dynamodb: ddb.client() }).then(() => undefined, (error: unknown) => error);
      expect(failed, `${name}=${value}`).toBeInstanceOf(ConfigError);
      expect((failed as Error).message).toBe(message);
    }
    // Hashing encryption context with no secret key would hash with one anyone could know.
    const privacy = join(mkdtempSync(join(tmpdir(), 'kdm-privacy-')), 'kdm.config.yaml');
    writeFileSync(privacy, 'privacy:\n  hashEncryptionContext: true\n');
    const noKey = await createLiveDeps({ env: { ...base, KDM_CONFIG_FILE: privacy, KDM_CONTEXT_HASH_KEY: '' }, dynamodb: ddb.client() }).then(() => undefined, (error: unknown) => error);
    expect(noKey).toBeInstanceOf(ConfigError);
    expect((noKey as Error).message).toMatch(/^privacy\.hashEncryptionContext needs a secret key in KDM_CONTEXT_HASH_KEY/);
    await expect(createLiveDeps({ env: { ...base, KDM_CONFIG_FILE: privacy, KDM_CONTEXT_HASH_KEY: 'a3f1c0de9b7e4d2a8c6f5e4d3c2b1a09' }, dynamodb: ddb.client() })).resolves.toBeDefined();
    // Unset or empty, the defaults; the documented forms are taken as they are.
    await expect(createLiveDeps({ env: { ...base, KDM_FINDING_HOLD_MS: '', KDM_URGENT_SEVERITIES: 'high, critical' }, dynamodb: ddb.client() })).resolves.toMatchObject({ findingHoldMs: 300_000, urgentSeverities: new Set(['HIGH', 'CRITICAL']) });
    await expect(createLiveDeps({ env: { ...base, KDM_FINDING_HOLD_MS: '0', KDM_URGENT_SEVERITIES: '' }, dynamodb: ddb.client() })).resolves.toMatchObject({ findingHoldMs: 0, urgentSeverities: new Set() });
  });

  it('reports unreadable messages as partial batch failures and processes the rest', async () => {
    const deps = await createLiveDeps({ env: { STATE_TABLE: await ddb.newStateTable(), KDM_KEY_FACTS: 'off', POWERTOOLS_LOG_LEVEL: 'SILENT', POWERTOOLS_METRICS_DISABLED: 'true' }, dynamodb: ddb.client(), securityHubClientFor: securityHub().clientFor });
    const handler = createCloudTrailEventHandler(deps);
    stdout();
    const good = readFileSync(join(REPO, 'events/eventbridge/kms-decrypt.json'), 'utf8');

    const response = await handler(sqsEvent([good, '{not json', '{"detail": 3}', good]), context('r1'));

    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm-1' }, { itemIdentifier: 'm-2' }]);
    expect(deps.processor.summary.records.processed).toBe(1);
    expect(deps.processor.summary.records.skipped).toBe(1);
  });

  it('keeps findings Security Hub refused in the outbox and delivers them on the next invocation', async () => {
    const table = await ddb.newStateTable();
    let refuse = true;
    const imported: string[] = [];
    const http = scriptedHttp([
      (req) => {
        const ids = (req.json as { Findings: { Id: string }[] }).Findings.map((f) => f.Id);
        if (refuse) return { status: 200, body: { FailedCount: ids.length, SuccessCount: 0, FailedFindings: ids.map((Id) => ({ Id, ErrorCode: 'InvalidInput', ErrorMessage: 'refused' })) } };
        imported.push(...ids);
        return { status: 200, body: { FailedCount: 0, SuccessCount: ids.length, FailedFindings: [] } };
      },
    ]);
    const client = new SecurityHubClient({ region: 'us-east-1', credentials: TEST_CREDENTIALS, requestHandler: http.handler, maxAttempts: 1 });
    const deps = await createLiveDeps({ env: { STATE_TABLE: table, KDM_KEY_FACTS: 'off', POWERTOOLS_LOG_LEVEL: 'SILENT' }, dynamodb: ddb.client(), securityHubClientFor: () => client });
    const handler = createCloudTrailEventHandler(deps);
    stdout();
    const rootCall = readFileSync(join(REPO, 'events/eventbridge/kms-decrypt.json'), 'utf8').replace(/"type": ?"AssumedRole"/, '"type":"Root"');

    await handler(sqsEvent([rootCall]), context('r1'));
    const waiting = await deps.store.unpublishedFindings();
    refuse = false;
    await handler(sqsEvent([]), context('r2'));

    expect(waiting.length).toBeGreaterThan(0);
    expect(imported.sort()).toEqual(waiting.map((f) => f.id).sort());
    expect(await deps.store.unpublishedFindings()).toEqual([]);
  });

  describe('a finding Security Hub keeps refusing', () => {
    const refusingHub = (reply: (ids: string[]) => { status: number; body: unknown; headers?: Record<string, string> }) => {
      const calls: string[][] = [];
      const http = scriptedHttp([(req) => {
        const ids = (req.json as { Findings: { Id: string }[] }).Findings.map((f) => f.Id);
        calls.push(ids);
        return reply(ids);
      }]);
      const client = new SecurityHubClient({ region: 'us-east-1', credentials: TEST_CREDENTIALS, requestHandler: http.handler, maxAttempts: 1 });
      return { calls, clientFor: () => client };
    };
    const rootCall = () => readFileSync(join(REPO, 'events/eventbridge/kms-decrypt.json'), 'utf8').replace(/"type": ?"AssumedRole"/, '"type":"Root"');
    const started = Date.UTC(2030, 0, 1);

    it('leaves the outbox after five refusals over an hour, told in an error log, and its next update is sent again', async () => {
      const table = await ddb.newStateTable();
      const hub = refusingHub((ids) => ({ status: 200, body: { FailedCount: ids.length, SuccessCount: 0, FailedFindings: ids.map((Id) => ({ Id, ErrorCode: 'InvalidInput', ErrorMessage: 'Finding is malformed' })) } }));
      let nowMs = started;
      const deps = await createLiveDeps({ env: { STATE_TABLE: table, KDM_KEY_FACTS: 'off' }, dynamodb: ddb.client(), securityHubClientFor: hub.clientFor, clock: { nowMs: () => nowMs } });
      const handler = createCloudTrailEventHandler(deps);
      const flush = createFlushHandler(deps);
      const out = stdout();
      const errors: string[] = [];
      vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => errors.push(String(chunk)) > 0);

      await handler(sqsEvent([rootCall()]), context('r1'));
      const [refused] = await deps.store.unpublishedFindings();
      // Refused at 0, 10, 20, 30 and 40 minutes: five times, but not yet over an hour.
      for (let i = 1; i <= 4; i++) {
        nowMs = started + i * 10 * 60_000;
        await flush({}, context(`flush-${i}`));
      }
      const waitingAfterFive = await deps.store.unpublishedFindings();
      nowMs = started + 61 * 60_000;
      await flush({}, context('flush-61'));
      const waitingAfterAnHour = await deps.store.unpublishedFindings();
      nowMs += 10 * 60_000;
      await flush({}, context('flush-71'));
      // A new call of the same root user updates the finding: the new version is sent.
      await handler(sqsEvent([rootCall().replace(/"eventID": ?"[^"]+"/, '"eventID":"a-later-call"')]), context('r2'));
      vi.restoreAllMocks();

      expect(refused).toBeDefined();
      expect(waitingAfterFive.map((f) => f.id)).toEqual([refused?.id]);
      expect(waitingAfterAnHour).toEqual([]);
      expect(hub.calls.map((ids) => ids.length)).toEqual([1, 1, 1, 1, 1, 1, 1]);
      const told = errors.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => String(l['message']).startsWith('Security Hub keeps refusing a finding'));
      expect(told).toHaveLength(1);
      expect(told[0]).toMatchObject({ level: 'ERROR', findingId: refused?.id, ruleId: 'kms-root-usage', severity: 'HIGH', refusal: { code: 'InvalidInput', message: 'Finding is malformed', times: 6, since: new Date(started).toISOString() } });
      // The metrics serverless.yml's FindingsNotPublishedAlarm and FindingsRefusedAlarm watch, as EMF.
      const emf = out.filter((l) => l.includes('"_aws"')).map((l) => JSON.parse(l) as { _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][] }[] }; service?: string; FindingsRefused?: number; FindingPublishFailures?: number });
      const refusedMetric = emf.filter((m) => m.FindingsRefused !== undefined);
      expect(refusedMetric.reduce((n, m) => n + (m.FindingsRefused ?? 0), 0)).toBe(1);
      // One failed finding at each of the seven calls Security Hub refused.
      expect(emf.map((m) => m.FindingPublishFailures).filter((n) => n !== undefined)).toEqual([1, 1, 1, 1, 1, 1, 1]);
      for (const m of [...refusedMetric, ...emf.filter((e) => e.FindingPublishFailures !== undefined)]) {
        expect(m.service).toBe('kms-decrypt-monitor');
        expect(m._aws.CloudWatchMetrics[0]).toMatchObject({ Namespace: 'KmsDecryptMonitor', Dimensions: [['service']] });
      }
      const item = await ddb.client().send(new GetItemCommand({ TableName: table, Key: { pk: { S: `finding#${refused?.id}` } } }));
      expect(item.Item?.['gpk']?.S).toBe('outbox');
      expect(item.Item?.['refusals']?.N).toBe('1');
    });

    it('stays in the outbox while whole calls fail (access denied): that waits for a fix, not a new finding', async () => {
      const table = await ddb.newStateTable();
      const hub = refusingHub(() => ({ status: 403, body: { message: 'not authorized to perform securityhub:BatchImportFindings' }, headers: { 'x-amzn-errortype': 'AccessDeniedException' } }));
      let nowMs = started;
      const deps = await createLiveDeps({ env: { STATE_TABLE: table, KDM_KEY_FACTS: 'off', POWERTOOLS_LOG_LEVEL: 'SILENT', POWERTOOLS_METRICS_DISABLED: 'true' }, dynamodb: ddb.client(), securityHubClientFor: hub.clientFor, clock: { nowMs: () => nowMs } });
      const handler = createCloudTrailEventHandler(deps);
      const flush = createFlushHandler(deps);
      stdout();

      await handler(sqsEvent([rootCall()]), context('r1'));
      for (let i = 1; i <= 12; i++) {
        nowMs = started + i * 10 * 60_000;
        await flush({}, context(`flush-${i}`));
      }

      expect(hub.calls).toHaveLength(13);
      expect((await deps.store.unpublishedFindings()).map((f) => f.ruleId)).toEqual(['kms-root-usage']);
    });
  });

  it('reads CloudTrail log files named by S3 notifications with the replay reader, and retries a file it cannot fetch', async () => {
    const logFiles = (await expandInputs([join(REPO, 'events', 'cloudtrail')], () => undefined)).map((f) => f.path);
    const bucketFiles = new Map(logFiles.map((path) => [path.slice(path.indexOf('AWSLogs/')), path]));
    const deps = await createLiveDeps({
      env: { STATE_TABLE: await ddb.newStateTable(), KDM_KEY_FACTS: 'off', POWERTOOLS_LOG_LEVEL: 'SILENT', POWERTOOLS_METRICS_DISABLED: 'true' },
      dynamodb: ddb.client(),
      securityHubClientFor: securityHub().clientFor,
      // The trail bucket, as the files S3 would return (the S3 adapter itself is tested against the S3 client).
      objectSource: {
        async read(bucket, key) {
          const path = bucketFiles.get(key);
          if (bucket !== 'org-trail' || path === undefined) throw Object.assign(new Error(`NoSuchKey: ${key}`), { name: 'NoSuchKey' });
          return readFileSync(path);
        },
      },
    });
    const handler = createTrailLogObjectHandler(deps, objectsInNotification);
    stdout();
    const notification = (key: string) => JSON.stringify({ Records: [{ eventName: 'ObjectCreated:Put', s3: { bucket: { name: 'org-trail' }, object: { key: encodeURIComponent(key) } } }] });

    const response = await handler(sqsEvent([...bucketFiles.keys()].map(notification).concat(notification('AWSLogs/missing.json.gz'))), context('t1'));

    expect(bucketFiles.size).toBeGreaterThan(0);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: `m-${bucketFiles.size}` }]);
    expect(deps.processor.summary.files.read).toBe(bucketFiles.size);
    expect(deps.processor.summary.records.processed).toBeGreaterThan(0);
  });

  it('reads log files named through an SNS topic, and keeps a message that names none for the dead-letter queue, saying why', async () => {
    const [file] = (await expandInputs([join(REPO, 'events', 'cloudtrail')], () => undefined)).map((f) => f.path);
    const key = file!.slice(file!.indexOf('AWSLogs/'));
    const deps = await createLiveDeps({
      env: { STATE_TABLE: await ddb.newStateTable(), KDM_KEY_FACTS: 'off', POWERTOOLS_LOG_LEVEL: 'WARN', POWERTOOLS_METRICS_DISABLED: 'true' },
      dynamodb: ddb.client(),
      securityHubClientFor: securityHub().clientFor,
      objectSource: { read: async (bucket, wanted) => (bucket === 'org-trail' && wanted === key ? readFileSync(file!) : Promise.reject(new Error(`NoSuchKey: ${wanted}`))) },
    });
    const handler = createTrailLogObjectHandler(deps, objectsInNotification);
    stdout();
    const warnings: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => warnings.push(String(chunk)) > 0);
    const envelope = (message: unknown) => JSON.stringify({ Type: 'Notification', TopicArn: 'arn:aws:sns:us-east-1:111122223333:trail-files', Message: JSON.stringify(message) });

    const response = await handler(
      sqsEvent([
        // CloudTrail's own notification of a delivered log file, through its SNS topic.
        envelope({ s3Bucket: 'org-trail', s3ObjectKey: [key] }),
        // A message of some other feed sent to the queue by mistake.
        JSON.stringify({ 'detail-type': 'Scheduled Event', detail: {} }),
      ]),
      context('t2'),
    );

    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm-1' }]);
    expect(deps.processor.summary.files.read).toBe(1);
    expect(deps.processor.summary.records.processed).toBeGreaterThan(0);
    expect(warnings.join('\n')).toMatch(/message not readable.*"messageId":"m-1".*SQS message: names no log file/);
  });
});
