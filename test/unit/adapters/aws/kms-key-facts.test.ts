import { KMSClient } from '@aws-sdk/client-kms';
import { describe, expect, it } from 'vitest';
import { validateFindings } from '#adapters/aws/asff-validator.ts';
import { createKmsKeyFactsSource } from '#adapters/aws/kms-key-facts.ts';
import { createMemoryStateStore } from '#adapters/memory/memory-state-store.ts';
import { createRecordProcessor } from '#app/process-records.ts';
import { compileConfig } from '#core/config.ts';
import { createEngine } from '#core/engine.ts';
import { toAsff } from '#core/findings/asff.ts';
import { ALL_RULES } from '#core/rules/registry.ts';
import { BASE_TIME_MS, KEY_ARN, kmsRecord } from '#core/testing/builders.ts';
import { scriptedHttp, TEST_CREDENTIALS, virtualPacing, type RecordedRequest, type ScriptedReply } from '../../../helpers/fake-http.ts';

const CREDENTIALS = TEST_CREDENTIALS;
const OTHER_KEY = 'arn:aws:kms:eu-west-1:444455556666:key/0000aaaa-0000-4000-8000-000000000000';

/** KMS as it answers on the wire (JSON 1.1, X-Amz-Target), per operation. */
const kmsReplies = (answers: Record<string, (req: RecordedRequest) => ScriptedReply>) => (req: RecordedRequest): ScriptedReply => {
  const operation = (req.headers['x-amz-target'] ?? '').replace('TrentService.', '');
  const answer = answers[operation];
  if (answer === undefined) throw new Error(`unexpected KMS call ${operation}`);
  return answer(req);
};

const described = (keyArn: string, manager = 'CUSTOMER'): ScriptedReply => ({
  status: 200,
  body: { KeyMetadata: { Arn: keyArn, KeyId: keyArn.split('/').pop(), KeyManager: manager, KeySpec: 'SYMMETRIC_DEFAULT', KeyState: 'Enabled', MultiRegion: false, Description: 'payroll exports' } },
});

describe('KMS key facts (DescribeKey, ListResourceTags, ListAliases through the real KMS client)', () => {
  it('reads key manager, state, tags (all pages) and aliases, and asks KMS once per key per container', async () => {
    const http = scriptedHttp([
      kmsReplies({
        DescribeKey: () => described(KEY_ARN),
        ListResourceTags: (req) =>
          (req.json as { Marker?: string }).Marker === undefined
            ? { status: 200, body: { Tags: [{ TagKey: 'data-class', TagValue: 'payroll' }], Truncated: true, NextMarker: 'm2' } }
            : { status: 200, body: { Tags: [{ TagKey: 'owner', TagValue: 'finance' }], Truncated: false } },
        ListAliases: () => ({ status: 200, body: { Aliases: [{ AliasName: 'alias/payroll', AliasArn: 'a', TargetKeyId: 'k' }], Truncated: false } }),
      }),
    ]);
    const regions: string[] = [];
    const source = createKmsKeyFactsSource({
      clientFor: (region) => {
        regions.push(region);
        return new KMSClient({ region, credentials: CREDENTIALS, requestHandler: http.handler, maxAttempts: 1 });
      },
      needs: { tags: true, aliases: true },
      pacing: virtualPacing(),
    });

    const first = await source.lookup([KEY_ARN, KEY_ARN]);
    const again = await source.lookup([KEY_ARN]);

    expect(first.get(KEY_ARN)).toEqual({ lookup: 'ok', keyManager: 'CUSTOMER', keySpec: 'SYMMETRIC_DEFAULT', keyState: 'Enabled', multiRegion: false, description: 'payroll exports', aliases: ['alias/payroll'], tags: { 'data-class': 'payroll', owner: 'finance' } });
    expect(again.get(KEY_ARN)).toEqual(first.get(KEY_ARN));
    expect(http.requests.map((r) => r.headers['x-amz-target'])).toEqual(['TrentService.DescribeKey', 'TrentService.ListResourceTags', 'TrentService.ListResourceTags', 'TrentService.ListAliases']);
    expect(regions).toEqual(['us-east-1']);
  });

  it('backs off on throttling and succeeds; notes AccessDenied on another account’s key without failing and without asking again', async () => {
    const pacing = virtualPacing();
    let throttles = 2;
    const http = scriptedHttp([
      kmsReplies({
        DescribeKey: (req) => {
          if ((req.json as { KeyId: string }).KeyId === OTHER_KEY) return { status: 400, body: { __type: 'AccessDeniedException', message: 'not authorized' } };
          if (throttles-- > 0) return { status: 400, body: { __type: 'ThrottlingException', message: 'Rate exceeded' } };
          return described(KEY_ARN);
        },
      }),
    ]);
    const source = createKmsKeyFactsSource({ clientFor: (region) => new KMSClient({ region, credentials: CREDENTIALS, requestHandler: http.handler, maxAttempts: 1 }), needs: { tags: false, aliases: false }, pacing });

    const facts = await source.lookup([KEY_ARN, OTHER_KEY]);
    await source.lookup([OTHER_KEY]);

    expect(facts.get(KEY_ARN)?.lookup).toBe('ok');
    expect(facts.get(OTHER_KEY)).toEqual({ lookup: 'access-denied', aliases: [], tags: {} });
    expect(pacing.slept).toHaveLength(2);
    expect(http.requests.filter((r) => (r.json as { KeyId: string }).KeyId === OTHER_KEY)).toHaveLength(1);
  });

  it('lets a configuration select keys by tag: a principal outside the tagged key’s allow list fires, and the finding shows the key’s facts', async () => {
    const http = scriptedHttp([kmsReplies({ DescribeKey: () => described(KEY_ARN), ListResourceTags: () => ({ status: 200, body: { Tags: [{ TagKey: 'data-class', TagValue: 'payroll' }], Truncated: false } }) })]);
    const config = compileConfig({ keys: [{ tag: { 'data-class': 'payroll' }, sensitive: true, allowedPrincipals: ['arn:aws:sts::*:assumed-role/Payroll*'] }] });
    const run = async (withFacts: boolean) => {
      const processor = createRecordProcessor({
        engine: createEngine({ rules: ALL_RULES, config }),
        store: createMemoryStateStore(),
        clock: { nowMs: () => BASE_TIME_MS },
        ...(withFacts ? { keyFacts: createKmsKeyFactsSource({ clientFor: (region) => new KMSClient({ region, credentials: CREDENTIALS, requestHandler: http.handler, maxAttempts: 1 }), needs: config.keyPolicy.needs, pacing: virtualPacing() }) } : {}),
      });
      const outcome = await processor.processBatch({ file: 'f', records: [kmsRecord({ who: { role: 'Intern', session: 'bob' }, atMs: BASE_TIME_MS })], firstIndex: 0 });
      return outcome.findings.filter((f) => f.ruleId === 'kms-unusual-principal');
    };

    expect(await run(false)).toEqual([]);
    const [finding] = await run(true);
    expect(finding?.severity).toBe('HIGH');
    expect(config.keyPolicy.needs).toEqual({ tags: true, aliases: false });
    const rule = ALL_RULES.find((r) => r.id === 'kms-unusual-principal');
    if (finding === undefined || rule === undefined) throw new Error('no finding');
    const asff = toAsff(finding, rule);
    const key = (asff.Resources as { Type: string; Tags?: unknown; Details?: unknown }[]).find((r) => r.Type === 'AwsKmsKey');
    expect(key?.Tags).toEqual({ 'data-class': 'payroll' });
    expect(key?.Details).toMatchObject({ AwsKmsKey: { KeyManager: 'CUSTOMER', KeyState: 'Enabled' } });
    expect(validateFindings([asff])).toEqual([]);
  });

  it('notes on the finding that key details are missing when KMS denied the lookup', async () => {
    const http = scriptedHttp([{ status: 400, body: { __type: 'AccessDeniedException', message: 'no' } }]);
    const processor = createRecordProcessor({
      engine: createEngine({ rules: ALL_RULES }),
      store: createMemoryStateStore(),
      clock: { nowMs: () => BASE_TIME_MS },
      keyFacts: createKmsKeyFactsSource({ clientFor: (region) => new KMSClient({ region, credentials: CREDENTIALS, requestHandler: http.handler, maxAttempts: 1 }), needs: { tags: false, aliases: false }, pacing: virtualPacing() }),
    });
    const outcome = await processor.processBatch({ file: 'f', records: [kmsRecord({ who: { root: true }, atMs: BASE_TIME_MS })], firstIndex: 0 });
    const finding = outcome.findings.find((f) => f.ruleId === 'kms-root-usage');
    const rule = ALL_RULES.find((r) => r.id === 'kms-root-usage');
    if (finding === undefined || rule === undefined) throw new Error('no finding');

    expect(toAsff(finding, rule).ProductFields['kdm/KeyLookup']).toMatch(/^access-denied: /);
  });
});
