import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runKdm } from '../helpers/cli.ts';

const tmp = mkdtempSync(join(tmpdir(), 'kdm-rules-'));

describe('kdm rules', () => {
  it('lists every rule as JSON', () => {
    const run = runKdm(['rules', 'list', '--format', 'json']);

    expect(run.status).toBe(0);
    const rules = JSON.parse(run.stdout) as { id: string; severity: string; status: string; title: string }[];
    expect(rules.map((r) => r.id)).toContain('kms-s3-data-key-direct-decrypt');
    expect(rules.find((r) => r.id === 'kms-root-usage')).toMatchObject({ severity: 'HIGH', status: 'stable' });
  });

  it('runs every rule case and exits 0 when they pass', () => {
    const run = runKdm(['rules', 'test']);

    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^\d+ passed, 0 failed$/m);
  });

  it('keeps the checked-in docs/rules.md in step with the rules\' metadata', () => {
    const run = runKdm(['rules', 'docs', '--check']);

    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

  it('reports a stale catalogue', () => {
    const stale = join(tmp, 'rules.md');
    writeFileSync(stale, '# old\n');

    const run = runKdm(['rules', 'docs', '--check', '--out', stale]);

    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/is stale; run: npx kdm rules docs/);
  });
});

describe('kdm config validate', () => {
  it('accepts a valid file', () => {
    const file = join(tmp, 'ok.yaml');
    writeFileSync(file, 'learningPeriod: 2d\nrules:\n  kms-throttled: { enabled: false }\n');

    const run = runKdm(['config', 'validate', file]);

    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/valid \(0 keys, 0 buckets, 1 rule override, 0 suppressions\)/);
  });

  it('warns about a suppression past its expiry, which is valid but no longer applies (exit 0)', () => {
    const file = join(tmp, 'expired.yaml');
    writeFileSync(file, 'suppressions:\n  - { id: old-export, rule: kms-mass-decrypt, reason: the export ran last year, expires: 2020-01-31 }\n  - { id: current, rule: kms-throttled, reason: the key is being rotated, expires: 2999-12-31 }\n');

    const run = runKdm(['config', 'validate', file]);

    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/valid \(0 keys, 0 buckets, 0 rule overrides, 2 suppressions\)/);
    expect(run.stderr).toBe('kdm: warning: suppression old-export (kms-mass-decrypt) expired on 2020-01-31 and no longer applies\n');
  });

  it('rejects an invalid file naming file, line and field, exit 1', () => {
    const file = join(tmp, 'bad.yaml');
    writeFileSync(file, 'rules:\n  kms-mass-decrypt:\n    threshold: many\n');

    const run = runKdm(['config', 'validate', file]);

    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`${file}:3:16: rules.kms-mass-decrypt.threshold: expected a number, got "many"`);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('kdm replay with configuration', () => {
  it('counts and lists suppressed findings, never drops them, and warns about expired suppressions', () => {
    const config = join(tmp, 'suppress.yaml');
    writeFileSync(config, [
      'suppressions:',
      '  - id: root-break-glass',
      '    rule: kms-root-usage',
      '    principal: "arn:aws:iam::111122223333:root"',
      '    reason: quarterly break-glass drill',
      '    expires: 2099-12-31',
      '  - id: old-throttle',
      '    rule: kms-throttled',
      '    reason: migration finished long ago',
      '    expires: 2020-01-31',
      '',
    ].join('\n'));
    const findings = join(tmp, 'findings.jsonl');

    const run = runKdm(['replay', 'events/', '--config', config, '--summary', 'json', '--findings', findings]);

    expect(run.status).toBe(0);
    const summary = JSON.parse(run.stdout) as { findings: { total: number; suppressed: number; byRule: Record<string, number> }; expiredSuppressions: string[] };
    expect(summary.findings.suppressed).toBe(1);
    expect(summary.findings.byRule['kms-root-usage']).toBeUndefined();
    expect(summary.findings.byRule['kms-throttled']).toBe(1);
    expect(summary.expiredSuppressions).toEqual(['old-throttle']);
    expect(run.stderr).toMatch(/suppression old-throttle \(kms-throttled\) expired on 2020-01-31 and no longer applies/);
    const lines = readFileSync(findings, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { ProductFields: Record<string, string>; Workflow: { Status: string } });
    const root = lines.find((f) => f.ProductFields['kdm/RuleId'] === 'kms-root-usage');
    expect(root?.Workflow.Status).toBe('SUPPRESSED');
    expect(root?.ProductFields['kdm/SuppressedBy']).toBe('root-break-glass');
  });

  it('exits 3 with --fail-on when a finding reaches the severity', () => {
    expect(runKdm(['replay', 'events/', '--fail-on', 'high']).status).toBe(3);
    expect(runKdm(['replay', 'events/', '--fail-on', 'CRITICAL']).status).toBe(0);
  });

  it('uses kdm.config.yaml from the working directory when present, and says where a bad one is', () => {
    const run = runKdm(['replay', 'events/', '--config', join(tmp, 'missing.yaml')]);

    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/cannot read configuration .*missing\.yaml: no such file or directory \(ENOENT\)/);
  });
});

describe('kdm.config.example.yaml', () => {
  it('is a valid configuration', () => {
    const run = runKdm(['config', 'validate', 'kdm.config.example.yaml']);

    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });
});
