#!/usr/bin/env node
// `npm run bench` — measures kdm against baselines run on the same machine, in the same run, on the same files,
// and prints ratios (never absolute pass/fail). Appends the figures to bench/results.md and prints the change
// against the previous entry.
//
//   npm run bench                      1M simulated records (generated once into bench/.data/, deterministic seed)
//   npm run bench -- --records 200000  a quicker run
//   npm run bench -- --full            also 5M records, to check that peak memory stays flat as input grows,
//                                      both replays with the allocator setting the README advises for large ones,
//                                      and the same records in files of 1,000 (as busy accounts' logs have)
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { dataset, ensureBuilt, KDM, replay, ROOT, say, scratchFile, timed } from './harness.mjs';
import { mean, median } from './stats.mjs';
import { appendBenchEntry } from './results-log.mjs';

/** Records per file of the --full run's larger-file input (the simulation's default is 200). */
const LARGE_FILE_RECORDS = 1_000;

const { values } = parseArgs({ options: { records: { type: 'string', default: '1000000' }, full: { type: 'boolean', default: false }, runs: { type: 'string', default: '10' } } });
const RECORDS = Number(values.records);

const startup = (args, env) => {
  const times = [];
  for (let i = 0; i < Number(values.runs); i++) times.push(timed(process.execPath, args, { env: { ...process.env, ...env } }).seconds * 1000);
  return mean(times.sort((a, b) => a - b).slice(0, Math.max(1, times.length - 2)));
};

ensureBuilt();
const dir = dataset(RECORDS);
const figures = { records: RECORDS };

const parseBaseline = () => JSON.parse(timed(process.execPath, [join(ROOT, 'bench', 'baselines', 'parse.mjs'), dir]).stdout).perSecond;

say('baseline: DuckDB (2 threads) join of Decrypt to GetObject …');
const duck = JSON.parse(timed(process.execPath, [join(ROOT, 'bench', 'baselines', 'duckdb-join.mjs'), dir], { cwd: ROOT }).stdout);
figures.duckdbPerSecond = Math.round(duck.perSecond);
figures.duckdbMaxRssMb = Math.round(duck.maxRssKb / 1024);

if (spawnSync('jq', ['--version']).status === 0) {
  say('baseline: jq selecting the Decrypts …');
  const jq = timed('sh', ['-c', `find '${dir}' -name '*.json.gz' -print0 | sort -z | xargs -0 zcat | jq -c '.Records[] | select(.eventName == "Decrypt") | .eventID' | wc -l`]);
  // The records in the files, as DuckDB counted them: the simulation's anomalies come on top of the records asked for.
  figures.jqPerSecond = Math.round(duck.records / jq.seconds);
} else say('jq is not installed: its ratio is left out (apt-get install jq)');

// The parse baseline brackets the two replays: machines of this kind change speed by up to 2x within an hour, so
// the ratio takes the mean of a run just before and one just after, and the run says how far they differ.
say('baseline: gunzip + JSON.parse + count Decrypts, one thread …');
const parseBefore = parseBaseline();

say('kdm replay: every rule, correlation and the ledger (--db) …');
const kdm = replay(dir);
figures.replayPerSecond = kdm.perSecond;
figures.replayMaxRssMb = kdm.maxRssMb;
figures.replayCpuSeconds = Number(kdm.cpuSeconds.toFixed(1));
if (kdm.engineCpuSeconds !== undefined) {
  figures.replayEngineCpuSeconds = Number(kdm.engineCpuSeconds.toFixed(1));
  figures.replayReadersCpuSeconds = Number(kdm.readersCpuSeconds.toFixed(1));
}
figures.findings = kdm.findings;

say('kdm replay without the ledger: the engine alone …');
const engineOnly = replay(dir, { ledger: false });
figures.replayNoLedgerPerSecond = engineOnly.perSecond;
figures.replayNoLedgerMaxRssMb = engineOnly.maxRssMb;
figures.replayNoLedgerCpuSeconds = Number(engineOnly.cpuSeconds.toFixed(1));
if (engineOnly.engineCpuSeconds !== undefined) {
  figures.replayNoLedgerEngineCpuSeconds = Number(engineOnly.engineCpuSeconds.toFixed(1));
  figures.replayNoLedgerReadersCpuSeconds = Number(engineOnly.readersCpuSeconds.toFixed(1));
}
figures.cores = availableParallelism();

say('baseline again: gunzip + JSON.parse, right after the replays …');
const parseAfter = parseBaseline();
figures.parsePerSecond = Math.round((parseBefore + parseAfter) / 2);
figures.hostDriftPercent = Math.round((100 * (parseAfter - parseBefore)) / parseBefore);

say('kdm history: a filtered query on the ledger, scaled to 10M events …');
{
  // The ledger of the run, copied into 10 successive periods: the table a 10M-event history would hold.
  const scaled = join(dirname(kdm.db), 'ledger-10x.duckdb');
  const rows = JSON.parse(timed(process.execPath, [join(ROOT, 'bench', 'baselines', 'scale-ledger.mjs'), kdm.db, scaled], { cwd: ROOT }).stdout);
  const query = ['history', '--db', scaled, '--principal', '*:role/Sim*', '--from', '2026-10-20', '--to', '2027-01-31', '--group-by', 'principal,day', '--format', 'json'];
  timed(process.execPath, [KDM, ...query]); // warm the page cache
  figures.historyQueryMs = Math.round(mean([0, 1, 2].map(() => timed(process.execPath, [KDM, ...query]).seconds * 1000)));
  figures.cliStartupMs = Math.round(startup([KDM, '--version'], {}));
  figures.ledgerRows = rows.rows;
  figures.ledgerCalls = rows.calls;
}

say('kdm replay continuing a database: the next records after 140 days of ledger, against the same into an empty file …');
{
  // The 10 periods before the run's, ledger only (no state, no replayed files): the history a daily replay continues.
  const history = join(dirname(kdm.db), 'history-before.duckdb');
  const held = JSON.parse(timed(process.execPath, [join(ROOT, 'bench', 'baselines', 'scale-ledger.mjs'), kdm.db, history, '--before'], { cwd: ROOT }).stdout);
  const next = dataset(Math.min(RECORDS, 200_000));
  const seconds = { empty: [], history: [] };
  for (let i = 0; i < 2; i++) {
    seconds.empty.push(replay(next).seconds);
    const copy = scratchFile('continued.duckdb');
    copyFileSync(history, copy);
    seconds.history.push(replay(next, { into: copy }).seconds);
  }
  figures.continuedRows = held.rows;
  figures.continuedMs = Math.round(mean(seconds.history) * 1000);
  figures.freshMs = Math.round(mean(seconds.empty) * 1000);
}

if (values.full) {
  say(`memory at 5× the input (${(RECORDS * 5).toLocaleString()} records over 70 days) …`);
  const big = dataset(RECORDS * 5, { days: 70, anomalies: false });
  const five = replay(big);
  figures.replay5xPerSecond = five.perSecond;
  figures.replay5xMaxRssMb = five.maxRssMb;
  // glibc gives each thread that contends for malloc an arena of its own (up to 8 per core) and keeps freed memory
  // in them: the replay's own threads, V8's and the libuv pool's where DuckDB runs. `kdm` as a program sets fewer
  // arenas and a fixed mmap threshold before node starts; `node dist/kdm.js` starts with glibc's own and sets the
  // same through the native reader's addon as the replay begins (tuneMallocLikeTheLauncher), keeping the arenas
  // made before: measured on both inputs, it shows what starting without the launcher costs.
  if (process.report?.getReport().header.glibcVersionRuntime !== undefined) {
    say('the same two replays as `node dist/kdm.js`, started without the launcher …');
    const one = replay(dir, { launcher: false });
    const fiveGlibc = replay(big, { launcher: false });
    figures.replayGlibcMaxRssMb = one.maxRssMb;
    figures.replayGlibcPerSecond = one.perSecond;
    figures.replay5xGlibcMaxRssMb = fiveGlibc.maxRssMb;
    figures.replay5xGlibcPerSecond = fiveGlibc.perSecond;
  }
  // Busy accounts' log files hold more records than the simulation's 200: the readers' young generation and
  // read-ahead follow file size, so the same records in files of 1,000 are measured too.
  say('the same records in files of 1,000 …');
  const large = replay(dataset(RECORDS, { recordsPerFile: LARGE_FILE_RECORDS }));
  figures.replayLargeFilesPerSecond = large.perSecond;
  figures.replayLargeFilesMaxRssMb = large.maxRssMb;
}

say('Lambda bundles and module initialisation …');
execFileSync(process.execPath, [join(ROOT, 'scripts', 'bundle-functions.mjs')], { cwd: ROOT, stdio: 'ignore' });
const sizes = JSON.parse(readFileSync(join(ROOT, 'dist', 'lambda', 'sizes.json'), 'utf8'));
// The functions run with the NODE_OPTIONS serverless.yml gives them, if it gives any (it gave --enable-source-maps
// until 2026-12-05: Node then read each bundle's source map as it loaded it, which every cold start paid for), so the
// bundles are timed with them too.
const serverlessYml = readFileSync(join(ROOT, 'serverless.yml'), 'utf8');
const deployedNodeOptions = /^\s+NODE_OPTIONS:\s*(\S.*)$/m.exec(serverlessYml)?.[1];
if (/^\s+NODE_EXTRA_CA_CERTS:/m.test(serverlessYml)) throw new Error('serverless.yml sets NODE_EXTRA_CA_CERTS for the functions: the bench times the bundles without any (see below)');
// Lambda's Node.js runtimes since Node.js 20 load no certificates beyond Node's own unless the function sets
// NODE_EXTRA_CA_CERTS, and serverless.yml sets none. A machine's own setting does not go with the code: this one's
// (NODE_EXTRA_CA_CERTS in its environment) added 38 ms to every Node start, to `node -e ''` (60 against 22 ms) as
// to the bundles, which put their ratios at 1.7-1.8x where they are 3.0-3.2x as deployed. Both are timed without it.
const { NODE_EXTRA_CA_CERTS: _machineCertificates, NODE_OPTIONS: _machineNodeOptions, ...machineEnv } = process.env;
const lambdaEnv = { STATE_TABLE: 'bench', AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'x', POWERTOOLS_METRICS_DISABLED: 'true', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...(deployedNodeOptions === undefined ? {} : { NODE_OPTIONS: deployedNodeOptions }) };
/**
 * Medians of `node -e ''` and of importing a bundle, run alternately: a host whose speed drifts during the bench
 * (it has moved by 2x within a session here) then slows both alike, where timing `node -e ''` once, before
 * every bundle, printed ratios from 1.8x to 2.75x for the same bundle.
 *
 * Two times for each bundle: its module initialisation, the `import()` of the bundle timed inside the process (what
 * Lambda's runtime does with a function's module, once Node has started), and the process as a whole, from its
 * spawn to its exit with the module initialised (Node's own start, then the same import). The first is the target's
 * measure; the second is the stricter one the bench gave alone until 2026-12-05.
 */
const IMPORT_TIME = /^KDM_IMPORT_MS=([\d.]+)$/m;
const initAgainstEmpty = (bundle) => {
  const empty = [];
  const whole = [];
  const imports = [];
  const script = `const started = performance.now(); await import(${JSON.stringify(bundle)}); console.log('KDM_IMPORT_MS=' + (performance.now() - started));`;
  for (let i = 0; i < Number(values.runs); i++) {
    empty.push(timed(process.execPath, ['-e', ''], { env: { ...machineEnv, ...lambdaEnv } }).seconds * 1000);
    const run = timed(process.execPath, ['--input-type=module', '-e', script], { env: { ...machineEnv, ...lambdaEnv } });
    whole.push(run.seconds * 1000);
    const imported = IMPORT_TIME.exec(run.stdout);
    if (imported === null) throw new Error(`importing ${bundle} printed no time:\n${run.stdout}\n${run.stderr}`);
    imports.push(Number(imported[1]));
  }
  return { emptyMs: median(empty), processMs: median(whole), importMs: median(imports) };
};
const emptyRuns = [];
for (const [name, s] of Object.entries(sizes)) {
  const { emptyMs, processMs, importMs } = initAgainstEmpty(join(ROOT, 'dist', 'lambda', name, 'index.mjs'));
  emptyRuns.push(emptyMs);
  figures[`bundleKb_${name}`] = Math.round(s.bundleBytes / 1024);
  figures[`moduleInitMs_${name}`] = Math.round(importMs);
  figures[`initMs_${name}`] = Math.round(processMs);
  figures[`nodeEmptyMs_${name}`] = Math.round(emptyMs);
}
figures.nodeEmptyMs = Math.round(median(emptyRuns));

const ratio = (a, b) => (b ? (a / b).toFixed(2) : 'n/a');
/**
 * How busy the replay kept the machine's cores, and the best ratio its CPU time allows here: a replay can't end
 * before its threads' CPU time, spread over every core, has passed. When the cores are all busy, only less work
 * (not more threads) makes it faster.
 */
const cpuLine = (cpuSeconds, records, seconds) =>
  `  CPU time, all threads           ${cpuSeconds} s in ${seconds.toFixed(1)} s = ${(cpuSeconds / seconds).toFixed(2)} of ${figures.cores} cores busy; all ${figures.cores} busy throughout: ${(cpuSeconds / figures.cores).toFixed(1)} s, ${ratio(records / (cpuSeconds / figures.cores), figures.parsePerSecond)}x gunzip+parse at best`;
/**
 * Where that CPU time went (Linux only, read from /proc as the replay exits): the engine's thread, which a replay
 * cannot run faster than, and how much of the wall time it was busy (the rest it waited for its readers, for
 * DuckDB, or for a core); the reader threads; and the rest, V8's helpers (collection, optimizing compilation) and
 * libuv's pool, where DuckDB's statements run.
 */
const threadsLine = (run) =>
  run.engineCpuSeconds === undefined
    ? []
    : [
        `  of it by thread                 the engine's ${run.engineCpuSeconds.toFixed(1)} s (busy ${Math.round((100 * run.engineCpuSeconds) / run.seconds)}% of the wall time), the readers' ${run.readersCpuSeconds.toFixed(1)} s, V8's helpers and libuv's pool (DuckDB) ${Math.max(0, run.cpuSeconds - run.engineCpuSeconds - run.readersCpuSeconds).toFixed(1)} s`,
      ];
const lines = [
  `records                          ${RECORDS.toLocaleString()} asked of kdm simulate, ${duck.records.toLocaleString()} in its files (${figures.findings} findings)`,
  `kdm replay (rules+correlation+ledger)  ${figures.replayPerSecond.toLocaleString()} rec/s, peak ${figures.replayMaxRssMb} MB`,
  `  vs gunzip+parse, 1 thread       ${ratio(figures.replayPerSecond, figures.parsePerSecond)}x   (target >= 1.0; baseline ${figures.parsePerSecond.toLocaleString()} rec/s)`,
  `  vs DuckDB join, 2 threads       ${ratio(figures.replayPerSecond, figures.duckdbPerSecond)}x   (target >= 1.5; baseline ${figures.duckdbPerSecond.toLocaleString()} rec/s, ${figures.duckdbMaxRssMb} MB)`,
  figures.jqPerSecond !== undefined ? `  vs jq                           ${ratio(figures.replayPerSecond, figures.jqPerSecond)}x   (target >= 8; baseline ${figures.jqPerSecond.toLocaleString()} rec/s)` : '  vs jq                           n/a (jq missing)',
  `  peak memory                     ${figures.replayMaxRssMb} MB   (target <= 300 MB)`,
  `  host speed across the replays   ${figures.hostDriftPercent >= 0 ? '+' : ''}${figures.hostDriftPercent}% (gunzip+parse just before vs just after${Math.abs(figures.hostDriftPercent) > 10 ? '; over 10%: read these ratios with care' : ''})`,
  cpuLine(figures.replayCpuSeconds, kdm.records, kdm.seconds),
  ...threadsLine(kdm),
  `kdm replay without the ledger      ${figures.replayNoLedgerPerSecond.toLocaleString()} rec/s (${ratio(figures.replayNoLedgerPerSecond, figures.parsePerSecond)}x gunzip+parse), peak ${figures.replayNoLedgerMaxRssMb} MB`,
  cpuLine(figures.replayNoLedgerCpuSeconds, engineOnly.records, engineOnly.seconds),
  ...threadsLine(engineOnly),
  ...(figures.replay5xMaxRssMb !== undefined ? [`  peak memory at 5x input         ${figures.replay5xMaxRssMb} MB   (${ratio(figures.replay5xMaxRssMb, figures.replayMaxRssMb)}x of 1x; target: same bound)`] : []),
  ...(figures.replayGlibcMaxRssMb !== undefined
    ? [
        `${'  as node dist/kdm.js'.padEnd(34)}peak ${figures.replayGlibcMaxRssMb} MB at 1x, ${figures.replay5xGlibcMaxRssMb} MB at 5x (${ratio(figures.replay5xGlibcMaxRssMb, figures.replayGlibcMaxRssMb)}x); ${figures.replayGlibcPerSecond.toLocaleString()} and ${figures.replay5xGlibcPerSecond.toLocaleString()} rec/s (${ratio(figures.replayGlibcPerSecond, figures.replayPerSecond)}x and ${ratio(figures.replay5xGlibcPerSecond, figures.replay5xPerSecond)}x of kdm's)`,
      ]
    : []),
  ...(figures.replayLargeFilesPerSecond !== undefined
    ? [`${`  in files of ${LARGE_FILE_RECORDS.toLocaleString()} records`.padEnd(34)}${figures.replayLargeFilesPerSecond.toLocaleString()} rec/s (${ratio(figures.replayLargeFilesPerSecond, figures.replayPerSecond)}x of files of 200), peak ${figures.replayLargeFilesMaxRssMb} MB`]
    : []),
  `kdm replay continuing ${figures.continuedRows.toLocaleString()} ledger rows (140 days before)  ${figures.continuedMs} ms vs ${figures.freshMs} ms into an empty file = ${ratio(figures.continuedMs, figures.freshMs)}x (${Math.min(RECORDS, 200_000).toLocaleString()} records; target: about 1, flat as the file grows)`,
  `kdm history on ${figures.ledgerRows.toLocaleString()} ledger rows (${figures.ledgerCalls.toLocaleString()} KMS calls, 10x scaled)  ${figures.historyQueryMs} ms wall, of which CLI start ${figures.cliStartupMs} ms (target < 1 s)`,
  ...Object.keys(sizes).map((name) => `lambda ${name.padEnd(22)} ${figures[`bundleKb_${name}`]} KB (target <= 400), module initialisation ${figures[`moduleInitMs_${name}`]} ms = ${ratio(figures[`moduleInitMs_${name}`], figures[`nodeEmptyMs_${name}`])}x node -e '' (${figures[`nodeEmptyMs_${name}`]} ms; target <= 2x); the process with it ${figures[`initMs_${name}`]} ms = ${ratio(figures[`initMs_${name}`], figures[`nodeEmptyMs_${name}`])}x (medians of ${values.runs} alternate runs, ${deployedNodeOptions === undefined ? 'no NODE_OPTIONS' : `NODE_OPTIONS=${deployedNodeOptions}`} and no NODE_EXTRA_CA_CERTS, as deployed)`),
];
process.stdout.write(`${lines.join('\n')}\n`);

// History: append this run, compare with the previous one.
appendBenchEntry({ file: join(ROOT, 'bench', 'results.md'), kind: 'figures', lines, figures });
