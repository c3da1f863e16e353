// The replay's engine thread without its readers and its database, for `bench:compare --engine`: the bench's
// simulated records are read, parsed and normalized once, untimed, and then evaluated round after round, each from
// an empty state, by the replay's own pipeline (record processor, in-memory store, ledger accumulator drained as the
// replay drains it). bench:compare builds this file against each checkout's `src/`, and bench/engine-rounds.mjs
// loads both builds into one process and alternates their rounds.
import { expandInputs, readCloudTrailFile } from '#adapters/local/cloudtrail-files.ts';
import { createRecordProcessor } from '#app/process-records.ts';
import { createMemoryStateStore } from '#adapters/memory/memory-state-store.ts';
import { createEngine } from '#core/engine.ts';
import { normalizeRecord } from '#core/events/normalize.ts';
import type { NormalizeResult } from '#core/events/types.ts';
import type { RecordBatch, ReadIssue } from '#core/ports.ts';
import { LedgerAccumulator, type LedgerDelta } from '#core/ledger/ledger.ts';
import { ALL_RULES } from '#core/rules/registry.ts';

/** The replay hands its ledger's rows to the database 10,000 at a time (ACCUMULATED_LEDGER_ROWS in replay.ts). */
const DRAIN_AT_ROWS = 10_000;

/** What a round found: its counts of records, events and correlations are the replay's summary's. */
export interface RoundFound {
  readonly records: { readonly read: number; readonly processed: number; readonly skipped: number; readonly failed: number };
  readonly events: { readonly kms: number; readonly s3: number; readonly other: number; readonly network: number };
  readonly correlations: { readonly object: number; readonly bucket: number; readonly none: number };
  readonly findings: number;
  /** KMS calls counted on the ledger's rows: the same however often the rows were handed over. */
  readonly ledgerCalls: number;
}

export interface EngineAlone {
  readonly records: number;
  /** Evaluates every record once, from an empty state; `cpuMs` is the process's CPU time during it. */
  round(): Promise<{ readonly cpuMs: number; readonly found: RoundFound }>;
}

/** Reads and normalizes the CloudTrail files under `dir` as the replay reads them, in its order (untimed). */
export const prepare = async (dir: string): Promise<EngineAlone> => {
  const issues: ReadIssue[] = [];
  const batches: { readonly batch: Omit<RecordBatch, 'records'>; readonly results: readonly NormalizeResult[] }[] = [];
  for (const input of await expandInputs([dir], (issue) => issues.push(issue))) {
    for await (const item of readCloudTrailFile(input)) {
      if (item.type === 'issue') issues.push(item.issue);
      else if (item.type === 'batch') {
        const { records, ...batch } = item.batch;
        batches.push({ batch, results: records.map(normalizeRecord) });
      }
    }
  }

  return {
    records: batches.reduce((n, b) => n + b.results.length, 0) + issues.filter((i) => i.kind === 'record-failed' || i.kind === 'record-skipped').length,
    async round() {
      const engine = createEngine({ rules: ALL_RULES });
      const store = createMemoryStateStore(undefined, { writeThrough: true });
      const ledger = new LedgerAccumulator();
      const processor = createRecordProcessor({ engine, store, clock: { nowMs: () => 0 }, ledger: { into: ledger } });
      let ledgerCalls = 0;
      const findings = new Set<string>();
      const drain = (drained = ledger.drain()): void => {
        for (const row of drained.rows) ledgerCalls += row.count;
      };
      // What the replay hands over at a write in the middle of a run: a day's object accesses held up to twice the
      // write size (HELD_DAY_FACTOR in replay.ts). Builds before 2026-12-05 ignore the bound and hand over every
      // access; builds before drainForWrite, everything.
      const drainForWrite = (): LedgerDelta => ('drainForWrite' in ledger ? ledger.drainForWrite(2 * DRAIN_AT_ROWS) : (ledger as LedgerAccumulator).drain());
      const started = process.cpuUsage();
      for (const issue of issues) processor.noteIssue(issue);
      for (const { batch, results } of batches) {
        for (const f of (await processor.processNormalized(batch, results)).findings) findings.add(f.id);
        if (ledger.size >= DRAIN_AT_ROWS) drain(drainForWrite());
      }
      for (const f of (await processor.flush()).findings) findings.add(f.id);
      drain();
      const used = process.cpuUsage(started);
      const { records, events, correlations } = processor.summary;
      const found: RoundFound = {
        records: { read: records.read, processed: records.processed, skipped: records.skipped, failed: records.failed },
        // Builds before 2026-12-07 kept no network activity events (none count).
        events: { kms: events.kms, s3: events.s3, other: events.other, network: (events as { network?: number }).network ?? 0 },
        correlations: { ...correlations },
        findings: findings.size,
        ledgerCalls,
      };
      return { cpuMs: (used.user + used.system) / 1000, found };
    },
  };
};
