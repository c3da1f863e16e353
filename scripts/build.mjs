// Builds the `kdm` CLI into one ESM file, and the replay's reader thread beside it. Runs from `npm ci`
// (prepare) so `npx kdm` works in a fresh clone.
import { build } from 'esbuild';
import { chmodSync } from 'node:fs';

const common = { bundle: true, platform: 'node', target: 'node20', format: 'esm', sourcemap: true, packages: 'external', logLevel: 'warning' };

const outfile = 'dist/kdm.js';
await build({ ...common, entryPoints: ['src/cli/main.ts'], outfile, banner: { js: '#!/usr/bin/env node' } });
chmodSync(outfile, 0o755);

// The replay's reader thread (src/adapters/local/threaded-reader.ts loads it from beside dist/kdm.js).
await build({ ...common, entryPoints: ['src/adapters/local/reader-worker.ts'], outfile: 'dist/kdm-reader-worker.js' });
