// What the benches share: the simulated inputs, running a command with its time, peak memory and CPU, and a replay.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const KDM = join(ROOT, 'dist', 'kdm.js');
export const SEED = 42;

export const say = (line) => process.stderr.write(`${line}\n`);

/**
 * Runs a command to its end and times it. A process started with `--import bench/baselines/max-rss.mjs` also
 * reports its peak resident memory and the CPU time of all its threads.
 */
export const timed = (command, args, options = {}) => {
  const started = performance.now();
  const run = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, ...options });
  const seconds = (performance.now() - started) / 1000;
  if (run.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${run.status}):\n${run.stderr?.slice(-2000)}`);
  const rss = /KDM_BENCH_MAXRSS_KB=(\d+)/.exec(run.stderr ?? '');
  const cpu = /KDM_BENCH_CPU_MS=(\d+)/.exec(run.stderr ?? '');
  return { seconds, stdout: run.stdout, stderr: run.stderr, maxRssKb: rss ? Number(rss[1]) : undefined, cpuSeconds: cpu ? Number(cpu[1]) / 1000 : undefined };
};

/**
 * The simulation's records, generated once: over 14 days with labelled anomalies and in files of 200 (its default)
 * unless told otherwise. The directory's name says how, so a run never measures an input made for another.
 */
export const dataset = (records, { days = 14, anomalies = true, recordsPerFile } = {}) => {
  const how = `${days === 14 ? '' : `-${days}d`}${recordsPerFile === undefined ? '' : `-${recordsPerFile}perfile`}`;
  const dir = join(ROOT, 'bench', '.data', `sim-${records}${how}-seed${SEED}`);
  if (!existsSync(join(dir, 'anomalies.labels'))) {
    say(`generating ${records.toLocaleString()} records with kdm simulate (seed ${SEED}) into ${dir} …`);
    rmSync(dir, { recursive: true, force: true });
    const options = [...(anomalies ? ['--anomalies'] : []), ...(recordsPerFile === undefined ? [] : ['--records-per-file', String(recordsPerFile)])];
    timed(process.execPath, [KDM, 'simulate', '--out', dir, '--events', String(records), '--seed', String(SEED), '--days', String(days), ...options]);
  }
  return dir;
};

// Databases the runs write (hundreds of MB with the bench's 10x copies), removed when the process ends.
const scratchDirs = [];
process.on('exit', () => {
  for (const d of scratchDirs) rmSync(d, { recursive: true, force: true });
});
export const scratchFile = (name) => {
  const dir = mkdtempSync(join(tmpdir(), 'kdm-bench-'));
  scratchDirs.push(dir);
  return join(dir, name);
};

/**
 * `kdm replay` of `dir` with its `--summary json`: with the ledger into a new database unless `ledger` is false
 * or `into` names one, by the CLI at `kdm` (this checkout's by default).
 */
export const replay = (dir, { ledger = true, into, env, kdm = KDM } = {}) => {
  const db = into ?? scratchFile('ledger.duckdb');
  const run = timed(process.execPath, ['--import', join(ROOT, 'bench', 'baselines', 'max-rss.mjs'), kdm, 'replay', dir, ...(ledger ? ['--db', db] : []), '--summary', 'json'], env !== undefined ? { env: { ...process.env, ...env } } : {});
  const summary = JSON.parse(run.stdout);
  const records = summary.records.read;
  return { seconds: run.seconds, perSecond: Math.round(records / run.seconds), maxRssMb: Math.round(run.maxRssKb / 1024), cpuSeconds: run.cpuSeconds, records, findings: summary.findings.total, summary, db };
};
