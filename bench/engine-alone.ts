// The replay's engine thread without its readers and its database: the bench's simulated records are read,
// parsed and normalized once, untimed, and then evaluated again and again, each round from an empty state, by
// the replay's own pipeline (record processor, in-memory store, ledger accumulator drained as the replay drains
// it). Prints one line of JSON: each round's CPU time and what the last round found (its counts of records, events
// and correlations are the replay's summary's). `bench:compare --engine` builds this file against each checkout's
// `src/` and runs it.
//
//   node <bundle> <directory of *.json.gz> <rounds>
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { createRecordProcessor } from '#app/process-records.ts';
import { createMemoryStateStore } from '#adapters/memory/memory-state-store.ts';
import { createEngine } from '#core/engine.ts';
import { normalizeRecord } from '#core/events/normalize.ts';
import type { NormalizeResult } from '#core/events/types.ts';
import { LedgerAccumulator } from '#core/ledger/ledger.ts';
import { ALL_RULES } from '#core/rules/registry.ts';

/** The replay hands its ledger's rows to the database 10,000 at a time (ACCUMULATED_LEDGER_ROWS in replay.ts). */
const DRAIN_AT_ROWS = 10_000;

const [dir, roundsText] = process.argv.slice(2);
const rounds = Number(roundsText);
if (dir === undefined || !Number.isInteger(rounds) || rounds < 1) throw new Error('usage: engine-alone <directory> <rounds>');

const files: string[] = [];
const walk = (d: string): void => {
  for (const name of readdirSync(d).sort()) {
    const path = join(d, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (path.endsWith('.json.gz')) files.push(path);
  }
};
walk(dir);
const batches = files.map((file) => {
  const records = (JSON.parse(gunzipSync(readFileSync(file)).toString('utf8')) as { Records: unknown[] }).Records;
  return { file, results: records.map(normalizeRecord) as readonly NormalizeResult[] };
});

const gc = (globalThis as { gc?: () => void }).gc;
const cpuMs: number[] = [];
let found: unknown;
for (let round = 0; round < rounds; round++) {
  // Each round starts with the garbage of the one before collected, when the process allows it (--expose-gc).
  gc?.();
  const engine = createEngine({ rules: ALL_RULES });
  const store = createMemoryStateStore(undefined, { writeThrough: true });
  const ledger = new LedgerAccumulator();
  const processor = createRecordProcessor({ engine, store, clock: { nowMs: () => 0 }, ledger: { into: ledger } });
  let ledgerRows = 0;
  const findings = new Set<string>();
  const started = process.cpuUsage();
  const drain = (): void => {
    const drained = ledger.drain();
    ledgerRows += drained.rows.length + drained.accesses.length;
  };
  for (const batch of batches) {
    for (const f of (await processor.processNormalized({ file: batch.file, firstIndex: 0 }, batch.results)).findings) findings.add(f.id);
    if (ledger.size >= DRAIN_AT_ROWS) drain();
  }
  for (const f of (await processor.flush()).findings) findings.add(f.id);
  drain();
  const used = process.cpuUsage(started);
  cpuMs.push((used.user + used.system) / 1000);
  const { records, events, correlations } = processor.summary;
  found = { records: { ...records, skippedByReason: Object.fromEntries(records.skippedByReason) }, events, correlations, findings: findings.size, ledgerRows };
}
process.stdout.write(`${JSON.stringify({ records: batches.reduce((n, b) => n + b.results.length, 0), cpuMs, found })}\n`);
