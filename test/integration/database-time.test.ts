// The time a replay waits for its database (src/cli/database-time.ts), measured around a real DuckDB file's steps
// and told as a User Timing mark once the database is closed, which bench:compare reads.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openLedgerDatabase } from '#adapters/local/ledger-database.ts';
import { DEFAULT_ENGINE_CONFIG } from '#core/engine-config.ts';
import type { LedgerRow } from '#core/ledger/ledger.ts';
import { ALL_RULES } from '#core/rules/registry.ts';
import { DATABASE_TIME_MARK, timedDatabase, type DatabaseTime } from '../../src/cli/database-time.ts';
import { runReplay } from '../../src/cli/replay.ts';

const work = mkdtempSync(join(tmpdir(), 'kdm-database-time-'));
const quiet = { write: () => true } as unknown as NodeJS.WriteStream;
const row = (day: string): LedgerRow => ({
  kind: 'ledger', day, key: 'k', principal: 'p', principalType: 'AssumedRole', account: '1', region: 'r', bucket: '', operation: 'Decrypt', path: 'direct',
  count: 1, errors: 0, firstSeenMs: 0, lastSeenMs: 0, objects: [], objectsOverflow: false, eventIds: [], findings: 0,
});

describe('the time a replay waits for its database', () => {
  it('counts each step of a real database, the ones that fail too, and leaves the database working as before', async () => {
    const { db, spent } = timedDatabase(await openLedgerDatabase(join(work, 'steps.duckdb')));
    await db.begin();
    await db.writeLedger({ rows: [row('2026-10-01')], accesses: [] });
    await db.writeLedger({ rows: [row('2026-10-02')], accesses: [] });
    // A day DuckDB cannot read as a date: the write fails as it would unwrapped, and its time counts.
    await expect(db.writeLedger({ rows: [row('not a day')], accesses: [] })).rejects.toThrow();
    expect(db.checkpointDue(0)).toBe(false);
    await db.rollback();
    db.close();

    expect(Object.keys(spent).sort()).toEqual(['begin', 'checkpointDue', 'close', 'rollback', 'writeLedger']);
    expect(spent.writeLedger?.calls).toBe(3);
    expect(spent.begin?.calls).toBe(1);
    for (const step of Object.values(spent)) expect(step.ms).toBeGreaterThanOrEqual(0);
    expect(db.file).toBe(join(work, 'steps.duckdb'));
  });

  it('is told as a mark once a replay with a database has closed it, and not told without one', async () => {
    performance.clearMarks(DATABASE_TIME_MARK);
    const run = { paths: [join(import.meta.dirname, '..', '..', 'events')], summary: 'json', rules: ALL_RULES, config: DEFAULT_ENGINE_CONFIG, stdout: quiet, stderr: quiet } as const;
    await runReplay(run);
    expect(performance.getEntriesByName(DATABASE_TIME_MARK)).toEqual([]);

    await runReplay({ ...run, db: join(work, 'replay.duckdb') });
    const marks = performance.getEntriesByName(DATABASE_TIME_MARK);
    expect(marks).toHaveLength(1);
    const told = (marks[0] as { readonly detail?: unknown }).detail as DatabaseTime;
    // Opened, its state loaded, the run begun, its files noted, its ledger written and committed, and closed.
    for (const step of ['loadState', 'begin', 'hasFile', 'noteFile', 'writeLedger', 'commit', 'close']) expect(told[step]?.calls, step).toBeGreaterThan(0);
    expect(Object.values(told).reduce((sum, step) => sum + step.ms, 0)).toBeGreaterThan(0);
  });
});
