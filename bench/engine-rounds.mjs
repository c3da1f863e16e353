// `bench:compare --engine`'s measuring process:
//
//   node --expose-gc bench/engine-rounds.mjs <build A> <build B> <directory of *.json.gz> <rounds>
//
// Loads two builds of bench/engine-alone.ts into this one process, prepares the records with each (each build
// normalizes its own copy), then alternates their rounds, A B, then B A, and so on, each after a full collection: the
// two builds meet the same host within seconds of each other, where separate processes minutes apart met hosts up
// to 30% apart. Prints one line of JSON: each build's CPU time per round, what the first round counted, and the
// rounds whose counts differed from it.
import { pathToFileURL } from 'node:url';
import { roundOrder } from './compare-report.mjs';

const [bundleA, bundleB, dir, roundsText] = process.argv.slice(2);
const rounds = Number(roundsText);
if (bundleB === undefined || dir === undefined || !Number.isInteger(rounds) || rounds < 1) {
  process.stderr.write('usage: node --expose-gc bench/engine-rounds.mjs <build A> <build B> <directory> <rounds>\n');
  process.exit(2);
}
const gc = globalThis.gc;
if (gc === undefined) process.stderr.write('engine-rounds: run with --expose-gc, or rounds start with the garbage of the one before\n');

const builds = {};
for (const [which, bundle] of [['a', bundleA], ['b', bundleB]]) builds[which] = await (await import(pathToFileURL(bundle).href)).prepare(dir);
const cpuMs = { a: [], b: [] };
const differing = [];
let reference;
for (let round = 0; round < rounds; round++) {
  for (const which of roundOrder(round)) {
    gc?.();
    const r = await builds[which].round();
    cpuMs[which].push(r.cpuMs);
    const found = JSON.stringify(r.found);
    reference ??= found;
    if (found !== reference) differing.push(`${which.toUpperCase()}, round ${round + 1}`);
    process.stderr.write(`round ${round + 1}  ${which.toUpperCase()}  ${r.cpuMs.toFixed(0).padStart(6)} ms\n`);
  }
}
process.stdout.write(`${JSON.stringify({ records: builds.a.records, cpuMs, found: JSON.parse(reference), differing })}\n`);
