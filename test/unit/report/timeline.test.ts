import { describe, expect, it } from 'vitest';
import { timelineSvg } from '../../../src/report/html.ts';

/** The day labels under the bars: their text and where they stand. */
const dayLabels = (svg: string): { x: number; text: string }[] =>
  [...svg.matchAll(/<text x="([\d.]+)" y="\d+" text-anchor="middle" class="axis">([^<]*)<\/text>/g)].map((m) => ({ x: Number(m[1]), text: m[2] ?? '' }));

const daysOf = (n: number) => Array.from({ length: n }, (_, i) => ({ day: new Date(Date.UTC(2026, 9, 1 + i)).toISOString().slice(0, 10), principal: 'arn:aws:iam::111122223333:role/App', calls: 10 + i }));

describe('the report\'s timeline of a key', () => {
  it('labels every day of up to three weeks, and never two labels closer than a label is wide', () => {
    for (const n of [1, 3, 14, 31, 90, 365]) {
      const labels = dayLabels(timelineSvg(daysOf(n), 'key'));

      expect(labels[0]?.text).toBe('10-01');
      for (let i = 1; i < labels.length; i++) expect(labels[i]!.x - labels[i - 1]!.x).toBeGreaterThanOrEqual(34);
      if (n <= 21) expect(labels).toHaveLength(n);
      else expect(labels.length).toBeGreaterThan(Math.min(n, 720 / 34) / 2);
    }
  });
});
