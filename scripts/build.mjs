// Builds the `kdm` CLI (dist/kdm.js and the modules it loads when a command needs them) and the replay's
// reader thread beside it. Runs from `npm ci` (prepare) so `npx kdm` works in a fresh clone.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';

const OUT = 'dist';
const common = { bundle: true, platform: 'node', target: 'node20', format: 'esm', sourcemap: true, packages: 'external', logLevel: 'warning' };

mkdirSync(OUT, { recursive: true });
// Chunks of an earlier build: their names end in a hash of their content.
const CHUNK = /^kdm-.+-[A-Z0-9]{8}\.js(\.map)?$/;
for (const name of readdirSync(OUT, { withFileTypes: true }).filter((e) => e.isFile() && CHUNK.test(e.name))) rmSync(join(OUT, name.name));

// Split at the CLI's dynamic imports: DuckDB (--db, history, report) and the AWS SDK (--publish, history from
// DynamoDB) load only for the commands that use them.
//
// DuckDB's JavaScript API (@duckdb/node-api, 124 CommonJS files) is bundled into its chunk, its native bindings left
// to load from node_modules: loading it file by file took about 120 ms of each command that opens a database.
const BUNDLED_PACKAGES = new Set(['@duckdb/node-api']);
const packageName = (specifier) => (specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]);
const externalButBundled = {
  name: 'external-but-bundled',
  setup(b) {
    // Packages stay external, but those above: bare specifiers, not the entry point, a path, node: or the package's own #imports.
    b.onResolve({ filter: /^[^./#]/ }, (args) =>
      args.kind === 'entry-point' || isAbsolute(args.path) || args.path.startsWith('node:') || BUNDLED_PACKAGES.has(packageName(args.path)) ? undefined : { path: args.path, external: true },
    );
  },
};
// The bundled CommonJS calls require(), which an ES module has not: one made for each file.
const REQUIRE_BANNER = 'import{createRequire as __kdmRequire}from"node:module";const require=__kdmRequire(import.meta.url);';
await build({
  ...common, packages: undefined, plugins: [externalButBundled], banner: { js: REQUIRE_BANNER },
  entryPoints: { kdm: 'src/cli/main.ts' }, outdir: OUT, splitting: true, chunkNames: 'kdm-[name]-[hash]',
});

/**
 * `npx kdm` (and dist/kdm.js run as a program) starts in sh, which sets glibc's malloc options and then runs the
 * same file with node; to node the second line is a string and a comment. glibc reads these only when a process
 * starts, so node cannot set them for itself. Two arenas instead of up to 8 per core, and a fixed mmap threshold of
 * 1 MiB (glibc otherwise raises it to the largest block freed, up to 32 MiB, and blocks that size then come from
 * the arenas and stay there). Over 1M records with the ledger 266-272 MB against 295-304 (node dist/kdm.js), over
 * 5M 288-305 against 325-342, for 4-21% more time at 5M (docs/performance.md, 2026-12-03). 128 KiB as the
 * threshold held as little but faulted every file's buffers in afresh (4-7 s more system time at 5M). A value
 * already in the environment, even an empty one, is kept; other C libraries ignore both. `node dist/kdm.js`
 * skips the launcher and starts with glibc's own settings; a replay then gives itself the same through the native
 * reader's addon (src/adapters/local/native-records.ts, tuneMallocLikeTheLauncher).
 *
 * It also gives node a young generation of 16 MB semi-spaces (`--max-semi-space-size`, read only when V8 sets up the
 * heap), what Node.js 20 and 22 choose by themselves; Node.js 24 chooses 64 MB, with which a 1M-record replay peaked
 * at 390-401 MB against 302-316 with 16 (src/cli/heap-growth.ts, ENGINE_SEMI_SPACE_MB, whose value the launcher's
 * test checks this one against). A size given in NODE_OPTIONS is kept.
 */
const ENGINE_SEMI_SPACE_MB = 16;
const LAUNCHER = `#!/bin/sh
':' //; export MALLOC_ARENA_MAX="\${MALLOC_ARENA_MAX-2}" MALLOC_MMAP_THRESHOLD_="\${MALLOC_MMAP_THRESHOLD_-1048576}"; case "$NODE_OPTIONS" in *--max[-_]semi[-_]space[-_]size*) exec node "$0" "$@";; esac; exec node --max-semi-space-size=${ENGINE_SEMI_SPACE_MB} "$0" "$@"
`;
const entry = join(OUT, 'kdm.js');
const [hashbang, ...code] = readFileSync(entry, 'utf8').split('\n');
if (hashbang !== '#!/usr/bin/env node') throw new Error(`${entry} should start with main.ts's hashbang, not ${JSON.stringify(hashbang)}`);
writeFileSync(entry, LAUNCHER + code.join('\n'));
chmodSync(entry, 0o755);
// The source map's lines follow: one generated line more at the top (the hashbang's line maps to nothing either).
const map = JSON.parse(readFileSync(`${entry}.map`, 'utf8'));
writeFileSync(`${entry}.map`, JSON.stringify({ ...map, mappings: `;${map.mappings}` }));

// The replay's reader thread (src/adapters/local/threaded-reader.ts loads it from beside dist/kdm.js), whole.
await build({ ...common, entryPoints: ['src/adapters/local/reader-worker.ts'], outfile: join(OUT, 'kdm-reader-worker.js') });

/**
 * The readers' native fast path (native/records.cc, src/adapters/local/native-records.ts), built with node-gyp
 * against this Node.js's own headers and copied beside the reader. Where it cannot be built (no C++ compiler, no
 * headers), the build says so and goes on: the readers then read in JavaScript, with the same results, slower.
 * make rebuilds only what changed, so a build after the first takes a moment.
 */
const NATIVE = 'native';
const ADDON = join(NATIVE, 'build', 'Release', 'kdm_records.node');
const nodeGyp = process.env.npm_config_node_gyp ?? join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
// Headers beside this node (as Debian's and the official builds install them), so node-gyp never downloads them.
const headers = join(dirname(process.execPath), '..');
const nodedir = process.env.npm_config_nodedir ?? (existsSync(join(headers, 'include', 'node', 'node_api.h')) ? headers : undefined);
const gyp = (...args) =>
  spawnSync(process.execPath, [nodeGyp, ...args, ...(nodedir !== undefined ? [`--nodedir=${nodedir}`] : []), '--loglevel=error'], { cwd: NATIVE, encoding: 'utf8' });
const configured = existsSync(join(NATIVE, 'build', 'Makefile')) || existsSync(join(NATIVE, 'build', 'config.gypi'));
let built = existsSync(nodeGyp) ? (configured ? { status: 0 } : gyp('configure')) : undefined;
if (built?.status === 0) built = gyp('build');
// A configuration from an earlier build (another compiler, another Node.js) is made again once before giving up.
if (built !== undefined && built.status !== 0 && configured) {
  built = gyp('configure');
  if (built.status === 0) built = gyp('build');
}
rmSync(join(OUT, 'kdm_records.node'), { force: true });
if (built?.status === 0 && existsSync(ADDON)) copyFileSync(ADDON, join(OUT, 'kdm_records.node'));
else {
  // node-gyp ends with lines about itself (its stack, version, cwd): the lines that say what failed come before them.
  const output = `${built?.stdout ?? ''}\n${built?.stderr ?? ''}\n${String(built?.error ?? '')}`.split('\n').map((line) => line.trim());
  const failed = output.filter((line) => /error|not found|no such/i.test(line) && !/^gyp ERR! (?:stack at|System|command|cwd|node -v|node-gyp -v|not ok)/.test(line)).slice(0, 3);
  const why = built === undefined ? `node-gyp is not at ${nodeGyp}` : failed.length > 0 ? failed.join(' / ') : 'node-gyp failed';
  console.warn(`kdm build: the native reader was not built (${why}; node-gyp needs a C++17 compiler, make and Python 3). Replays read in JavaScript, with the same results, slower.`);
}
