import { spawn, spawnSync } from 'node:child_process';
import { createServer as createHttpServer } from 'node:http';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KDM, REPO, runKdm } from '../helpers/cli.ts';

describe('kdm replay --publish (dry run: validates and counts, sends nothing)', () => {
  it('validates findings against the Security Hub model and counts the calls it would make', () => {
    const run = runKdm(['replay', 'events/', '--publish', 'securityhub', '--dry-run', '--summary', 'json']);

    expect(run.status).toBe(0);
    expect(run.stderr).toMatch(/dry run: 8 findings valid for BatchImportFindings; would make 1 call to Security Hub in 1 account and region/);
  });

  it('counts PutEvents calls for EventBridge', () => {
    const run = runKdm(['replay', 'events/', '--publish', 'eventbridge', '--event-bus', 'security', '--findings-format', 'ocsf', '--dry-run']);

    expect(run.status).toBe(0);
    expect(run.stderr).toMatch(/would make 1 PutEvents call to bus security \(ocsf\)/);
  });

  it.each([
    [['--publish', 'splunk'], /--publish must be securityhub or eventbridge/],
    [['--dry-run'], /--dry-run goes with --publish/],
    [['--publish', 'securityhub', '--findings-format', 'ocsf'], /Security Hub \(BatchImportFindings\) takes ASFF/],
    [['--publish', 'securityhub', '--import-role', 'arn:aws:iam::111122223333:role/x'], /--import-role must contain \{account\}/],
    [['--findings-format', 'cef'], /--findings-format must be asff or ocsf/],
  ])('rejects %j with exit 1', (extra, message) => {
    const run = runKdm(['replay', 'events/', ...extra]);

    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(message);
  });
});

describe('kdm on a machine without AWS region or credentials', () => {
  // No credentials anywhere the SDK looks, and no instance metadata (which would be the network).
  const home = mkdtempSync(join(tmpdir(), 'kdm-no-aws-'));
  const bareEnv = { PATH: process.env['PATH'] ?? '', HOME: home, AWS_EC2_METADATA_DISABLED: 'true', AWS_CONFIG_FILE: join(home, 'none'), AWS_SHARED_CREDENTIALS_FILE: join(home, 'none') };
  const kdm = (args: readonly string[], env: Record<string, string> = {}) => spawnSync(process.execPath, [KDM, ...args], { cwd: REPO, encoding: 'utf8', env: { ...bareEnv, ...env } });

  it.each([
    ['history from DynamoDB, no region', ['history', '--source', 'dynamodb', '--table', 'kdm-state'], {}, 'kdm: no AWS region is configured: set AWS_REGION (kdm history also takes --region)'],
    ['history from DynamoDB, no credentials', ['history', '--source', 'dynamodb', '--table', 'kdm-state', '--region', 'us-east-1'], {}, 'kdm: no AWS credentials found: set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), or run where a role provides them'],
    ['publishing to Security Hub', ['replay', 'events/', '--publish', 'securityhub', '--summary', 'json'], {}, 'kdm: cannot publish: no AWS credentials found: set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), or run where a role provides them; nothing was sent'],
    ['publishing to EventBridge', ['replay', 'events/', '--publish', 'eventbridge', '--summary', 'json'], {}, 'kdm: cannot publish: no AWS region is configured: set AWS_REGION (kdm history also takes --region); nothing was sent'],
    ['publishing to EventBridge with a region', ['replay', 'events/', '--publish', 'eventbridge', '--summary', 'json'], { AWS_REGION: 'us-east-1' }, 'kdm: cannot publish: no AWS credentials found: set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), or run where a role provides them; nothing was sent'],
  ])('%s: says what to set, in one line, exit 1', (_, args, env, message) => {
    const run = kdm(args, env);

    expect(run.status).toBe(1);
    const lines = run.stderr.split('\n').filter((l) => l !== '' && !/^kdm: (skipped|reading \d+ day)/.test(l));
    expect(lines).toEqual([message]);
  });

  describe('with credentials, where AWS cannot be reached (an endpoint on a closed loopback port)', () => {
    let closedPort = 0;
    beforeAll(async () => {
      const server = createServer();
      await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
      closedPort = (server.address() as AddressInfo).port;
      await new Promise<void>((closed) => server.close(() => closed()));
    });
    const unreachable = () => ({ AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'example', AWS_ENDPOINT_URL: `http://127.0.0.1:${closedPort}` });
    const told = (): string => `cannot reach AWS (connect ECONNREFUSED 127.0.0.1:${closedPort}): check the network, the region (AWS_REGION) and any endpoint set (AWS_ENDPOINT_URL)`;

    it.each([
      ['Security Hub', ['replay', 'events/', '--publish', 'securityhub', '--summary', 'json'], (): string => `kdm: cannot publish to Security Hub: ${told()}; nothing was sent`],
      ['EventBridge', ['replay', 'events/', '--publish', 'eventbridge', '--summary', 'json'], (): string => `kdm: cannot publish to EventBridge: ${told()}; nothing was sent`],
      ['DynamoDB', ['history', '--source', 'dynamodb', '--table', 'kdm-state'], (): string => `kdm: ${told()}`],
    ])('%s: says once that AWS was not reached, not that each finding was rejected, exit 1', (_, args, message) => {
      const run = kdm(args, unreachable());

      expect(run.status).toBe(1);
      const lines = run.stderr.split('\n').filter((l) => l !== '' && !/^kdm: (skipped|reading \d+ day)/.test(l));
      expect(lines).toEqual([message()]);
    });
  });

  describe('with credentials AWS refuses (an endpoint on loopback that answers as AWS does to an invalid token)', () => {
    const server = createHttpServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(400, { 'content-type': 'application/json', 'x-amzn-errortype': 'UnrecognizedClientException' });
        res.end(JSON.stringify({ __type: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' }));
      });
    });
    beforeAll(async () => {
      await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
    });
    afterAll(async () => {
      await new Promise<void>((closed) => server.close(() => closed()));
    });
    /** As `kdm`, but without blocking this process, whose server answers the child. */
    const kdmAsync = (args: readonly string[]): Promise<{ status: number | null; stderr: string }> =>
      new Promise((done) => {
        const env = { ...bareEnv, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'example', AWS_ENDPOINT_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
        const child = spawn(process.execPath, [KDM, ...args], { cwd: REPO, env, stdio: ['ignore', 'ignore', 'pipe'] });
        let stderr = '';
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        child.on('close', (status) => done({ status, stderr }));
      });
    const refused = 'UnrecognizedClientException: The security token included in the request is invalid';

    it.each([
      ['Security Hub', ['replay', 'events/', '--publish', 'securityhub', '--summary', 'json'], `kdm: cannot publish to Security Hub: all 8 findings failed with ${refused}; nothing was sent`],
      ['EventBridge', ['replay', 'events/', '--publish', 'eventbridge', '--summary', 'json'], `kdm: cannot publish to EventBridge: all 8 findings failed with ${refused}; nothing was sent`],
      ['DynamoDB', ['history', '--source', 'dynamodb', '--table', 'kdm-state'], `kdm: AWS answered ${refused}`],
    ])('%s: says once what AWS answered, not once per finding or as an unexpected error, exit 1', async (_, args, message) => {
      const run = await kdmAsync(args);

      expect(run.status).toBe(1);
      const lines = run.stderr.split('\n').filter((l) => l !== '' && !/^kdm: (skipped|reading \d+ day)/.test(l));
      expect(lines).toEqual([message]);
    });
  });

  it('leaves out the SDK\'s warning about its Node 22 releases, which the pinned versions make ours to act on, unless asked for', () => {
    const quiet = kdm(['history', '--source', 'dynamodb', '--table', 'kdm-state']);
    expect(quiet.stderr).not.toMatch(/NodeVersionSupportWarning/);
    const asked = kdm(['history', '--source', 'dynamodb', '--table', 'kdm-state'], { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'false' });
    if (Number(process.versions.node.split('.')[0]) < 22) expect(asked.stderr).toMatch(/NodeVersionSupportWarning/);
  });
});

describe('kdm replay --findings-format ocsf', () => {
  it('writes OCSF Detection Findings (class 2004), one per line', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'kdm-ocsf-')), 'findings.jsonl');

    const run = runKdm(['replay', 'events/', '--findings', out, '--findings-format', 'ocsf']);

    expect(run.status).toBe(0);
    const lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { class_uid: number; finding_info: { analytic: { uid: string } } });
    expect(lines).toHaveLength(8);
    for (const l of lines) expect(l.class_uid).toBe(2004);
    expect(lines.map((l) => l.finding_info.analytic.uid).sort()).toEqual(['kms-data-under-foreign-key', 'kms-principal-several-anomalies', 'kms-root-usage', 'kms-s3-data-key-direct-decrypt', 'kms-throttled', 's3-bucket-default-key-changed', 's3-put-without-required-kms', 'vpce-outside-credentials']);
  });
});
