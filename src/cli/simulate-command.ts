import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { counted } from '#core/counted.ts';
import { UsageError } from '#core/errors.ts';
import { pathState } from '#adapters/local/file-paths.ts';
import { LABELS_FILE } from '../sim/labels.ts';
import { simulateStream } from '../sim/simulate.ts';
import { parseCommandArgs } from './arguments.ts';
import { cannotWriteOutput } from './output-file.ts';
import { createSteppedProgress } from './progress.ts';

export const SIMULATE_HELP = `kdm simulate — deterministic, realistic CloudTrail for tests, backtests and benchmarks

Usage: kdm simulate --out <directory> [--events N] [--anomalies] [--seed S] [--days D] [--records-per-file N]

  --out <directory>        Where the files go, as CloudTrail delivers them to S3 (AWSLogs/.../*.json.gz);
                           created when absent
  --events <n>             Ordinary records to write (default: 10000)
  --anomalies              Add, on top of those, the misuse each rule detects, each listed in
                           <directory>/anomalies.labels (a JSON line: rule, eventIds) for backtests, and
                           the signing and HMAC calls its signing anomalies stand out from
  --seed <n>               The same seed writes the same files (default: 1)
  --days <n>               Days of activity, at least 9: a key's first days are its learning period (default: 14)
  --records-per-file <n>   Records in each delivery file (default: 200)

Then: kdm replay <directory> --db <file>`;

/** `kdm simulate --events N [--anomalies] --out DIR --seed S`: deterministic CloudTrail as S3 delivery files. */
export const simulateCommand = (argv: readonly string[]): number => {
  const { values } = parseCommandArgs('simulate', argv, {
    options: {
      events: { type: 'string', default: '10000' },
      anomalies: { type: 'boolean', default: false },
      out: { type: 'string' },
      seed: { type: 'string', default: '1' },
      days: { type: 'string', default: '14' },
      'records-per-file': { type: 'string', default: '200' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) {
    process.stdout.write(`${SIMULATE_HELP}\n`);
    return 0;
  }
  const int = (name: string, v: string, min: number): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be a whole number of at least ${min} (got "${v}")`);
    return n;
  };
  if (values.out === undefined) throw new UsageError('simulate needs --out <directory>');
  const sim = simulateStream({
    events: int('events', values.events, 1),
    seed: int('seed', values.seed, 0),
    anomalies: values.anomalies,
    days: int('days', values.days, 9),
    recordsPerFile: int('records-per-file', values['records-per-file'], 1),
  });
  const out = values.out;
  const state = pathState(out);
  if (state.kind === 'file') throw cannotWriteOutput('the simulation', out, 'it is a file; --out takes a directory (created when absent)');
  let records = 0;
  let files = 0;
  const progress = createSteppedProgress('records', sim.expectedRecords);
  try {
    // Made by its own name first where its parent exists: Node's recursive mkdir never returns for a path such as
    // /proc/x, where the directory cannot be made and its parent is there.
    if (state.kind === 'absent') mkdirSync(out);
    for (const f of sim.files) {
      const path = join(out, f.path);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, gzipSync(JSON.stringify({ Records: f.records }), { level: 6 }));
      records += f.records.length;
      files++;
      progress.advance(f.records.length);
    }
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, LABELS_FILE), sim.labels.map((l) => JSON.stringify(l)).join('\n') + (sim.labels.length > 0 ? '\n' : ''));
  } catch (error) {
    // What the file system refused (a file where a directory belongs, permissions, a full disk) is the user's to mend.
    const code = (error as NodeJS.ErrnoException).code;
    if (code === undefined) throw error;
    throw cannotWriteOutput('the simulation', out, `${(error as Error).message}${files > 0 ? ` (after ${counted(files, 'file')})` : ''}`, error);
  } finally {
    progress.stop();
  }
  process.stderr.write(`kdm: wrote ${counted(records, 'record')} in ${counted(files, 'file')} and ${counted(sim.labels.length, 'anomaly label')} to ${out}\n`);
  return 0;
};
