import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO, runKdm } from '../helpers/cli.ts';
import { queryDatabase as query, repeatedIdentities } from '../helpers/duckdb.ts';

const scratch = mkdtempSync(join(tmpdir(), 'kdm-scale-ledger-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const scale = (args: readonly string[]): { rows: number; calls: number } => {
  const run = spawnSync(process.execPath, [join(REPO, 'bench', 'baselines', 'scale-ledger.mjs'), ...args], { encoding: 'utf8' });
  expect(run.status, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as { rows: number; calls: number };
};

const totals = async (db: string) =>
  (await query(db, `SELECT (SELECT count(*) FROM ledger) + (SELECT count(*) FROM object_access) AS rows, (SELECT sum(calls) FROM ledger) AS calls`))[0];

describe('bench/baselines/scale-ledger.mjs: the longer histories the ledger benchmarks query and continue', () => {
  it('copies a ledger into ten 14-day periods, each row once per period, and kdm goes on writing into the copy', async () => {
    const input = join(scratch, 'sim');
    expect(runKdm(['simulate', '--out', input, '--events', '3000', '--days', '9', '--seed', '5']).status).toBe(0);
    const source = join(scratch, 'ledger.duckdb');
    expect(runKdm(['replay', input, '--db', source]).status).toBe(0);
    const one = await totals(source);

    for (const mode of [[], ['--before']]) {
      const target = join(scratch, `ledger-10x${mode.join('')}.duckdb`);
      expect(scale([source, target, ...mode])).toEqual({ rows: 10 * Number(one?.rows), calls: 10 * Number(one?.calls) });
      // Each copy its own day, so every row keeps an identity of its own.
      for (const table of ['ledger', 'object_access'] as const) expect(await query(target, repeatedIdentities(table))).toEqual([{ repeated: '0' }]);
    }

    // What the continuing-database benchmark does: the records after the 10 periods before them.
    const before = join(scratch, 'ledger-10x--before.duckdb');
    const continued = runKdm(['replay', input, '--db', before]);
    expect(continued.status, continued.stderr).toBe(0);
    expect(continued.stderr).not.toContain('upgraded');
    expect(await totals(before)).toEqual({ rows: String(11 * Number(one?.rows)), calls: String(11 * Number(one?.calls)) });
  });
});
