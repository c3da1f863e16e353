// bench/results.md: every `npm run bench` and `npm run bench:cost` run appends an entry (machine, date, the lines
// it printed, and its figures as JSON in a comment), and prints the change since the previous entry of its kind and
// size (its `records`).
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';

const HEADER =
  '# Benchmark results\n\nAppended by `npm run bench` and `npm run bench:cost`; each entry is one run on the machine it names. Ratios compare kdm with baselines measured in the same run.\n';

/**
 * Appends one entry to `file` (bench/results.md; the caller names it, since the cost benchmark runs bundled from
 * elsewhere). `kind` names the figures' comment (`figures` for the replay benchmark, `cost figures` for
 * the cost one), so each run compares with the previous run of its own kind, and of as many records where its figures
 * say (`records`); `title` follows the date in the heading.
 */
export const appendBenchEntry = ({ file, kind, title, lines, figures }) => {
  const marker = new RegExp(`<!-- ${kind}: (.*) -->`, 'g');
  const earlier = existsSync(file) ? [...readFileSync(file, 'utf8').matchAll(marker)].map((m) => JSON.parse(m[1])) : [];
  // A run of 20,000 records against one of 1M compares sizes, not code: the previous entry is the last of the same size.
  const sameSize = (entry) => typeof figures.records !== 'number' || entry.records === figures.records;
  const before = earlier.findLast(sameSize);
  const machine = `${cpus().length}× ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}`;
  if (before === undefined && earlier.length > 0 && typeof figures.records === 'number') {
    const records = figures.records.toLocaleString('en-US');
    process.stdout.write(`no earlier entry of ${records} records to compare with (the last, of ${earlier.at(-1).records?.toLocaleString('en-US') ?? 'unstated'} records, measured other work)\n`);
  }
  if (before !== undefined) {
    const changes = Object.entries(figures)
      .filter(([k, v]) => typeof v === 'number' && typeof before[k] === 'number' && before[k] !== 0 && k !== 'records' && !k.endsWith('Percent'))
      .map(([k, v]) => `${k} ${v} (${v >= before[k] ? '+' : ''}${(((v - before[k]) / before[k]) * 100).toFixed(1)}%)`);
    // Times and rates from another machine (or Node) differ by the machine as much as by the code: say so.
    const elsewhere = before.machine !== undefined && before.machine !== machine ? `; that run was on ${before.machine}, so times and rates compare machines, not code` : '';
    process.stdout.write(`change since the previous entry (${before.date ?? '?'}${elsewhere}): ${changes.join(', ')}\n`);
  }
  const date = new Date().toISOString();
  if (!existsSync(file)) writeFileSync(file, HEADER);
  appendFileSync(file, `\n## ${date}${title !== undefined ? ` — ${title}` : ''} — ${machine}\n\n\`\`\`\n${lines.join('\n')}\n\`\`\`\n<!-- ${kind}: ${JSON.stringify({ date, machine, ...figures })} -->\n`);
  process.stdout.write(`appended to ${file}\n`);
};
