import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runKdm } from '../helpers/cli.ts';

describe('kdm replay --publish (dry run: validates and counts, sends nothing)', () => {
  it('validates findings against the Security Hub model and counts the calls it would make', () => {
    const run = runKdm(['replay', 'events/', '--publish', 'securityhub', '--dry-run', '--summary', 'json']);

    expect(run.status).toBe(0);
    expect(run.stderr).toMatch(/dry run: 3 finding\(s\) valid for BatchImportFindings; would make 1 call\(s\) to Security Hub in 1 account\/region\(s\)/);
  });

  it('counts PutEvents calls for EventBridge', () => {
    const run = runKdm(['replay', 'events/', '--publish', 'eventbridge', '--event-bus', 'security', '--findings-format', 'ocsf', '--dry-run']);

    expect(run.status).toBe(0);
    expect(run.stderr).toMatch(/would make 1 PutEvents call\(s\) to bus security \(ocsf\)/);
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

describe('kdm replay --findings-format ocsf', () => {
  it('writes OCSF Detection Findings (class 2004), one per line', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'kdm-ocsf-')), 'findings.jsonl');

    const run = runKdm(['replay', 'events/', '--findings', out, '--findings-format', 'ocsf']);

    expect(run.status).toBe(0);
    const lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { class_uid: number; finding_info: { analytic: { uid: string } } });
    expect(lines).toHaveLength(3);
    for (const l of lines) expect(l.class_uid).toBe(2004);
    expect(lines.map((l) => l.finding_info.analytic.uid).sort()).toEqual(['kms-root-usage', 'kms-s3-data-key-direct-decrypt', 'kms-throttled']);
  });
});
