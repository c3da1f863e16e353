import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO, runKdm } from '../helpers/cli.ts';

const scratch = mkdtempSync(join(tmpdir(), 'kdm-engine-alone-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('bench/engine-alone.ts (bench:compare --engine)', () => {
  it('evaluates the records as the replay does, round after round from an empty state', async () => {
    const input = join(scratch, 'sim');
    expect(runKdm(['simulate', '--out', input, '--events', '3000', '--seed', '7', '--anomalies']).status).toBe(0);
    const bundle = join(scratch, 'engine-alone.mjs');
    await build({ entryPoints: [join(REPO, 'bench', 'engine-alone.ts')], outfile: bundle, bundle: true, platform: 'node', format: 'esm', logLevel: 'warning' });

    const run = spawnSync(process.execPath, ['--expose-gc', bundle, input, '3'], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout) as { records: number; cpuMs: number[]; found: { records: { read: number; processed: number }; events: unknown; correlations: unknown; findings: number; ledgerRows: number } };
    expect(out.cpuMs).toHaveLength(3);
    for (const ms of out.cpuMs) expect(ms).toBeGreaterThan(0);

    const replay = runKdm(['replay', input, '--summary', 'json']);
    expect(replay.status, replay.stderr).toBe(0);
    const summary = JSON.parse(replay.stdout) as { records: { read: number; processed: number }; events: Record<string, unknown>; correlation: unknown; findings: { total: number } };
    expect(out.records).toBe(summary.records.read);
    expect(out.found.records.processed).toBe(summary.records.processed);
    const { firstEventTime: _first, lastEventTime: _last, ...eventCounts } = summary.events;
    expect(out.found.events).toEqual(eventCounts);
    expect(out.found.correlations).toEqual(summary.correlation);
    expect(out.found.findings).toBe(summary.findings.total);
    expect(out.found.findings).toBeGreaterThan(0);
    expect(out.found.ledgerRows).toBeGreaterThan(0);
  });
});
