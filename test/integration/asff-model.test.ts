import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { validateFindings } from '#adapters/aws/asff-validator.ts';
import { DEFAULT_ENGINE_CONFIG } from '#core/engine-config.ts';
import { toAsff } from '#core/findings/asff.ts';
import { ALL_RULES, ruleById } from '#core/rules/registry.ts';
import { kmsRecord } from '#core/testing/builders.ts';
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

  it('from kdm simulate --anomalies data, covering every rule', async () => {
    const out = mkdtempSync(join(tmpdir(), 'kdm-asff-'));
    expect(runKdm(['simulate', '--events', '20000', '--anomalies', '--seed', '9', '--out', out]).status).toBe(0);

    const findings = await findingsOf([out]);

    expect(new Set(findings.map((f) => f.ProductFields['kdm/RuleId']))).toEqual(new Set(ALL_RULES.map((r) => r.id)));
    expect(validateFindings(findings)).toEqual([]);
  });
});
