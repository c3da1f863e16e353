import { SecurityHubClient } from '@aws-sdk/client-securityhub';
import { STSClient } from '@aws-sdk/client-sts';
import { describe, expect, it } from 'vitest';
import { validateFindings } from '#adapters/aws/asff-validator.ts';
import { createMemberAccountClients } from '#adapters/aws/member-account-clients.ts';
import { batchFindings, createSecurityHubFindingSink, SECURITY_HUB_LIMITS } from '#adapters/aws/securityhub-finding-sink.ts';
import { FindingPublishError } from '#core/errors.ts';
import { toAsff } from '#core/findings/asff.ts';
import { mergeDetection, type FindingRecord } from '#core/findings/finding.ts';
import { ruleById } from '#core/rules/registry.ts';
import { BASE_TIME_MS, kmsEvent, OTHER_ACCOUNT } from '#core/testing/builders.ts';
import { scriptedHttp, TEST_CREDENTIALS, virtualPacing, type ScriptedReply } from '../../../helpers/fake-http.ts';

const rule = ruleById('kms-root-usage')!;
const finding = (i: number, account?: string): FindingRecord =>
  mergeDetection(undefined, { ruleId: rule.id, severity: 'HIGH', subject: `s${i}`, aggregationWindowMs: 3_600_000, reason: `Root decrypted ${i}.`, event: kmsEvent({ who: { root: true, ...(account !== undefined ? { account } : {}) }, recipientAccountId: account ?? '111122223333', atMs: BASE_TIME_MS + i }) }, BASE_TIME_MS + 1000);
const render = (f: FindingRecord) => toAsff(f, rule);
const ok = (n: number): ScriptedReply => ({ status: 200, body: { FailedCount: 0, SuccessCount: n, FailedFindings: [] } });

const setup = (replies: Parameters<typeof scriptedHttp>[0]) => {
  const http = scriptedHttp(replies);
  const pacing = virtualPacing();
  const client = new SecurityHubClient({ region: 'us-east-1', credentials: TEST_CREDENTIALS, requestHandler: http.handler, maxAttempts: 1 });
  const sink = createSecurityHubFindingSink({ render, clientFor: () => client, pacing });
  return { http, pacing, sink };
};

describe('SecurityHubFindingSink (real SecurityHubClient, scripted HTTP)', () => {
  it('imports findings with one call that the SDK serializes as BatchImportFindings', async () => {
    const { http, sink } = setup([ok(3)]);

    await sink.put([finding(1), finding(2), finding(3)]);

    expect(http.requests).toHaveLength(1);
    const req = http.requests[0]!;
    expect([req.method, req.path]).toEqual(['POST', '/findings/import']);
    expect(req.headers['authorization']).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDTESTTESTTEST\/\d+\/us-east-1\/securityhub\/aws4_request/);
    const body = req.json as { Findings: unknown[] };
    expect(body.Findings).toHaveLength(3);
    expect(validateFindings(body.Findings)).toEqual([]);
    expect(sink.stats).toEqual({ calls: 1, imported: 3 });
  });

  it('splits at 100 findings a call', async () => {
    const { http, sink } = setup([ok(100)]);

    await sink.put(Array.from({ length: 250 }, (_, i) => finding(i)));

    expect(http.requests.map((r) => (r.json as { Findings: unknown[] }).Findings.length)).toEqual([100, 100, 50]);
  });

  it('splits at the 6 MB request size', () => {
    const big = (i: number) => ({ ...render(finding(i)), ProductFields: { 'kdm/RuleId': rule.id, pad: 'x'.repeat(200_000) } });

    const batches = batchFindings(Array.from({ length: 40 }, (_, i) => big(i)));

    expect(batches.length).toBeGreaterThan(1);
    for (const b of batches) expect(Buffer.byteLength(JSON.stringify(b))).toBeLessThan(SECURITY_HUB_LIMITS.bytesPerCall);
    expect(batches.flat()).toHaveLength(40);
  });

  it('retries only the findings Security Hub failed with a transient code', async () => {
    const { http, sink, pacing } = setup([
      (req) => {
        const ids = (req.json as { Findings: { Id: string }[] }).Findings.map((f) => f.Id);
        return { status: 200, body: { FailedCount: 1, SuccessCount: ids.length - 1, FailedFindings: [{ Id: ids[1], ErrorCode: 'InternalException', ErrorMessage: 'try again' }] } };
      },
      ok(1),
    ]);

    await sink.put([finding(1), finding(2), finding(3)]);

    expect(http.requests.map((r) => (r.json as { Findings: unknown[] }).Findings.length)).toEqual([3, 1]);
    expect(pacing.slept.length).toBeGreaterThan(0);
    expect(sink.stats.imported).toBe(3);
  });

  it('retries throttling (429) and 5xx with backoff, then succeeds', async () => {
    const throttled: ScriptedReply = { status: 429, headers: { 'x-amzn-errortype': 'TooManyRequestsException' }, body: { message: 'Rate exceeded' } };
    const broken: ScriptedReply = { status: 500, headers: { 'x-amzn-errortype': 'InternalException' }, body: { message: 'oops' } };
    const { http, sink, pacing } = setup([throttled, broken, ok(2)]);

    await sink.put([finding(1), finding(2)]);

    expect(http.requests).toHaveLength(3);
    expect(pacing.slept.filter((ms) => ms > 0).length).toBeGreaterThanOrEqual(2);
  });

  it('raises an error naming the findings that stay rejected, after importing the rest', async () => {
    const { sink } = setup([
      (req) => {
        const ids = (req.json as { Findings: { Id: string }[] }).Findings.map((f) => f.Id);
        return { status: 200, body: { FailedCount: 1, SuccessCount: ids.length - 1, FailedFindings: [{ Id: ids[0], ErrorCode: 'InvalidInput', ErrorMessage: 'Finding is invalid' }] } };
      },
    ]);
    const records = [finding(1), finding(2)];

    const error = await sink.put(records).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(FindingPublishError);
    // Refused: the finding itself, sent again unchanged, would be refused again (the outbox counts such refusals).
    expect((error as FindingPublishError).failures).toEqual([{ id: records[0]!.id, code: 'InvalidInput', message: 'Finding is invalid', refused: true }]);
    expect((error as Error).message).toContain(records[0]!.id);
    expect((error as Error).message).toMatch(/ rejected 1 finding: /);
    expect(sink.stats.imported).toBe(1);
  });

  it('gives up on persistent throttling with an error naming every finding, nothing silently lost', async () => {
    const { http, sink } = setup([{ status: 429, headers: { 'x-amzn-errortype': 'TooManyRequestsException' }, body: { message: 'Rate exceeded' } }]);
    const records = [finding(1), finding(2)];

    const error = (await sink.put(records).catch((e: unknown) => e)) as FindingPublishError;

    expect(error.failures.map((f) => f.id).sort()).toEqual(records.map((r) => r.id).sort());
    expect(error.failures[0]?.code).toBe('TooManyRequestsException');
    // Throttled is not refused: these findings wait in the outbox for as long as it takes.
    expect(error.failures.filter((f) => f.refused !== undefined)).toEqual([]);
    expect(error.message).toMatch(/^2 findings could not be sent to Security Hub: /);
    expect(http.requests).toHaveLength(6);
  });

  it('does not retry an access error', async () => {
    const { http, sink } = setup([{ status: 403, headers: { 'x-amzn-errortype': 'AccessDeniedException' }, body: { message: 'not allowed' } }]);

    await expect(sink.put([finding(1)])).rejects.toThrow(/AccessDeniedException/);
    expect(http.requests).toHaveLength(1);
  });

  it('stays within 10 calls a second with bursts of 30', async () => {
    const { http, sink, pacing } = setup([ok(1)]);

    await sink.put(Array.from({ length: 5_000 }, (_, i) => finding(i)));

    expect(http.requests).toHaveLength(50);
    // 30 at once, then 20 more at 10/s: about 2 seconds of virtual time.
    expect(pacing.nowMs()).toBeGreaterThanOrEqual(1_900);
    expect(pacing.nowMs()).toBeLessThan(2_600);
  });

  it('imports each finding into its own account through that account\'s role', async () => {
    const stsHttp = scriptedHttp([
      {
        status: 200,
        headers: { 'content-type': 'text/xml' },
        body: `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials><AccessKeyId>ASIAMEMBERACCOUNT01</AccessKeyId><SecretAccessKey>s</SecretAccessKey><SessionToken>t</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials><AssumedRoleUser><Arn>arn:aws:sts::${OTHER_ACCOUNT}:assumed-role/kdm-import/kms-decrypt-monitor-import</Arn><AssumedRoleId>AROA:x</AssumedRoleId></AssumedRoleUser></AssumeRoleResult></AssumeRoleResponse>`,
      },
    ]);
    const shHttp = scriptedHttp([ok(1)]);
    const sts = new STSClient({ region: 'us-east-1', credentials: TEST_CREDENTIALS, requestHandler: stsHttp.handler });
    const clientFor = createMemberAccountClients({ importRoleArnTemplate: 'arn:aws:iam::{account}:role/kdm-import', sts, clientConfig: { requestHandler: shHttp.handler, maxAttempts: 1 } });
    const sink = createSecurityHubFindingSink({ render, clientFor, pacing: virtualPacing() });

    await sink.put([finding(1, OTHER_ACCOUNT)]);

    expect(decodeURIComponent(stsHttp.requests[0]!.body)).toContain(`RoleArn=arn:aws:iam::${OTHER_ACCOUNT}:role/kdm-import`);
    expect(shHttp.requests[0]!.headers['authorization']).toContain('Credential=ASIAMEMBERACCOUNT01/');
    expect((shHttp.requests[0]!.json as { Findings: { AwsAccountId: string; ProductArn: string }[] }).Findings[0]).toMatchObject({
      AwsAccountId: OTHER_ACCOUNT,
      ProductArn: `arn:aws:securityhub:us-east-1:${OTHER_ACCOUNT}:product/${OTHER_ACCOUNT}/default`,
    });
  });
});
