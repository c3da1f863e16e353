// `npm run with-node -- <major> <command> [args...]` runs a command with another Node.js line first on PATH, to
// check the project on the lines users run from a machine that has another: the Lambda functions run on
// nodejs22.x, and Node.js 20's support ended on 2026-04-30. Node.js's own build for this platform is on the npm
// registry (node-<platform>-<arch>, what the `node` package installs); the newest release of the line is fetched
// once with `npm pack` into .cache/node-<version>/. npm itself, and what it starts, then run on that Node.js.
//   npm run with-node -- 24 npm test
//   npm run with-node -- 22 npm run bench
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The newest of `versions` (as `npm view` lists them: one string, or an array in any order). */
export const newestVersion = (versions) => {
  const list = (Array.isArray(versions) ? versions : [versions]).filter((v) => /^\d+\.\d+\.\d+$/.test(v));
  const parts = (v) => v.split('.').map(Number);
  list.sort((a, b) => {
    const [x, y] = [parts(a), parts(b)];
    return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
  });
  return list.at(-1);
};

/** The directory holding `node` of the newest release of Node.js `major`, fetched once. */
export const ensureNode = (major) => {
  if (process.platform !== 'linux' && process.platform !== 'darwin') throw new Error(`with-node fetches Node.js for Linux and macOS, not ${process.platform}`);
  const pkg = `node-${process.platform}-${process.arch}`;
  const view = spawnSync('npm', ['view', `${pkg}@${major}`, 'version', '--json'], { encoding: 'utf8' });
  const listed = view.status === 0 && view.stdout.trim() !== '' ? JSON.parse(view.stdout) : [];
  const version = newestVersion(listed);
  if (version === undefined) throw new Error(`the npm registry has no ${pkg} of Node.js ${major}${view.status === 0 ? '' : ` (npm view exited with ${view.status})`}`);
  const dir = join(root, '.cache', `node-${version}`);
  const bin = join(dir, 'bin');
  if (existsSync(join(bin, 'node'))) return bin;
  const work = mkdtempSync(join(tmpdir(), 'kdm-node-'));
  try {
    execFileSync('npm', ['pack', `${pkg}@${version}`, '--silent', '--pack-destination', work], { stdio: ['ignore', 'ignore', 'inherit'] });
    execFileSync('tar', ['xzf', join(work, `${pkg}-${version}.tgz`), '-C', work]);
    mkdirSync(dirname(dir), { recursive: true });
    rmSync(dir, { recursive: true, force: true });
    renameSync(join(work, 'package'), dir);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return bin;
};

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [major, command, ...args] = process.argv.slice(2);
  if (major === undefined || !/^\d+$/.test(major) || command === undefined) {
    process.stderr.write('usage: npm run with-node -- <major version> <command> [args...]   e.g. npm run with-node -- 24 npm test\n');
    process.exit(1);
  }
  let bin;
  try {
    bin = ensureNode(major);
  } catch (error) {
    process.stderr.write(`with-node: ${error.message}\n`);
    process.exit(1);
  }
  const version = execFileSync(join(bin, 'node'), ['--version'], { encoding: 'utf8' }).trim();
  process.stderr.write(`with-node: running ${[command, ...args].join(' ')} on Node.js ${version} (${bin})\n`);
  const run = spawnSync(command, args, { stdio: 'inherit', env: { ...process.env, PATH: `${bin}${delimiter}${process.env.PATH ?? ''}` } });
  if (run.error !== undefined) {
    process.stderr.write(`with-node: ${command}: ${run.error.message}\n`);
    process.exit(1);
  }
  process.exit(run.status ?? 1);
}
