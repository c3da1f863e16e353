// Bundles each Lambda handler in functions/*.ts on its own (ESM, minified, source maps, only what it imports),
// zips it for `osls package`, and writes the EventBridge patterns derived from the rules (dist/lambda/event-patterns.json).
import { execFileSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { build } from 'esbuild';
import yazl from 'yazl';

const OUT = 'dist/lambda';
rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });

// The SDK's CommonJS pieces call require(); an ESM bundle needs one (see ../shared/docs/toolchain.md).
const banner = 'import{createRequire as __kdmRequire}from"module";const require=__kdmRequire(import.meta.url);';
const entries = readdirSync('functions').filter((f) => f.endsWith('.ts'));
const sizes = {};
for (const file of entries) {
  const name = basename(file, '.ts');
  const dir = join(OUT, name);
  const result = await build({
    metafile: true,
    entryPoints: { index: join('functions', file) },
    outdir: dir,
    outExtension: { '.js': '.mjs' },
    // Clients needed only with findings (Security Hub, STS) or log files (S3) load lazily from their own chunk.
    splitting: true,
    chunkNames: 'chunk-[hash]',
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    minify: true,
    sourcemap: true,
    mainFields: ['module', 'main'],
    // The SDK clients are bundled (tree-shaken, one file to load) rather than resolved at cold start from the
    // runtime's copy: module initialisation is faster and the deployed code runs the SDK version we tested.
    banner: { js: banner },
    logLevel: 'warning',
  });
  const zipPath = join(OUT, `${name}.zip`);
  await new Promise((resolve, reject) => {
    const zip = new yazl.ZipFile();
    // Fixed mtime: the same sources give the same zip bytes.
    for (const f of readdirSync(dir).sort()) zip.addFile(join(dir, f), f, { mtime: new Date(0) });
    // The detection configuration travels with the code (read at cold start from LAMBDA_TASK_ROOT).
    if (existsSync('kdm.config.yaml')) zip.addFile('kdm.config.yaml', 'kdm.config.yaml', { mtime: new Date(0) });
    zip.outputStream.pipe(createWriteStream(zipPath)).on('close', resolve).on('error', reject);
    zip.end();
  });
  // What loads at cold start: index.mjs and the chunks it imports statically; chunks reached only through
  // import() (Security Hub, STS, S3, the SDK's own lazy credential providers) are counted apart.
  const outputs = result.metafile.outputs;
  const atStart = new Set();
  const visit = (path) => {
    if (atStart.has(path)) return;
    atStart.add(path);
    for (const i of outputs[path]?.imports ?? []) if (i.kind === 'import-statement' && !i.external) visit(i.path);
  };
  visit(Object.keys(outputs).find((p) => p.endsWith('/index.mjs')));
  const jsBytes = Object.entries(outputs).filter(([p]) => p.endsWith('.mjs'));
  sizes[name] = {
    bundleBytes: jsBytes.filter(([p]) => atStart.has(p)).reduce((n, [, o]) => n + o.bytes, 0),
    lazyChunkBytes: jsBytes.filter(([p]) => !atStart.has(p)).reduce((n, [, o]) => n + o.bytes, 0),
    zipBytes: statSync(zipPath).size,
  };
}
const patterns = execFileSync(process.execPath, ['dist/kdm.js', 'rules', 'patterns'], { encoding: 'utf8' });
writeFileSync(join(OUT, 'event-patterns.json'), patterns);
writeFileSync(join(OUT, 'sizes.json'), `${JSON.stringify(sizes, null, 2)}\n`);
for (const [name, s] of Object.entries(sizes)) console.log(`${name}: ${s.bundleBytes} bytes bundled, ${s.zipBytes} bytes zipped`);
JSON.parse(readFileSync(join(OUT, 'event-patterns.json'), 'utf8'));
