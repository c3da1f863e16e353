import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RULE_MODULES } from '#core/rules/catalogue.ts';
import { defineRule } from '#core/rules/define-rule.ts';
import { RuleDefinitionError } from '#core/errors.ts';
import { ALL_RULES } from '#core/rules/registry.ts';
import { runRuleCase } from '#core/rules/run-cases.ts';

const RULES_DIR = join(import.meta.dirname, '..', '..', 'src', 'core', 'rules');
const RULE_FILE = /^(?:kms|cloudtrail|s3|eventbridge|vpce)-[a-z0-9-]+\.ts$/;

describe('rule catalogue', () => {
  it('holds every rule file, once, in both the registry and the catalogue', () => {
    const files = readdirSync(RULES_DIR).filter((f) => RULE_FILE.test(f)).map((f) => f.replace(/\.ts$/, '')).sort();

    expect(ALL_RULES.map((r) => r.id).sort()).toEqual(files);
    expect(RULE_MODULES.map((m) => m.rule.id)).toEqual(ALL_RULES.map((r) => r.id));
    expect(new Set(files).size).toBe(files.length);
  });

  it('keeps the public rule ids exactly', () => {
    expect(ALL_RULES.map((r) => r.id)).toEqual(expect.arrayContaining([
      'kms-unusual-principal', 'kms-unusual-region', 'kms-missing-encryption-context', 'kms-s3-data-key-direct-decrypt',
      'kms-mass-decrypt', 'kms-access-denied-burst', 'kms-cross-account', 'kms-root-usage', 'kms-throttled',
      'kms-key-lifecycle', 'cloudtrail-kms-blind-spot', 'eventbridge-monitor-rule-tampered', 's3-decrypt-without-object-access',
      's3-put-without-required-kms', 's3-bucket-default-key-changed', 'kms-data-under-foreign-key',
    ]));
  });
});

describe.each(RULE_MODULES.map((m) => [m.rule.id, m] as const))('%s', (_id, { rule, cases }) => {
  it('has metadata a SOC analyst and a detection engineer can use', () => {
    expect(rule.title.length).toBeGreaterThan(0);
    expect(rule.description.length).toBeGreaterThan(40);
    expect(rule.runbook.length).toBeGreaterThan(40);
    // Whole in Security Hub, as ASFF's Remediation.Recommendation.Text, which takes 512 characters.
    expect(rule.runbook.length).toBeLessThanOrEqual(512);
    expect(rule.falsePositives.length).toBeGreaterThan(0);
    expect(rule.references.length).toBeGreaterThan(0);
    for (const ref of rule.references) expect(ref).toMatch(/^https:\/\//);
    for (const tag of rule.tags) expect(tag).toMatch(/^attack\.[a-z0-9.-]+$/);
    for (const type of rule.findingTypes) expect(type).toMatch(/^(Software and Configuration Checks|TTPs|Effects|Unusual Behaviors|Sensitive Data Identifications)(\/[^/]+){0,2}$/);
  });

  it('has at least one case that fires and one that stays silent', () => {
    expect(cases.some((c) => c.expectFindings > 0)).toBe(true);
    expect(cases.some((c) => c.expectFindings === 0)).toBe(true);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const result = runRuleCase(rule, c, ALL_RULES);

    expect(result.message ?? '').toBe('');
    expect(result.passed).toBe(true);
  });
});

describe('defineRule', () => {
  it('refuses a runbook that Security Hub would cut (over 512 characters), saying how long it is', () => {
    const define = (runbook: string) => () =>
      defineRule({
        id: 'too-long', title: 'Too long', description: 'A rule with a long runbook.', severity: 'LOW', status: 'experimental', references: [], falsePositives: ['none known'], tags: [], findingTypes: ['TTPs'],
        selection: [{ eventSource: 'kms.amazonaws.com', eventNames: ['Decrypt'] }], runbook, detect: () => undefined,
      });

    expect(define('x'.repeat(512))).not.toThrow();
    expect(define('x'.repeat(513))).toThrow(new RuleDefinitionError('rule too-long: runbook must be 1-512 characters, to reach Security Hub whole (it has 513)'));
  });
});

describe('runRuleCase', () => {
  it('fails a case whose expectation is wrong, naming what it got', () => {
    const root = RULE_MODULES.find((m) => m.rule.id === 'kms-root-usage')!;
    const firing = root.cases.find((c) => c.expectFindings === 1)!;

    const result = runRuleCase(root.rule, { ...firing, expectFindings: 0 });

    expect(result.passed).toBe(false);
    expect(result.message).toMatch(/^expected 0 findings, got 1 — reasons: The root user of account 111122223333 called Decrypt/);
  });

  it('fails a case whose severity is wrong', () => {
    const principal = RULE_MODULES.find((m) => m.rule.id === 'kms-unusual-principal')!;
    const high = principal.cases.find((c) => c.expectSeverity === 'HIGH')!;

    expect(runRuleCase(principal.rule, { ...high, expectSeverity: 'LOW' }).message).toMatch(/expected severity LOW, got HIGH/);
  });

  it('fails a case whose reason lacks the text it expects, and passes one whose reason has it', () => {
    const root = RULE_MODULES.find((m) => m.rule.id === 'kms-root-usage')!;
    const firing = root.cases.find((c) => c.expectFindings === 1)!;

    expect(runRuleCase(root.rule, { ...firing, expectReasonIncludes: 'called Decrypt' }).passed).toBe(true);
    const wrong = runRuleCase(root.rule, { ...firing, expectReasonIncludes: 'called Sign' });
    expect(wrong.passed).toBe(false);
    expect(wrong.message).toMatch(/^expected every reason to include "called Sign" — reasons: The root user/);
  });
});
