import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
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

  describe('kdm backtest', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kdm-backtest-'));
    const sim = join(dir, 'sim');
    beforeAll(() => {
      expect(runKdm(['simulate', '--events', '30000', '--anomalies', '--seed', '42', '--out', sim]).status).toBe(0);
    });

    it('scores every rule against the directory\'s anomalies.labels, and exits 0 when all are detected and none is false', () => {
      const run = runKdm(['backtest', sim]);

      expect(run.status).toBe(0);
      const lines = run.stdout.split('\n');
      expect(lines[0]).toBe(`Backtest against ${join(sim, 'anomalies.labels')}: 32,530 records (32,530 processed, 0 skipped, 0 failed)`);
      expect(lines).toContain('RULE                               LABELS  DETECTED  FINDINGS  FALSE POSITIVES');
      expect(lines).toContain('kms-root-usage                     6       6         6         0');
      expect(lines).toContain('all                                80      80        94        0');
      expect(lines).toContain('Recall     1.000  80 of 80 labels detected by the rule meant for them');
      expect(lines).toContain('Precision  1.000  94 of 94 findings on labelled events');
      expect(run.stdout).not.toMatch(/Missed|False positives \(/);
      // The labels file is among the logs: told as skipped for what it is, as kdm replay tells it.
      expect(run.stderr).toBe(`kdm: skipped: ${join(sim, 'anomalies.labels')}: labels kdm simulate wrote, which kdm backtest scores against, not CloudTrail\n`);
      expect(runKdm(['replay', sim]).stderr).toBe(run.stderr);
    });

    it('scores a window of the logs (--from, --to), leaving the labels outside it out and saying how many, and refuses a window with none', () => {
      const labels = readFileSync(join(sim, 'anomalies.labels'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { timeMs: number });
      const inside = labels.filter((l) => l.timeMs <= Date.parse('2026-10-11T23:59:59.999Z')).length;
      expect(inside).toBeGreaterThan(10);
      expect(inside).toBeLessThan(labels.length);

      // From the first day: the week of learning is in the window, so every label in it is detected.
      const run = runKdm(['backtest', sim, '--from', '2026-10-01', '--to', '2026-10-11']);

      expect(run.status).toBe(0);
      expect(run.stderr).toContain(`kdm: ${labels.length - inside} labels outside --from/--to left out of the score\n`);
      expect(run.stdout).toContain(`Recall     1.000  ${inside} of ${inside} labels detected by the rule meant for them`);
      expect(run.stdout).toMatch(/^Precision  1\.000 /m);

      // From the eighth day, the rules that learn have not learned: labels are missed, unless the week before is read
      // to learn from.
      const unlearned = runKdm(['backtest', sim, '--from', '2026-10-08', '--to', '2026-10-11']);
      const learned = runKdm(['backtest', sim, '--learn-from', '2026-10-01', '--from', '2026-10-08', '--to', '2026-10-11']);
      expect(unlearned.status).toBe(3);
      expect(unlearned.stdout).toMatch(/^Recall {5}0\.\d{3} /m);
      expect(learned.status).toBe(0);
      expect(learned.stdout).toMatch(/^Recall {5}1\.000 /m);
      expect(learned.stdout).toMatch(/^Precision {2}1\.000 /m);

      const none = runKdm(['backtest', sim, '--from', '2026-09-01', '--to', '2026-09-02']);
      expect(none.status).toBe(1);
      expect(none.stderr).toContain('is inside --from/--to: the window has nothing to score');
    });

    it('shows what a tuning costs: a rule turned off misses its labels, a low threshold raises false positives, and it exits 3', () => {
      const off = join(dir, 'off.yaml');
      writeFileSync(off, 'rules:\n  kms-root-usage: { enabled: false }\n');
      const missing = runKdm(['backtest', sim, '--config', off]);

      expect(missing.status).toBe(3);
      expect(missing.stdout).toMatch(/^kms-root-usage {21}6 {7}0 {9}0 {9}0$/m);
      expect(missing.stdout).toContain('Recall     0.925  74 of 80 labels detected by the rule meant for them');
      expect(missing.stdout).toMatch(/^Missed \(6\)\n {2}kms-root-usage#0 {2}kms-root-usage: the root user decrypts \(eventID [0-9a-f-]{36}\)$/m);
      expect(missing.stdout).toMatch(/^ {2}kms-root-usage\/hmac#0 {2}kms-root-usage: the root user makes an HMAC with the session-token key \(eventID [0-9a-f-]{36}\)$/m);

      const low = join(dir, 'low.yaml');
      writeFileSync(low, 'rules:\n  kms-mass-decrypt: { threshold: 3, window: 1h }\n');
      const noisy = runKdm(['backtest', sim, '--config', low, '--format', 'json']);

      expect(noisy.status).toBe(3);
      const report = JSON.parse(noisy.stdout) as { recall: number; precision: number; byRule: Record<string, { falsePositives: number }>; falsePositives: { ruleId: string }[] };
      expect(report.recall).toBe(1);
      expect(report.precision).toBeLessThan(0.5);
      expect(report.byRule['kms-mass-decrypt']?.falsePositives).toBe(report.falsePositives.length);
      expect(new Set(report.falsePositives.map((f) => f.ruleId))).toEqual(new Set(['kms-mass-decrypt']));
      const table = runKdm(['backtest', sim, '--config', low]).stdout;
      expect(table).toMatch(new RegExp(`^False positives \\(the first 20 of ${report.falsePositives.length.toLocaleString('en-US')}\\)$`, 'm'));
      expect(table).toMatch(/^ {2}kms-mass-decrypt \[HIGH\]: .* \(eventIDs? [^)]*\)$/m);
    });

    it('leaves out a finding a suppression matches by its network, the S3 request\'s for a call S3 made, and counts it suppressed', () => {
      const office = join(dir, 'office.yaml');
      writeFileSync(office, [
        'suppressions:',
        '  - id: etl-debugging',
        '    rule: kms-unusual-network',
        '    networks: [198.51.100.32/32]',
        '    reason: the data team reads reports with the ETL role from the office',
        '    expires: 2099-12-31',
        '',
      ].join('\n'));

      const run = runKdm(['backtest', sim, '--config', office]);

      expect(run.status).toBe(3);
      expect(run.stdout).toContain('Recall     0.988  79 of 80 labels detected by the rule meant for them');
      expect(run.stdout).toMatch(/^Missed \(1\)\n {2}kms-unusual-network\/s3#0 {2}kms-unusual-network: the ETL job's credentials read a report through S3 with its own SDK from the internet/m);
      const replay = runKdm(['replay', sim, '--config', office, '--summary', 'json']);
      expect((JSON.parse(replay.stdout) as { findings: { suppressed: number } }).findings.suppressed).toBe(1);
    });

    it('refuses labels it cannot read, naming the file and line, and asks for --labels where it cannot find them', () => {
      const bad = join(dir, 'bad.labels');
      writeFileSync(bad, '{"rule":"kms-root-usage","eventIds":["e-1"]}\n{"rule":"kms-root-usage"}\n');
      const refused = runKdm(['backtest', sim, '--labels', bad]);

      expect(refused.status).toBe(1);
      expect(refused.stderr).toBe(`kdm: ${bad}: line 2: "eventIds" must list the eventIDs of its records\n`);
      const twoPaths = runKdm(['backtest', join(sim, 'AWSLogs'), sim]);
      expect(twoPaths.status).toBe(1);
      expect(twoPaths.stderr).toBe('kdm: backtest needs --labels <file> unless it is given one directory holding anomalies.labels\n');
      const absent = runKdm(['backtest', join(sim, 'AWSLogs')]);
      expect(absent.status).toBe(1);
      expect(absent.stderr).toMatch(/^kdm: .*AWSLogs\/anomalies\.labels: cannot read the labels: no such file or directory \(ENOENT\)\n$/);
    });
  });

  it('writes the same bytes for the same seed', () => {
    const a = simulate({ events: 2000, anomalies: true, seed: 5 });
    const b = simulate({ events: 2000, anomalies: true, seed: 5 });
    const c = simulate({ events: 2000, anomalies: true, seed: 6 });

    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    expect(JSON.stringify(a)).not.toBe(JSON.stringify(c));
  });
});
