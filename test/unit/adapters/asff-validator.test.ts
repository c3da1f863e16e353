import { describe, expect, it } from 'vitest';
import { validateFindings } from '#adapters/aws/asff-validator.ts';
import { toAsff } from '#core/findings/asff.ts';
import { mergeDetection } from '#core/findings/finding.ts';
import { ruleById } from '#core/rules/registry.ts';
import { BASE_TIME_MS, kmsEvent } from '#core/testing/builders.ts';

const valid = () => {
  const rule = ruleById('kms-root-usage')!;
  const f = mergeDetection(undefined, { ruleId: rule.id, severity: 'HIGH', subject: 's', aggregationWindowMs: 3_600_000, reason: 'Root decrypted.', event: kmsEvent({ who: { root: true }, atMs: BASE_TIME_MS }) }, BASE_TIME_MS + 1000);
  return structuredClone(toAsff(f, rule)) as Record<string, unknown>;
};

describe('validateFindings against the Security Hub model in @aws-sdk/client-securityhub', () => {
  it('accepts a finding the engine renders', () => {
    expect(validateFindings([valid()])).toEqual([]);
  });

  it.each([
    ['a missing required member', (f: Record<string, unknown>) => delete f['Description'], 'Description', 'is required'],
    ['an unknown member', (f: Record<string, unknown>) => (f['Bogus'] = 1), 'Bogus', 'is not a member of AwsSecurityFinding'],
    ['a wrong type', (f: Record<string, unknown>) => (f['Title'] = 5), 'Title', 'expected a string, got number'],
    ['a severity outside the enum', (f: Record<string, unknown>) => ((f['Severity'] as Record<string, unknown>)['Label'] = 'SEVERE'), 'Severity.Label', '"SEVERE" is not one of CRITICAL, HIGH, INFORMATIONAL, LOW, MEDIUM'],
    ['a record state outside the enum', (f: Record<string, unknown>) => (f['RecordState'] = 'OPEN'), 'RecordState', '"OPEN" is not one of ACTIVE, ARCHIVED'],
    ['a title over 256 characters', (f: Record<string, unknown>) => (f['Title'] = 'x'.repeat(257)), 'Title', 'has 257, more than 256'],
    ['no resources', (f: Record<string, unknown>) => (f['Resources'] = []), 'Resources', 'has 0, fewer than 1'],
    ['a timestamp that is not RFC 3339', (f: Record<string, unknown>) => (f['UpdatedAt'] = '2026-10-01 10:00'), 'UpdatedAt', 'is not an RFC 3339 timestamp'],
    ['a type outside the taxonomy', (f: Record<string, unknown>) => (f['Types'] = ['Bad Things/Happened']), 'Types', 'is not in the ASFF types taxonomy'],
    ['a nested wrong type', (f: Record<string, unknown>) => (((f['Resources'] as Record<string, unknown>[])[0] as Record<string, unknown>)['Id'] = 7), 'Resources[0].Id', 'expected a string'],
    ['an action type outside the enum', (f: Record<string, unknown>) => ((f['Action'] as Record<string, unknown>)['ActionType'] = 'API'), 'Action.ActionType', 'is not one of'],
  ])('reports %s', (_name, mutate, path, message) => {
    const f = valid();
    mutate(f);

    const problems = validateFindings([f]);

    expect(problems).toEqual(expect.arrayContaining([expect.objectContaining({ path, message: expect.stringContaining(message) })]));
  });
});
