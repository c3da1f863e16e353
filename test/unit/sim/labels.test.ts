import { describe, expect, it } from 'vitest';
import { InputError } from '../../../src/core/errors.ts';
import { parseAnomalyLabels } from '../../../src/sim/labels.ts';
import { simulate } from '../../../src/sim/simulate.ts';

const refusal = (text: string): string => {
  try {
    parseAnomalyLabels('sim/anomalies.labels', text);
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    return (error as Error).message;
  }
  throw new Error('not refused');
};

describe('parseAnomalyLabels', () => {
  it('reads back what kdm simulate --anomalies writes', () => {
    const { labels } = simulate({ events: 2_000, anomalies: true, seed: 5 });
    const text = `${labels.map((l) => JSON.stringify(l)).join('\n')}\n`;

    expect(parseAnomalyLabels('sim/anomalies.labels', text)).toEqual(labels);
  });

  it('takes a label written by hand with only its rule and eventIDs, and skips blank lines', () => {
    const text = '\n{"rule":"kms-root-usage","eventIds":["e-1","e-2"]}\n\n{"rule":"kms-cross-account","eventIds":["e-3"],"id":"partner"}\n';

    expect(parseAnomalyLabels('labels.jsonl', text)).toEqual([
      { id: 'kms-root-usage@line2', rule: 'kms-root-usage', alsoRules: [], eventIds: ['e-1', 'e-2'], description: '', timeMs: Number.NaN },
      { id: 'partner', rule: 'kms-cross-account', alsoRules: [], eventIds: ['e-3'], description: '', timeMs: Number.NaN },
    ]);
  });

  it('refuses a line that is not a label, naming the file and the line', () => {
    expect(refusal('{"rule":"kms-root-usage","eventIds":["e"]}\n{"rule":')).toMatch(/^sim\/anomalies\.labels: line 2: not JSON \(/);
    expect(refusal('[1]')).toBe('sim/anomalies.labels: line 1: not a label (a JSON object)');
    expect(refusal('{"eventIds":["e"]}')).toBe('sim/anomalies.labels: line 1: "rule" must name the rule that must detect it');
    expect(refusal('{"rule":"r","eventIds":[]}')).toBe('sim/anomalies.labels: line 1: "eventIds" must list the eventIDs of its records');
    expect(refusal('{"rule":"r","eventIds":[1]}')).toBe('sim/anomalies.labels: line 1: "eventIds" must list the eventIDs of its records');
    expect(refusal('{"rule":"r","eventIds":["e"],"alsoRules":"x"}')).toBe('sim/anomalies.labels: line 1: "alsoRules" must be a list of rule ids');
    expect(refusal('{"id":"a","rule":"r","eventIds":["e"]}\n{"id":"a","rule":"r","eventIds":["f"]}')).toBe('sim/anomalies.labels: line 2: a second label with id "a"');
  });

  it('refuses a label of a rule kdm does not have, when told the rules', () => {
    const text = '{"rule":"kms-root-usage","eventIds":["e-1"]}\n{"rule":"kms-root-usag","eventIds":["e-2"]}\n';

    expect(parseAnomalyLabels('labels.jsonl', text)).toHaveLength(2);
    expect(() => parseAnomalyLabels('labels.jsonl', text, ['kms-root-usage'])).toThrow('labels.jsonl: line 2: "rule" "kms-root-usag" is not one of kdm\'s rules (kdm rules list)');
  });
});
