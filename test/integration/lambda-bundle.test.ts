import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, runKdm } from '../helpers/cli.ts';
import { useDynamoDbLocal } from '../helpers/dynamodb-local.ts';
import { envelopesFromEvents, sqsEvent } from '../helpers/lambda-events.ts';

// The packaged functions themselves, as Lambda loads them: each bundle's index.mjs imported by a Node process of its
// own, its lazy files loaded on first use, DynamoDB Local for its state, and Security Hub and KMS answered on
// loopback by a stand-in that keeps what it was asked. The handlers' logic is tested from source elsewhere
// (lambda-handler.test.ts); this checks the artifact: that the bundles load, find their lazy files, and send.
const ddb = useDynamoDbLocal();
const OUT = mkdtempSync(join(tmpdir(), 'kdm-lambda-bundle-'));
const ACCOUNT = '111122223333';

interface AwsRequest {
  readonly path: string;
  readonly target: string | undefined;
  readonly body: Record<string, unknown>;
  readonly userAgent: string | undefined;
}

/** What the stand-in serves as S3 objects, by path (`/<bucket>/<key>`: S3's path style, which an IP endpoint gets). */
const s3Objects = new Map<string, Buffer>();

/**
 * Security Hub, KMS and S3 on loopback: takes every finding, tags every key `classification=restricted`, and serves
 * the objects in `s3Objects`.
 */
const startStandIn = async (): Promise<{ readonly endpoint: string; readonly requests: AwsRequest[]; readonly server: Server }> => {
  const requests: AwsRequest[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const target = req.headers['x-amz-target'] as string | undefined;
      const body = (text === '' || req.method === 'GET' ? {} : JSON.parse(text)) as Record<string, unknown>;
      requests.push({ path: req.url ?? '', target, body, userAgent: req.headers['user-agent'] });
      const reply = (status: number, json: unknown, type = 'application/json'): void => {
        res.writeHead(status, { 'content-type': type });
        res.end(JSON.stringify(json));
      };
      const object = req.method === 'GET' ? s3Objects.get(decodeURIComponent((req.url ?? '').split('?')[0] ?? '')) : undefined;
      if (object !== undefined) {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(object.length) });
        res.end(object);
      } else if (req.url === '/findings/import') {
        const findings = (body['Findings'] as unknown[] | undefined) ?? [];
        reply(200, { FailedCount: 0, SuccessCount: findings.length, FailedFindings: [] });
      } else if (target === 'TrentService.DescribeKey') {
        const keyId = String(body['KeyId']);
        reply(200, { KeyMetadata: { KeyId: keyId.split('/').pop(), Arn: keyId, AWSAccountId: ACCOUNT, KeyState: 'Enabled', KeyManager: 'CUSTOMER' } }, 'application/x-amz-json-1.1');
      } else if (target === 'TrentService.ListResourceTags') {
        reply(200, { Tags: [{ TagKey: 'classification', TagValue: 'restricted' }], Truncated: false }, 'application/x-amz-json-1.1');
      } else reply(400, { __type: 'UnknownOperationException', message: `the stand-in does not answer ${target ?? req.url}` });
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests, server };
};

/**
 * Imports a packaged function in a process of its own, as Lambda does, and invokes it once with `event`. Not with
 * spawnSync: the stand-in answering the function's AWS calls runs on this process's event loop.
 */
const invokeBundle = async (name: string, event: unknown, env: Record<string, string>): Promise<{ readonly status: number | null; readonly result: unknown; readonly stderr: string }> => {
  const eventFile = join(OUT, `${name}-event.json`);
  writeFileSync(eventFile, JSON.stringify(event));
  const script = `
    import { readFileSync } from 'node:fs';
    const { handler } = await import(${JSON.stringify(join(OUT, name, 'index.mjs'))});
    const context = { awsRequestId: 'req-1', functionName: ${JSON.stringify(name)}, functionVersion: '$LATEST', invokedFunctionArn: 'arn:aws:lambda:us-east-1:${ACCOUNT}:function:${name}', memoryLimitInMB: '512', getRemainingTimeInMillis: () => 60000 };
    const result = await handler(JSON.parse(readFileSync(${JSON.stringify(eventFile)}, 'utf8')), context);
    process.stderr.write('RESULT ' + JSON.stringify(result ?? null) + '\\n');`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { env: { PATH: process.env['PATH'] ?? '', ...env }, stdio: ['ignore', 'ignore', 'pipe'], timeout: 60_000 });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const [status] = (await once(child, 'close')) as [number | null];
  const line = stderr.split('\n').find((l) => l.startsWith('RESULT '));
  return { status, result: line === undefined ? undefined : JSON.parse(line.slice('RESULT '.length)), stderr };
};

let standIn: Awaited<ReturnType<typeof startStandIn>>;

/** A function's environment: its state table in DynamoDB Local, every other AWS service the stand-in. */
const lambdaEnv = (table: string, more: Record<string, string>): Record<string, string> => ({
  STATE_TABLE: table,
  AWS_ACCOUNT_ID: ACCOUNT,
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'local',
  AWS_SECRET_ACCESS_KEY: 'local',
  AWS_ENDPOINT_URL_DYNAMODB: ddb.endpoint(),
  AWS_ENDPOINT_URL: standIn.endpoint,
  POWERTOOLS_LOG_LEVEL: 'SILENT',
  POWERTOOLS_METRICS_DISABLED: 'true',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  ...more,
});

beforeAll(async () => {
  const bundled = spawnSync(process.execPath, ['scripts/bundle-functions.mjs'], { cwd: REPO, encoding: 'utf8', env: { ...process.env, KDM_LAMBDA_OUT: OUT } });
  if (bundled.status !== 0) throw new Error(`bundling the functions failed:\n${bundled.stdout}\n${bundled.stderr}`);
  standIn = await startStandIn();
}, 120_000);

afterAll(() => {
  standIn?.server.close();
});

describe('the packaged Lambda functions', () => {
  it('load at cold start from index.mjs alone, their lazy files on first use', () => {
    for (const name of ['on-cloudtrail-event', 'on-trail-log-object', 'flush-pending']) {
      const files = readdirSync(join(OUT, name)).filter((f) => f.endsWith('.mjs'));
      const index = readFileSync(join(OUT, name, 'index.mjs'), 'utf8');

      // index.mjs imports no file of its own statically: only `import("./lazy-….mjs")`, and Node's modules.
      expect(index.match(/from\s*"\.\/[^"]+"/g) ?? [], name).toEqual([]);
      for (const lazy of new Set(index.match(/import\("\.\/(lazy-[0-9a-f]+\.mjs)"\)/g) ?? [])) {
        expect(files, `${name}: ${lazy}`).toContain(/lazy-[0-9a-f]+\.mjs/.exec(lazy)?.[0]);
      }
      // Of the DynamoDB client's package.json, its name and version alone (for the user agent), not its scripts and dependencies.
      expect(index, name).toContain(`{name:"@aws-sdk/client-dynamodb",version:"`);
      expect(index.includes('"devDependencies"') || index.includes('devDependencies:'), name).toBe(false);
      // Security Hub's client (its service namespace) is not in what loads at cold start, but in a lazy file.
      expect(index.includes('com.amazonaws.securityhub'), name).toBe(false);
      expect(files.some((f) => readFileSync(join(OUT, name, f), 'utf8').includes('com.amazonaws.securityhub')), name).toBe(true);
    }
  });

  it('process SQS batches into DynamoDB, look keys up in KMS and send the findings to Security Hub, as `kdm replay` finds them', async () => {
    const table = await ddb.newStateTable();
    const config = join(OUT, 'kdm.config.yaml');
    // A key selected by tag: the engine then asks KMS for the tags of every key it meets (the KMS client's lazy file).
    writeFileSync(config, 'keys:\n  - tag: { classification: restricted }\n    sensitive: true\n');
    const env = lambdaEnv(table, { KDM_CONFIG_FILE: config, KDM_FINDING_HOLD_MS: '0' });

    const first = await invokeBundle('on-cloudtrail-event', sqsEvent(await envelopesFromEvents()), env);
    const flushed = await invokeBundle('flush-pending', {}, env);

    expect(first.status, first.stderr).toBe(0);
    expect(first.result).toEqual({ batchItemFailures: [] });
    expect(flushed.status, flushed.stderr).toBe(0);
    // KMS: described and tag-listed through the lazily loaded client.
    const kmsTargets = new Set(standIn.requests.map((r) => r.target).filter((t) => t !== undefined));
    expect(kmsTargets).toEqual(new Set(['TrentService.DescribeKey', 'TrentService.ListResourceTags']));
    // Each client's user agent names its version, the one field the bundles keep of its package.json.
    const versionOf = (client: string): string => (JSON.parse(readFileSync(join(REPO, 'node_modules', '@aws-sdk', client, 'package.json'), 'utf8')) as { version: string }).version;
    for (const r of standIn.requests.filter((r) => r.target?.startsWith('TrentService.') === true)) expect(r.userAgent).toContain(`api/kms#${versionOf('client-kms')}`);
    // Security Hub: the findings `kdm replay` makes of the same records, with the same configuration.
    const dir = mkdtempSync(join(tmpdir(), 'kdm-bundle-replay-'));
    const replay = runKdm(['replay', join(REPO, 'events'), '--findings', join(dir, 'findings.jsonl'), '--account', ACCOUNT]);
    expect(replay.status, replay.stderr).toBe(0);
    const replayedIds = readFileSync(join(dir, 'findings.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { Id: string }).Id);
    const importedIds = standIn.requests.filter((r) => r.path === '/findings/import').flatMap((r) => (r.body['Findings'] as { Id: string }[]).map((f) => f.Id));
    expect(replayedIds.length).toBeGreaterThan(0);
    expect(new Set(importedIds)).toEqual(new Set(replayedIds));
  });

  it('name the TypeScript sources in the stack trace of a cold start that fails, with no NODE_OPTIONS', async () => {
    // serverless.yml sets no --enable-source-maps; the functions map their stack traces themselves.
    expect(readFileSync(join(REPO, 'serverless.yml'), 'utf8')).not.toMatch(/^\s+NODE_OPTIONS:/m);
    const table = await ddb.newStateTable();

    const run = await invokeBundle('flush-pending', {}, lambdaEnv(table, { KDM_LEDGER_RETENTION_DAYS: '1y' }));

    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain('environment variable KDM_LEDGER_RETENTION_DAYS must be a whole number of at least 1 (got "1y")');
    // The map's paths, relative to the bundle's directory with their leading `../` dropped (bundled here outside
    // the repository, so longer than the `functions/shared/live-deps.ts` of dist/lambda/<function>/).
    const frames = run.stderr.split('\n').filter((line) => line.startsWith('    at '));
    expect(frames[0]).toMatch(/^ {4}at wholeNumber \(\S*functions\/shared\/live-deps\.ts:\d+:\d+\)$/);
    expect(frames[1]).toMatch(/^ {4}at createLiveDeps \(\S*functions\/shared\/live-deps\.ts:\d+:\d+\)$/);
    expect(frames.filter((line) => line.includes('index.mjs'))).toEqual([]);
    // Node prints the line of the bundle that threw above the error: a line of code, not the whole minified bundle
    // (125 KB on one line before the bundles' lines were limited).
    expect(run.stderr).toMatch(/index\.mjs:\d+\n/);
    expect(Math.max(...run.stderr.split('\n').map((line) => line.length))).toBeLessThan(2_000);
  });

  it('read the log file an S3 notification names through the lazily loaded S3 client', async () => {
    const table = await ddb.newStateTable();
    const file = join(REPO, 'events', 'cloudtrail', 'AWSLogs', '111122223333', 'CloudTrail', 'us-east-1', '2026', '10', '01', '111122223333_CloudTrail_us-east-1_20261001T0925Z_a1b2c3d4e5f6a7b8.json.gz');
    const key = file.slice(file.indexOf('AWSLogs/'));
    s3Objects.set(`/org-trail/${key}`, readFileSync(file));
    const notification = JSON.stringify({ Records: [{ eventName: 'ObjectCreated:Put', s3: { bucket: { name: 'org-trail' }, object: { key: encodeURIComponent(key) } } }] });
    const requestsBefore = standIn.requests.length;

    const run = await invokeBundle('on-trail-log-object', sqsEvent([notification]), lambdaEnv(table, { KDM_KEY_FACTS: 'off' }));

    expect(run.status, run.stderr).toBe(0);
    expect(run.result).toEqual({ batchItemFailures: [] });
    expect(standIn.requests.slice(requestsBefore).map((r) => decodeURIComponent(r.path.split('?')[0] ?? ''))).toContain(`/org-trail/${key}`);
  });
});
