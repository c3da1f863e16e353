import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { KMS_KEY_USE_OPERATION_SET } from '#core/events/kms-operations.ts';
import { callgrindArgs, instructionsCollected } from '../../bench/compare-report.mjs';
import { REPO, runKdm } from '../helpers/cli.ts';

const scratch = mkdtempSync(join(tmpdir(), 'kdm-engine-alone-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const hasValgrind = spawnSync('valgrind', ['--version'], { stdio: 'ignore' }).status === 0;

describe('bench:compare --engine (bench/engine-alone.ts, bench/engine-rounds.mjs)', () => {
  it('evaluates the records as the replay does, two builds taking turns in one process, and one under callgrind alike', async () => {
    const input = join(scratch, 'sim');
    expect(runKdm(['simulate', '--out', input, '--events', '3000', '--seed', '7', '--anomalies']).status).toBe(0);
    const bundle = join(scratch, 'engine-alone.mjs');
    await build({ entryPoints: [join(REPO, 'bench', 'engine-alone.ts')], outfile: bundle, bundle: true, platform: 'node', format: 'esm', logLevel: 'warning' });

    const run = spawnSync(process.execPath, ['--expose-gc', join(REPO, 'bench', 'engine-rounds.mjs'), bundle, bundle, input, '3'], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout) as {
      records: number;
      cpuMs: { a: number[]; b: number[] };
      found: { records: { read: number; processed: number }; events: unknown; correlations: unknown; findings: number; ledgerCalls: number };
      differing: string[];
    };
    expect(out.cpuMs.a).toHaveLength(3);
    expect(out.cpuMs.b).toHaveLength(3);
    for (const ms of [...out.cpuMs.a, ...out.cpuMs.b]) expect(ms).toBeGreaterThan(0);
    // Every round starts from an empty state, so each counts what the first did.
    expect(out.differing).toEqual([]);

    const replay = runKdm(['replay', input, '--summary', 'json']);
    expect(replay.status, replay.stderr).toBe(0);
    const summary = JSON.parse(replay.stdout) as { records: { read: number; processed: number }; events: Record<string, unknown>; kms: { byOperation: Record<string, number> }; correlation: unknown; findings: { total: number } };
    expect(out.records).toBe(summary.records.read);
    expect(out.found.records.processed).toBe(summary.records.processed);
    // Events by kind: the engine alone does not report `late`, so that builds from before it was counted compare alike.
    const { firstEventTime: _first, lastEventTime: _last, late: _late, ...eventCounts } = summary.events;
    expect(out.found.events).toEqual(eventCounts);
    expect(out.found.correlations).toEqual(summary.correlation);
    expect(out.found.findings).toBe(summary.findings.total);
    expect(out.found.findings).toBeGreaterThan(0);
    // Every call that uses a key (the ledger's: the data operations, Sign, GenerateMac, DeriveSharedSecret) is counted
    // on one ledger row (the replay without a database decides them all at its end).
    const keyUseCalls = Object.entries(summary.kms.byOperation).reduce((n, [operation, calls]) => n + (KMS_KEY_USE_OPERATION_SET.has(operation) ? calls : 0), 0);
    expect(out.found.ledgerCalls).toBe(keyUseCalls);
    expect(keyUseCalls).toBeGreaterThan(0);
    expect(summary.kms.byOperation).toMatchObject({ Sign: expect.any(Number), GenerateMac: expect.any(Number) });

    // --instructions: the same build under callgrind, one round, counts what a round of engine-rounds.mjs counted.
    if (!hasValgrind) return;
    const counted = spawnSync('valgrind', callgrindArgs({ node: process.execPath, script: join(REPO, 'bench', 'engine-count.mjs'), bundle, input, rounds: 1 }), { encoding: 'utf8' });
    expect(counted.status, counted.stderr).toBe(0);
    expect(instructionsCollected(counted.stderr)).toBeGreaterThan(1e8);
    expect(JSON.parse(counted.stdout)).toEqual({ records: out.records, found: out.found });
  }, 120_000);

  it.runIf(!hasValgrind)('says that valgrind is missing (only the --instructions check is skipped)', () => {
    console.warn('valgrind is not installed: the bench:compare --instructions check was skipped');
  });
});
