// `bench:compare --instructions`'s measured process, run under valgrind's callgrind, once per build and count of
// rounds:
//
//   valgrind --tool=callgrind … node --single-threaded --predictable bench/engine-count.mjs <build> <directory> <rounds>
//
// Loads one build of bench/engine-alone.ts, prepares the records with it and evaluates them `rounds` times, each
// from an empty state. Callgrind counts every instruction the process runs, so a run of W rounds and a run of W + R
// rounds differ by what R warm rounds cost: reading, normalizing and warming up are in both and drop out. Prints
// one line of JSON: the records, and what the last round counted (null with no rounds).
import { pathToFileURL } from 'node:url';

const [bundle, dir, roundsText] = process.argv.slice(2);
const rounds = Number(roundsText);
if (dir === undefined || !Number.isInteger(rounds) || rounds < 0) {
  process.stderr.write('usage: node bench/engine-count.mjs <build> <directory> <rounds>\n');
  process.exit(2);
}
const build = await (await import(pathToFileURL(bundle).href)).prepare(dir);
let found = null;
for (let round = 0; round < rounds; round++) found = (await build.round()).found;
process.stdout.write(`${JSON.stringify({ records: build.records, found })}\n`);
