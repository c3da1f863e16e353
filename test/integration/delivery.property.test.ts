import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createMemoryStateStore, type MemoryStateStore } from '#adapters/memory/memory-state-store.ts';
import { createRecordProcessor, type BatchOutcome } from '#app/process-records.ts';
import { createEngine } from '#core/engine.ts';
import type { FindingRecord } from '#core/findings/finding.ts';
import { mergeById } from '#core/ledger/ledger.ts';
import { ALL_RULES } from '#core/rules/registry.ts';
import { simulate } from '../../src/sim/simulate.ts';

const NOW = Date.UTC(2026, 10, 22);

/** What must not depend on how records were delivered: findings, ledger counts and learned baselines. */
interface Result {
  readonly findings: Record<string, { rule: string; count: number; ids: string[] }>;
  readonly ledger: Record<string, { count: number; errors: number; findings: number; first: number; last: number }>;
  readonly baselines: Record<string, unknown>;
}

const collect = (outcomes: readonly BatchOutcome[], store: MemoryStateStore): Result => {
  const findings = new Map<string, FindingRecord>();
  for (const o of outcomes) for (const f of o.findings) findings.set(f.id, f);
  const { rows } = mergeById({ rows: outcomes.flatMap((o) => o.ledger.rows), accesses: [] });
  const baselines: Record<string, unknown> = {};
  for (const [k, e] of store.entries) if (e.kind === 'key-baseline' || e.kind === 'principal-baseline') baselines[k] = JSON.parse(JSON.stringify(e));
  return {
    findings: Object.fromEntries([...findings].map(([id, f]) => [id, { rule: f.ruleId, count: f.eventCount, ids: [...f.eventIds].sort() }])),
    ledger: Object.fromEntries([...rows].map(([id, r]) => [id, { count: r.count, errors: r.errors, findings: r.findings, first: r.firstSeenMs, last: r.lastSeenMs }])),
    baselines,
  };
};

const processor = (store: MemoryStateStore) => createRecordProcessor({ engine: createEngine({ rules: ALL_RULES }), store, clock: { nowMs: () => NOW }, ledger: 'outcome' });

/** A deterministic shuffle (Fisher–Yates with a small LCG), so a failing case replays exactly. */
const shuffled = <T>(items: readonly T[], seed: number): T[] => {
  const out = [...items];
  let s = seed >>> 0 || 1;
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
};

describe('delivery as it really happens', () => {
  it('duplicated, shuffled within batches, split anywhere and shared by two engines on one store: the same findings, ledger and baselines as one ordered pass', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 10_000 }),
        fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 60 }),
        fc.double({ min: 0, max: 0.3, noNaN: true }),
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.boolean(),
        async (simSeed, cuts, duplicateShare, shuffleSeed, twoEngines) => {
          const sim = simulate({ events: 5_000, seed: simSeed, anomalies: true, days: 9, anomaliesPerKind: 1, recordsPerFile: 500 });
          const records = sim.files.flatMap((f) => f.records);

          const orderedStore = createMemoryStateStore();
          const ordered = processor(orderedStore);
          const reference = [await ordered.processBatch({ file: 'all', records, firstIndex: 0 }), await ordered.flush()];

          // Batches of the generated sizes, each shuffled, some records delivered again one or two batches later.
          const batches: unknown[][] = [];
          for (let start = 0, i = 0; start < records.length; i++) {
            const size = cuts[i % cuts.length] as number;
            batches.push(records.slice(start, start + size));
            start += size;
          }
          const redelivered = batches.map((b) => b.filter((_, j) => ((j * 2654435761 + shuffleSeed) >>> 0) % 1000 < duplicateShare * 1000));
          const delivered = batches.map((b, i) => shuffled([...b, ...(redelivered[i - 1] ?? []), ...(redelivered[i - 2] ?? [])], shuffleSeed + i));

          const sharedStore = createMemoryStateStore();
          const engines = twoEngines ? [processor(sharedStore), processor(sharedStore)] : [processor(sharedStore)];
          const outcomes: BatchOutcome[] = [];
          for (const [i, batch] of delivered.entries()) outcomes.push(await (engines[i % engines.length] as (typeof engines)[number]).processBatch({ file: `b${i}`, records: batch, firstIndex: 0 }));
          outcomes.push(await (engines[0] as (typeof engines)[number]).flush());

          const expected = collect(reference, orderedStore);
          const actual = collect(outcomes, sharedStore);
          expect(Object.keys(expected.findings).length).toBeGreaterThan(0);
          expect(actual.findings).toEqual(expected.findings);
          expect(actual.ledger).toEqual(expected.ledger);
          expect(actual.baselines).toEqual(expected.baselines);
        },
      ),
      { numRuns: 12, seed: 20261122 },
    );
  }, 300_000);
});
