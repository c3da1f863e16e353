// Bundles each Lambda handler in functions/*.ts on its own (ESM, minified, source maps, only what it imports),
// zips it for `osls package`, and writes the EventBridge patterns derived from the rules (dist/lambda/event-patterns.json).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, relative, sep } from 'node:path';
import { build } from 'esbuild';
import yazl from 'yazl';

// KDM_LAMBDA_OUT: somewhere else (a test that runs the bundles while another packages them into dist/lambda).
const OUT = process.env.KDM_LAMBDA_OUT ?? 'dist/lambda';
rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });

// The SDK's CommonJS pieces call require(); an ESM bundle needs one (see ../shared/docs/toolchain.md).
const banner = 'import{createRequire as __kdmRequire}from"module";const require=__kdmRequire(import.meta.url);';
const options = {
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'esm',
  minify: true,
  // Lines of at most about 500 characters: a crash of a bundle run by hand (`node dist/lambda/<function>/index.mjs`) prints its
  // source line, which minified into one line was the whole 125 KB bundle.
  lineLimit: 500,
  sourcemap: true,
  sourcesContent: false,
  mainFields: ['module', 'main'],
  // The SDK clients are bundled (tree-shaken, one file to load) rather than resolved at cold start from the
  // runtime's copy: module initialisation is faster and the deployed code runs the SDK version we tested.
  banner: { js: banner },
  logLevel: 'warning',
};

/**
 * What loads at cold start is one file, index.mjs: everything the handler imports statically, tree-shaken as one
 * whole. Whatever is reached only through `import()` (Security Hub, STS, S3, KMS, the YAML parser, the SDK's own
 * lazy credential providers) is a file of its own, `lazy-<hash>.mjs`, built the same way from that import's target,
 * so that it loads on first use. esbuild's code splitting did this with shared chunks instead, and then every
 * module that a lazy client shares with the handler went into a chunk loaded at cold start whether the handler
 * used it or not: 15 files and 381–388 KiB, where one file is 321–328 KiB and initialises in 0.81–0.84x the time.
 * A lazy file holds its own copy of what it shares with the handler (the SDK's core, a few helpers), so nothing may
 * rely on one module instance across the two: a client and the commands sent through it come from one lazy file
 * (functions/shared/lazy-*.ts), and the handlers tell errors apart by their fields (code, retryable, failures), not
 * by class. A lazy target is built once, however many functions or files import it.
 */
/**
 * An SDK client imports its whole package.json (2.4 KB of the DynamoDB client's, with its scripts and dependency
 * lists) to read one field, its version for the user agent. Bundled, it keeps its name and version alone.
 */
const clientVersionOnly = {
  name: 'client-version-only',
  setup(b) {
    b.onLoad({ filter: /[\\/]node_modules[\\/]@aws-sdk[\\/]client-[^\\/]+[\\/]package\.json$/ }, (args) => {
      const { name, version } = JSON.parse(readFileSync(args.path, 'utf8'));
      return { contents: JSON.stringify({ name, version }), loader: 'json' };
    });
  },
};

const lazyImports = new Map(); // lazy file -> the lazy files it imports in turn, once it is built
const LAZY_DIR = join(OUT, '.lazy');
mkdirSync(LAZY_DIR, { recursive: true });
/** Builds `entry` into `outfile`, and every lazy file it reaches not built yet; returns the lazy files it imports. */
const buildWithLazyFiles = async (entry, outfile) => {
  const imports = new Set();
  const pending = [];
  const plugin = {
    name: 'lazy-files',
    setup(b) {
      b.onResolve({ filter: /.*/ }, async (args) => {
        if (args.kind !== 'dynamic-import' || args.pluginData === 'resolving') return undefined;
        const target = await b.resolve(args.path, { kind: 'import-statement', resolveDir: args.resolveDir, importer: args.importer, pluginData: 'resolving' });
        if (target.errors.length > 0) return { errors: target.errors };
        if (target.external) return { path: args.path, external: true }; // node:* modules
        const file = `lazy-${createHash('sha256').update(relative(process.cwd(), target.path).split(sep).join('/')).digest('hex').slice(0, 10)}.mjs`;
        imports.add(file);
        if (!lazyImports.has(file)) {
          lazyImports.set(file, new Set());
          pending.push([target.path, file]);
        }
        return { path: `./${file}`, external: true };
      });
    },
  };
  await build({ ...options, entryPoints: [entry], outfile, plugins: [plugin, clientVersionOnly] });
  for (const [path, file] of pending) lazyImports.set(file, (await buildWithLazyFiles(path, join(LAZY_DIR, file))).imports);
  return { imports, bytes: statSync(outfile).size };
};

const entries = readdirSync('functions').filter((f) => f.endsWith('.ts'));
const sizes = {};
for (const file of entries) {
  const name = basename(file, '.ts');
  const dir = join(OUT, name);
  mkdirSync(dir, { recursive: true });
  const main = await buildWithLazyFiles(join('functions', file), join(dir, 'index.mjs'));
  // The lazy files this function can reach, and what they reach in turn.
  const reached = new Set();
  const reach = (f) => {
    if (reached.has(f)) return;
    reached.add(f);
    for (const next of lazyImports.get(f) ?? []) reach(next);
  };
  for (const f of main.imports) reach(f);
  let lazyBytes = 0;
  for (const f of [...reached].sort()) {
    copyFileSync(join(LAZY_DIR, f), join(dir, f));
    copyFileSync(join(LAZY_DIR, `${f}.map`), join(dir, `${f}.map`));
    lazyBytes += statSync(join(dir, f)).size;
  }
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
  // What loads at cold start is index.mjs alone; the lazy files are counted apart.
  sizes[name] = { bundleBytes: main.bytes, lazyChunkBytes: lazyBytes, zipBytes: statSync(zipPath).size };
}
rmSync(LAZY_DIR, { recursive: true, force: true });
const patterns = execFileSync(process.execPath, ['dist/kdm.js', 'rules', 'patterns'], { encoding: 'utf8' });
writeFileSync(join(OUT, 'event-patterns.json'), patterns);
writeFileSync(join(OUT, 'sizes.json'), `${JSON.stringify(sizes, null, 2)}\n`);
for (const [name, s] of Object.entries(sizes)) console.log(`${name}: ${s.bundleBytes} bytes bundled, ${s.zipBytes} bytes zipped`);
JSON.parse(readFileSync(join(OUT, 'event-patterns.json'), 'utf8'));
