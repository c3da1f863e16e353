// Baseline: one thread, gunzip + JSON.parse of every file + count Decrypts. What "bare parsing" costs.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

const files = [];
const walk = (d) => {
  for (const e of readdirSync(d, { withFileTypes: true })) {
    if (e.isDirectory()) walk(join(d, e.name));
    else if (e.name.endsWith('.json.gz')) files.push(join(d, e.name));
  }
};
walk(process.argv[2]);
const started = performance.now();
let records = 0;
let decrypts = 0;
for (const f of files.sort()) {
  const parsed = JSON.parse(gunzipSync(readFileSync(f)).toString('utf8'));
  for (const r of parsed.Records) {
    records++;
    if (r.eventName === 'Decrypt') decrypts++;
  }
}
const seconds = (performance.now() - started) / 1000;
console.log(JSON.stringify({ records, decrypts, seconds, perSecond: records / seconds, maxRssKb: process.resourceUsage().maxRSS }));
