import { compileConfig } from '../config.ts';
import { counted } from '../counted.ts';
import { DEFAULT_ENGINE_CONFIG } from '../engine-config.ts';
import { createEngine, resolveRuleSettings } from '../engine.ts';
import { findingIdOf, mergeDetection, type FindingRecord } from '../findings/finding.ts';
import { createWorkingState } from '../state.ts';
import { findingOfStory, judgeStoriesOf } from '../findings/principal-findings.ts';
import { withSuppression } from '../findings/suppress.ts';
import { isFindingsRule, type Rule, type RuleCase } from './define-rule.ts';

export interface CaseResult {
  readonly ruleId: string;
  readonly name: string;
  readonly passed: boolean;
  readonly findings: readonly FindingRecord[];
  readonly message?: string;
}

/** A fixed clock for cases: finding timestamps do not depend on when the tests run. */
const CASE_NOW_MS = Date.UTC(2030, 0, 1);

/**
 * Runs one rule case through the real engine (one batch, ordered by event time) and checks the findings. A rule over
 * findings (`defineFindingsRule`) judges the findings of `otherRules` (every rule, for the catalogue), made and
 * suppressed as the pipeline makes them; only its own findings are checked.
 */
export const runRuleCase = (rule: Rule, c: RuleCase, otherRules: readonly Rule[] = []): CaseResult => {
  const base = { ...DEFAULT_ENGINE_CONFIG, ...(c.learningPeriodMs !== undefined ? { learningPeriodMs: c.learningPeriodMs } : {}) };
  const config = compileConfig(c.config ?? {}, base);
  const overFindings = isFindingsRule(rule);
  const engine = createEngine({ rules: overFindings ? [...otherRules.filter((r) => r.id !== rule.id), rule] : [rule], config });
  const state = createWorkingState(new Map());
  const result = engine.evaluate(c.events, state);
  // As at the end of a replay: S3-made calls still waiting for their S3 request are decided.
  const waiting = [...state.changes().keys()].filter((k) => k.startsWith('corr#'));
  const flushed = engine.evaluate([], state, { due: waiting, decideBeforeMs: Number.POSITIVE_INFINITY });
  const findings = new Map<string, FindingRecord>();
  for (const d of [...result.detections, ...flushed.detections]) {
    const id = findingIdOf(d);
    findings.set(id, mergeDetection(findings.get(id), d, CASE_NOW_MS));
  }
  let list = [...findings.values()];
  if (overFindings) {
    const made = list.map((f) => withSuppression(f, config.suppressions, CASE_NOW_MS));
    const judged = judgeStoriesOf([{ rule, settings: resolveRuleSettings(rule, config) }], made, () => undefined);
    list = judged.map((j) => findingOfStory(j, undefined, CASE_NOW_MS));
  }
  const problems: string[] = [];
  if (list.length !== c.expectFindings) problems.push(`expected ${counted(c.expectFindings, 'finding')}, got ${list.length}`);
  if (c.expectSeverity !== undefined) {
    const wrong = list.filter((f) => f.severity !== c.expectSeverity);
    if (wrong.length > 0) problems.push(`expected severity ${c.expectSeverity}, got ${wrong.map((f) => f.severity).join(', ')}`);
  }
  if (c.expectReasonIncludes !== undefined) {
    const text = c.expectReasonIncludes;
    if (list.some((f) => !f.reason.includes(text))) problems.push(`expected every reason to include "${text}"`);
  }
  return {
    ruleId: rule.id,
    name: c.name,
    passed: problems.length === 0,
    findings: list,
    ...(problems.length > 0 ? { message: `${problems.join('; ')}${list.length > 0 ? ` — reasons: ${list.map((f) => f.reason).join(' | ')}` : ''}` } : {}),
  };
};

export const runAllRuleCases = (modules: readonly { readonly rule: Rule; readonly cases: readonly RuleCase[] }[]): CaseResult[] =>
  modules.flatMap((m) => m.cases.map((c) => runRuleCase(m.rule, c, modules.map((o) => o.rule))));
