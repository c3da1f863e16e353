import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SecurityHubClient } from '@aws-sdk/client-securityhub';
import type { Context } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createCloudTrailEventHandler, createFlushHandler } from '#adapters/lambda/handlers.ts';
import { kmsRecord } from '#core/testing/builders.ts';
import { createLiveDeps } from '../../functions/shared/live-deps.ts';
import { REPO, runKdm } from '../helpers/cli.ts';
import { useDynamoDbLocal } from '../helpers/dynamodb-local.ts';
import { scriptedHttp, TEST_CREDENTIALS } from '../helpers/fake-http.ts';

const ddb = useDynamoDbLocal();
afterEach(() => vi.restoreAllMocks());

const context = { awsRequestId: 'req-1', functionName: 'kdm', functionVersion: '1', invokedFunctionArn: 'arn', memoryLimitInMB: '512', logGroupName: 'g', logStreamName: 's', callbackWaitsForEmptyEventLoop: true, getRemainingTimeInMillis: () => 60_000, done: () => undefined, fail: () => undefined, succeed: () => undefined } as Context;

describe('secrets and privacy', () => {
  it('logs at DEBUG without access keys, session tokens, encryption context or whole events', async () => {
    const lines: string[] = [];
    for (const stream of [process.stdout, process.stderr]) {
      vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
        lines.push(String(chunk));
        return true;
      });
    }
    const hub = scriptedHttp([(req) => ({ status: 200, body: { FailedCount: 0, SuccessCount: (req.json as { Findings: unknown[] }).Findings.length, FailedFindings: [] } })]);
    const deps = await createLiveDeps({
      env: { STATE_TABLE: await ddb.newStateTable(), KDM_KEY_FACTS: 'off', POWERTOOLS_LOG_LEVEL: 'DEBUG' },
      dynamodb: ddb.client(),
      securityHubClientFor: () => new SecurityHubClient({ region: 'us-east-1', credentials: TEST_CREDENTIALS, requestHandler: hub.handler, maxAttempts: 1 }),
    });
    const envelope = JSON.parse(readFileSync(join(REPO, 'events/eventbridge/kms-decrypt.json'), 'utf8')) as { detail: Record<string, unknown> };
    const secretive = { ...envelope.detail, userIdentity: { ...(envelope.detail['userIdentity'] as object), type: 'Root', arn: 'arn:aws:iam::111122223333:root', sessionToken: 'IQoJb3JpZ2luX2VjEXAMPLETOKEN' } };
    const root = kmsRecord({ who: { root: true }, context: { tenant: 'acme-secret-tenant' } });
    const body = (detail: unknown) => JSON.stringify({ ...envelope, detail });

    await createCloudTrailEventHandler(deps)({ Records: [secretive, root, '{not json'].map((d, i) => ({ messageId: `m${i}`, receiptHandle: 'r', body: typeof d === 'string' ? d : body(d), attributes: { ApproximateReceiveCount: '1', SentTimestamp: '0', SenderId: 's', ApproximateFirstReceiveTimestamp: '0' }, messageAttributes: {}, md5OfBody: '', eventSource: 'aws:sqs', eventSourceARN: 'arn', awsRegion: 'us-east-1' })) }, context);
    await createFlushHandler(deps)({}, context);
    vi.restoreAllMocks();
    const logs = lines.join('');

    expect(logs).toContain('batch evaluated');
    expect(logs).toContain('message not readable');
    expect(logs).not.toMatch(/AKIA|ASIA[A-Z0-9]{8}/);
    expect(logs).not.toContain('IQoJb3JpZ2lu');
    expect(logs).not.toContain('acme-secret-tenant');
    expect(logs).not.toContain('"eventVersion"');
    expect(logs).not.toContain('userIdentity');
  });

  it('with privacy.hashEncryptionContext, findings carry keyed hashes instead of encryption context values', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kdm-privacy-'));
    const config = join(dir, 'kdm.config.yaml');
    writeFileSync(config, 'privacy:\n  hashEncryptionContext: true\n');
    writeFileSync(join(dir, 'root.json'), JSON.stringify({ Records: [kmsRecord({ who: { root: true }, context: { tenant: 'acme-secret-tenant', purpose: 'payroll' } })] }));
    const key = { KDM_CONTEXT_HASH_KEY: 'a3f1c0de9b7e4d2a8c6f5e4d3c2b1a09' };
    const hashed = runKdm(['replay', join(dir, 'root.json'), '--config', config, '--findings', '-'], undefined, key);
    const plain = runKdm(['replay', join(dir, 'root.json'), '--findings', '-']);
    const fields = (out: string) => (JSON.parse(out.trim().split('\n')[0] ?? '{}') as { ProductFields: Record<string, string> }).ProductFields;

    expect(hashed.status).toBe(0);
    expect(fields(plain.stdout)['kdm/Context/tenant']).toBe('acme-secret-tenant');
    expect(fields(hashed.stdout)['kdm/Context/tenant']).toMatch(/^hmac-sha256:[0-9a-f]{24}$/);
    expect(hashed.stdout).not.toContain('acme-secret-tenant');
    expect(hashed.stdout).not.toContain('payroll"');
    // Keyed: another key, another hash, so a value cannot be confirmed by hashing guesses without the key.
    const otherKey = runKdm(['replay', join(dir, 'root.json'), '--config', config, '--findings', '-'], undefined, { KDM_CONTEXT_HASH_KEY: 'another-key-of-32-characters-xyz' });
    expect(fields(otherKey.stdout)['kdm/Context/tenant']).toMatch(/^hmac-sha256:[0-9a-f]{24}$/);
    expect(fields(otherKey.stdout)['kdm/Context/tenant']).not.toBe(fields(hashed.stdout)['kdm/Context/tenant']);
  });

  it('refuses to hash encryption context without a secret key, which would let values be confirmed by guessing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kdm-privacy-'));
    const config = join(dir, 'kdm.config.yaml');
    writeFileSync(config, 'privacy:\n  hashEncryptionContext: true\n');
    writeFileSync(join(dir, 'root.json'), JSON.stringify({ Records: [kmsRecord({ who: { root: true }, context: { tenant: 'acme-secret-tenant' } })] }));

    const noKey = runKdm(['replay', join(dir, 'root.json'), '--config', config, '--findings', '-'], undefined, { KDM_CONTEXT_HASH_KEY: '' });
    expect(noKey.status).toBe(1);
    expect(noKey.stderr).toBe('kdm: privacy.hashEncryptionContext needs a secret key in KDM_CONTEXT_HASH_KEY (at least 16 characters, e.g. from `openssl rand -hex 32`): without one, hashed values could be confirmed by guessing\n');
    expect(noKey.stdout).toBe('');
    const shortKey = runKdm(['replay', join(dir, 'root.json'), '--config', config], undefined, { KDM_CONTEXT_HASH_KEY: 'secret' });
    expect(shortKey.status).toBe(1);
    expect(shortKey.stderr).toBe('kdm: KDM_CONTEXT_HASH_KEY is 6 characters; it needs at least 16 (e.g. from `openssl rand -hex 32`)\n');
  });
});
