import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { validateFindings } from '#adapters/aws/asff-validator.ts';
import { DEFAULT_ENGINE_CONFIG } from '#core/engine-config.ts';
import { toAsff } from '#core/findings/asff.ts';
import { ALL_RULES, ruleById } from '#core/rules/registry.ts';
import { BASE_TIME_MS, hours, kmsRecord } from '#core/testing/builders.ts';
import { runReplay } from '../../src/cli/replay.ts';
import { DATASETS_DIR, hasDatasets } from '../helpers/datasets.ts';
import { REPO, runKdm } from '../helpers/cli.ts';

const quiet = () => new Writable({ write: (_c, _e, cb) => cb() }) as unknown as NodeJS.WriteStream;

const findingsOf = async (paths: string[]) => {
  const result = await runReplay({ paths, summary: 'json', rules: ALL_RULES, config: DEFAULT_ENGINE_CONFIG, stdout: quiet(), stderr: quiet() });
  return result.findings.map((f) => toAsff(f, ruleById(f.ruleId)!));
};

describe('every finding the engine produces is valid for BatchImportFindings', () => {
  it('from the bundled events/', async () => {
    const findings = await findingsOf([join(REPO, 'events')]);

    expect(findings.length).toBeGreaterThan(0);
    expect(validateFindings(findings)).toEqual([]);
  });

  it.runIf(hasDatasets)('from the shared public datasets', async () => {
    const findings = await findingsOf([DATASETS_DIR]);

    expect(validateFindings(findings)).toEqual([]);
  });

  it('for grants to another account, naming the grantee as a resource of its kind', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kdm-asff-grants-'));
    const grantees = ['arn:aws:iam::999988887777:role/Collector', 'arn:aws:iam::999988887777:user/bob', '999988887777:aws:ec2-infrastructure:i-0123'];
    const records = grantees.map((granteePrincipal) => kmsRecord({ eventName: 'CreateGrant', requestParameters: { granteePrincipal, operations: ['Decrypt'] } }));
    writeFileSync(join(dir, 'grants.json'), JSON.stringify({ Records: records }));

    const findings = await findingsOf([dir]);
    type Resource = { readonly Id: string; readonly Type: string; readonly Details?: unknown };
    const granteeOf = (f: (typeof findings)[number]) => (f.Resources as Resource[]).find((r) => r.Id === f.ProductFields['kdm/Grantee']);

    expect(findings.map((f) => f.ProductFields['kdm/Grantee']).sort()).toEqual([...grantees].sort());
    expect(findings.map((f) => [granteeOf(f)?.Id, granteeOf(f)?.Type, granteeOf(f)?.Details]).sort()).toEqual([
      ['999988887777:aws:ec2-infrastructure:i-0123', 'Other', undefined],
      ['arn:aws:iam::999988887777:role/Collector', 'AwsIamRole', { AwsIamRole: { RoleName: 'Collector' } }],
      ['arn:aws:iam::999988887777:user/bob', 'AwsIamUser', { AwsIamUser: { UserName: 'bob' } }],
    ]);
    expect(validateFindings(findings)).toEqual([]);
  });

  it('names the findings other rules raised on the same call as RelatedFindings, under the same product', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kdm-asff-related-'));
    const fn = { role: 'InvoiceRenderer', session: 'invoice-renderer' } as const;
    const lambda = 'aws-sdk-js/3.699.0 ua/2.1 os/linux#5.10.245 lang/js md/nodejs#22.18.0 api/kms#3.699.0 exec-env/AWS_Lambda_nodejs22.x';
    const fromFunction = (atMs: number) => kmsRecord({ who: fn, atMs, sourceIp: '10.20.31.12', vpcEndpointId: 'vpce-0a1b2c3d4e5f60718', userAgent: lambda });
    // The function's credentials, taken and used from a laptop: a new client and a new network on one call.
    const stolen = kmsRecord({ who: fn, atMs: BASE_TIME_MS + hours(2), sourceIp: '198.51.100.23', userAgent: 'aws-cli/2.17.0 Python/3.11.8 Linux/6.5.0 exe/x86_64.ubuntu.22 prompt/off command/kms.decrypt' });
    writeFileSync(join(dir, 'stolen.json'), JSON.stringify({ Records: [fromFunction(BASE_TIME_MS), fromFunction(BASE_TIME_MS + hours(1.5)), stolen] }));

    const result = await runReplay({ paths: [dir], summary: 'json', rules: ALL_RULES, config: { ...DEFAULT_ENGINE_CONFIG, learningPeriodMs: hours(1) }, stdout: quiet(), stderr: quiet() });
    const findings = result.findings.map((f) => toAsff(f, ruleById(f.ruleId)!));
    const onTheCall = findings.filter((f) => f.ProductFields['kdm/EventIds'] === stolen['eventID']);

    expect(onTheCall.map((f) => f.ProductFields['kdm/RuleId']).sort()).toEqual(['kms-unusual-client', 'kms-unusual-network']);
    for (const f of onTheCall) {
      const other = onTheCall.find((g) => g.Id !== f.Id)!;
      expect(f.RelatedFindings).toEqual([{ ProductArn: f.ProductArn, Id: other.Id }]);
      expect(f.Description).toContain(`The same call also raised ${String(other.ProductFields['kdm/RuleId'])} (see its related findings).`);
    }
    expect(validateFindings(findings)).toEqual([]);
  });

  it('from kdm simulate --anomalies data, covering every rule', async () => {
    const out = mkdtempSync(join(tmpdir(), 'kdm-asff-'));
    expect(runKdm(['simulate', '--events', '20000', '--anomalies', '--seed', '9', '--out', out]).status).toBe(0);

    const findings = await findingsOf([out]);

    expect(new Set(findings.map((f) => f.ProductFields['kdm/RuleId']))).toEqual(new Set(ALL_RULES.map((r) => r.id)));
    expect(validateFindings(findings)).toEqual([]);
  });
});
