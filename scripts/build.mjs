// Builds the `kdm` CLI (dist/kdm.js and the modules it loads when a command needs them) and the replay's
// reader thread beside it. Runs from `npm ci` (prepare) so `npx kdm` works in a fresh clone.
import { build } from 'esbuild';
import { chmodSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const OUT = 'dist';
const common = { bundle: true, platform: 'node', target: 'node20', format: 'esm', sourcemap: true, packages: 'external', logLevel: 'warning' };

mkdirSync(OUT, { recursive: true });
// Chunks of an earlier build: their names end in a hash of their content.
const CHUNK = /^kdm-.+-[A-Z0-9]{8}\.js(\.map)?$/;
for (const name of readdirSync(OUT, { withFileTypes: true }).filter((e) => e.isFile() && CHUNK.test(e.name))) rmSync(join(OUT, name.name));

// Split at the CLI's dynamic imports: DuckDB (--db, history, report) and the AWS SDK (--publish, history from
// DynamoDB) load only for the commands that use them. main.ts starts with the hashbang `npx kdm` needs.
await build({ ...common, entryPoints: { kdm: 'src/cli/main.ts' }, outdir: OUT, splitting: true, chunkNames: 'kdm-[name]-[hash]' });
chmodSync(join(OUT, 'kdm.js'), 0o755);

// The replay's reader thread (src/adapters/local/threaded-reader.ts loads it from beside dist/kdm.js), whole.
await build({ ...common, entryPoints: ['src/adapters/local/reader-worker.ts'], outfile: join(OUT, 'kdm-reader-worker.js') });
