// Regenerates infra/member-event-forwarding.json from the rules' selections (via `kdm rules member-template`).
// A test fails when the checked-in file differs from what this writes.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';

const out = process.argv[2] ?? 'infra/member-event-forwarding.json';
writeFileSync(out, execFileSync(process.execPath, ['dist/kdm.js', 'rules', 'member-template'], { encoding: 'utf8' }));
console.log(`wrote ${out}`);
