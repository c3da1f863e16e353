export declare const roundOrder: (round: number) => readonly ['a', 'b'] | readonly ['b', 'a'];
export declare const comparableSummary: (summary: Readonly<Record<string, unknown>>) => string;
export interface ComparedRun {
  readonly seconds: number;
  readonly cpuSeconds: number;
  readonly maxRssMb: number;
  /** The time the replay waited for its database, when it tells it (a build from 2026-12-05 on, with the ledger). */
  readonly databaseSeconds?: number | undefined;
}
export declare const comparisonLines: (comparison: {
  readonly records: number;
  readonly recordsPerFile: number | undefined;
  /** Days the simulated records span, when `--days` gives them. */
  readonly days?: number | undefined;
  readonly ledger: boolean;
  readonly rounds: number;
  readonly a: string;
  readonly b: string;
  readonly runs: { readonly a: readonly ComparedRun[]; readonly b: readonly ComparedRun[] };
  readonly differing: readonly string[];
}) => string[];
export declare const ENGINE_WARMUP_ROUNDS: number;
export declare const engineComparisonLines: (comparison: {
  readonly records: number;
  readonly a: string;
  readonly b: string;
  /** Every round's CPU time in milliseconds, warm-up rounds included. */
  readonly cpuMs: { readonly a: readonly number[]; readonly b: readonly number[] };
  readonly differing: readonly string[];
}) => string[];
/** valgrind's arguments for counting `rounds` rounds of one build of the engine alone under callgrind. */
export declare const callgrindArgs: (run: { readonly node: string; readonly script: string; readonly bundle: string; readonly input: string; readonly rounds: number }) => string[];
/** Callgrind's count of instructions from a process's stderr; undefined when it printed none. */
export declare const instructionsCollected: (stderr: string) => number | undefined;
/** Two callgrind runs of one build: with the warm-up rounds alone, and with the warm-up and the measured rounds. */
export interface InstructionCounts {
  readonly warmup: number;
  readonly total: number;
}
export declare const instructionComparisonLines: (comparison: {
  readonly records: number;
  readonly rounds: number;
  readonly warmup: number;
  readonly a: string;
  readonly b: string;
  readonly counts: { readonly a: InstructionCounts; readonly b: InstructionCounts };
  readonly differing: boolean;
}) => string[];
