import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runReplay } from '../../src/cli/replay.ts';
import { DEFAULT_ENGINE_CONFIG } from '#core/engine-config.ts';
import { ALL_RULES } from '#core/rules/registry.ts';
import { evaluateFindings } from '../../src/sim/evaluate.ts';
import { simulate } from '../../src/sim/simulate.ts';
import { runKdm } from '../helpers/cli.ts';
import { Writable } from 'node:stream';

const sink = (): Writable & { text: string } => {
  const w = new Writable({ write(chunk, _enc, cb) { (w as unknown as { text: string }).text += String(chunk); cb(); } }) as Writable & { text: string };
  w.text = '';
  return w;
};

describe('backtest on kdm simulate --anomalies data', () => {
  it('detects every labelled anomaly with the rule meant for it, and benign traffic raises no findings', async () => {
    const out = mkdtempSync(join(tmpdir(), 'kdm-sim-'));
    const sim = runKdm(['simulate', '--events', '30000', '--anomalies', '--seed', '42', '--out', out]);
    expect(sim.status).toBe(0);
    const { labels } = simulate({ events: 30000, anomalies: true, seed: 42 });
    const stdout = sink();

    const result = await runReplay({ paths: [out], summary: 'json', rules: ALL_RULES, config: DEFAULT_ENGINE_CONFIG, stdout, stderr: sink() as unknown as NodeJS.WriteStream, checkStatePlanning: true });

    expect(result.unplannedStateReads).toEqual([]);
    const score = evaluateFindings(result.findings, labels);
    expect(new Set(labels.map((l) => l.rule))).toEqual(new Set(ALL_RULES.map((r) => r.id)));
    expect(score.missed.map((m) => m.id)).toEqual([]);
    expect(score.recall).toBe(1);
    expect(score.falsePositives.map((f) => `${f.ruleId}: ${f.reason}`)).toEqual([]);
    expect(score.precision).toBe(1);
  });

  it('writes the same bytes for the same seed', () => {
    const a = simulate({ events: 2000, anomalies: true, seed: 5 });
    const b = simulate({ events: 2000, anomalies: true, seed: 5 });
    const c = simulate({ events: 2000, anomalies: true, seed: 6 });

    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    expect(JSON.stringify(a)).not.toBe(JSON.stringify(c));
  });
});
