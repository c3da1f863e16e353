import { relatedIdsOf, type FindingRecord } from '#core/findings/finding.ts';
import type { AnomalyLabel } from './simulate.ts';

export interface RuleScore {
  readonly labels: number;
  readonly detected: number;
  /** The rule's findings (suppressed ones left out), and of them those on no labelled event. */
  readonly findings: number;
  readonly falsePositives: number;
}

export interface Evaluation {
  /** Labelled anomalies detected by the rule meant for them. */
  readonly recall: number;
  /** Findings whose evidence (or, for one that keeps none, that of the findings it names) belongs to some labelled anomaly. */
  readonly precision: number;
  readonly findings: number;
  readonly falsePositives: readonly FindingRecord[];
  readonly missed: readonly AnomalyLabel[];
  readonly byRule: Readonly<Record<string, RuleScore>>;
}

/** Scores findings against the simulator's labels (suppressed findings are left out). */
export const evaluateFindings = (findings: readonly FindingRecord[], labels: readonly AnomalyLabel[]): Evaluation => {
  const active = findings.filter((f) => f.suppressedBy === undefined);
  const labelOf = new Map<string, AnomalyLabel>();
  for (const l of labels) for (const id of l.eventIds) labelOf.set(id, l);
  // A finding that keeps no events of its own (a rule over findings') has the events of the findings it names.
  const byId = new Map(active.map((f) => [f.id, f]));
  const evidenceOf = (f: FindingRecord): readonly string[] =>
    f.eventIds.length > 0 ? f.eventIds : relatedIdsOf(f).flatMap((id) => byId.get(id)?.eventIds ?? []);
  const falsePositives = active.filter((f) => !evidenceOf(f).some((id) => labelOf.has(id)));
  const byRule: Record<string, { labels: number; detected: number; findings: number; falsePositives: number }> = {};
  const scoreOf = (rule: string) => (byRule[rule] ??= { labels: 0, detected: 0, findings: 0, falsePositives: 0 });
  for (const f of active) scoreOf(f.ruleId).findings++;
  for (const f of falsePositives) scoreOf(f.ruleId).falsePositives++;
  const missed: AnomalyLabel[] = [];
  for (const l of labels) {
    const score = scoreOf(l.rule);
    score.labels++;
    const ids = new Set(l.eventIds);
    if (active.some((f) => f.ruleId === l.rule && evidenceOf(f).some((id) => ids.has(id)))) score.detected++;
    else missed.push(l);
  }
  const detected = labels.length - missed.length;
  return {
    recall: labels.length === 0 ? 1 : detected / labels.length,
    precision: active.length === 0 ? 1 : (active.length - falsePositives.length) / active.length,
    findings: active.length,
    falsePositives,
    missed,
    byRule,
  };
};
