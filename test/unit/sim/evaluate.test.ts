import { describe, expect, it } from 'vitest';
import type { FindingRecord } from '../../../src/core/findings/finding.ts';
import { evaluateFindings } from '../../../src/sim/evaluate.ts';
import type { AnomalyLabel } from '../../../src/sim/simulate.ts';

const label = (id: string, rule: string, eventIds: string[]): AnomalyLabel => ({ id, rule, alsoRules: [], eventIds, description: id, timeMs: 0 });
// Only what the scoring reads of a finding: its rule, its events and whether it was suppressed.
const finding = (ruleId: string, eventIds: string[], suppressed = false): FindingRecord =>
  ({ ruleId, eventIds, ...(suppressed ? { suppressedBy: { id: 's', reason: 'r' } } : {}) }) as unknown as FindingRecord;

describe('evaluateFindings', () => {
  it('scores each rule: its labels and those it detected, its findings and those on no labelled event, suppressed findings left out', () => {
    const labels = [label('root#0', 'kms-root-usage', ['e1']), label('root#1', 'kms-root-usage', ['e2']), label('mass#0', 'kms-mass-decrypt', ['e3', 'e4'])];
    const findings = [
      finding('kms-root-usage', ['e1']),
      finding('kms-mass-decrypt', ['e4', 'x']),
      finding('kms-mass-decrypt', ['x1']),
      finding('kms-unusual-principal', ['e1']),
      finding('kms-throttled', ['y']),
      finding('kms-throttled', ['z'], true),
    ];

    const score = evaluateFindings(findings, labels);

    expect(score.byRule).toEqual({
      'kms-root-usage': { labels: 2, detected: 1, findings: 1, falsePositives: 0 },
      'kms-mass-decrypt': { labels: 1, detected: 1, findings: 2, falsePositives: 1 },
      'kms-unusual-principal': { labels: 0, detected: 0, findings: 1, falsePositives: 0 },
      'kms-throttled': { labels: 0, detected: 0, findings: 1, falsePositives: 1 },
    });
    expect(score.missed.map((l) => l.id)).toEqual(['root#1']);
    expect(score.recall).toBe(2 / 3);
    expect(score.findings).toBe(5);
    expect(score.precision).toBe(3 / 5);
  });
});
