import { InputError } from '#core/errors.ts';
import type { AnomalyLabel } from './simulate.ts';

/**
 * The file `kdm simulate` writes its labels to, beside the logs, and `kdm backtest` reads them from: not a
 * CloudTrail file name, so `kdm replay DIR` tells it as one skipped file instead of reading it.
 */
export const LABELS_FILE = 'anomalies.labels';

const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

/**
 * The labels of an `anomalies.labels` file (`kdm simulate --anomalies`, or written by hand for real logs): one
 * JSON object a line, each the rule that must detect it and the eventIDs of its records. A line that is not such a
 * label is refused with its number, as is a label of a rule not among `ruleIds`: a backtest scored against labels
 * it could not read would mislead.
 */
export const parseAnomalyLabels = (file: string, text: string, ruleIds?: readonly string[]): AnomalyLabel[] => {
  const labels: AnomalyLabel[] = [];
  const ids = new Set<string>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim();
    if (line === '') continue;
    const refused = (why: string): InputError => new InputError(file, undefined, `line ${i + 1}: ${why}`);
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (cause) {
      throw new InputError(file, undefined, `line ${i + 1}: not JSON (${(cause as Error).message})`, { cause });
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw refused('not a label (a JSON object)');
    const v = value as Record<string, unknown>;
    if (typeof v['rule'] !== 'string' || v['rule'] === '') throw refused('"rule" must name the rule that must detect it');
    // A rule kdm does not have (a typo in a label written by hand) would only ever count as missed.
    if (ruleIds !== undefined && !ruleIds.includes(v['rule'])) throw refused(`"rule" ${JSON.stringify(v['rule'])} is not one of kdm's rules (kdm rules list)`);
    if (!isStrings(v['eventIds']) || v['eventIds'].length === 0) throw refused('"eventIds" must list the eventIDs of its records');
    if (v['alsoRules'] !== undefined && !isStrings(v['alsoRules'])) throw refused('"alsoRules" must be a list of rule ids');
    const id = typeof v['id'] === 'string' && v['id'] !== '' ? v['id'] : `${v['rule']}@line${i + 1}`;
    if (ids.has(id)) throw refused(`a second label with id ${JSON.stringify(id)}`);
    ids.add(id);
    labels.push({
      id,
      rule: v['rule'],
      alsoRules: v['alsoRules'] ?? [],
      eventIds: v['eventIds'],
      description: typeof v['description'] === 'string' ? v['description'] : '',
      timeMs: typeof v['timeMs'] === 'number' ? v['timeMs'] : Number.NaN,
    });
  }
  return labels;
};
