// DynamoDB Local, AWS's own emulator, for the tests and `npm run bench:cost`.
// Its jar ships inside the npm package amplify-dynamodb-simulator; we take only that jar (the package's own
// dependencies pull in the Amplify CLI) with `npm pack` from the registry, once, into .cache/.
// `node scripts/dynamodb-local.mjs` fetches it (npm ci runs this through `prepare`).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, renameSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE = 'amplify-dynamodb-simulator@2.9.30';
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const DYNAMODB_LOCAL_DIR = join(root, '.cache', 'dynamodb-local');
const jar = join(DYNAMODB_LOCAL_DIR, 'DynamoDBLocal.jar');

/** Fetches the emulator unless it is already there. Returns its directory. */
export const ensureDynamoDbLocal = () => {
  if (existsSync(jar)) return DYNAMODB_LOCAL_DIR;
  const work = mkdtempSync(join(tmpdir(), 'kdm-ddb-local-'));
  try {
    execFileSync('npm', ['pack', PACKAGE, '--silent', '--pack-destination', work], { stdio: ['ignore', 'ignore', 'inherit'] });
    execFileSync('tar', ['xzf', join(work, 'amplify-dynamodb-simulator-2.9.30.tgz'), '-C', work, 'package/emulator']);
    mkdirSync(dirname(DYNAMODB_LOCAL_DIR), { recursive: true });
    rmSync(DYNAMODB_LOCAL_DIR, { recursive: true, force: true });
    renameSync(join(work, 'package', 'emulator'), DYNAMODB_LOCAL_DIR);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return DYNAMODB_LOCAL_DIR;
};

const freePort = () =>
  new Promise((ok, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => ok(port));
    });
  });

/** Starts an in-memory DynamoDB Local on a free loopback port; resolves once it answers. */
export const startDynamoDbLocal = async () => {
  if (!existsSync(jar)) {
    throw new Error(`DynamoDB Local is not installed at ${DYNAMODB_LOCAL_DIR}: run \`node scripts/dynamodb-local.mjs\` (npm ci does it) with access to the npm registry`);
  }
  const port = await freePort();
  const child = spawn('java', ['-Djava.library.path=./DynamoDBLocal_lib', '-jar', 'DynamoDBLocal.jar', '-inMemory', '-port', String(port)], {
    cwd: DYNAMODB_LOCAL_DIR,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise((_, fail) => child.once('exit', (code) => fail(new Error(`DynamoDB Local exited (${code}) before it was ready:\n${output}`))));
  exited.catch(() => {});
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    const ready = await Promise.race([
      fetch(endpoint, { method: 'POST' }).then(() => true, () => false),
      exited,
    ]);
    if (ready) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`DynamoDB Local did not answer on ${endpoint} within 30 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    endpoint,
    stop: () =>
      new Promise((ok) => {
        if (child.exitCode !== null) return ok();
        child.once('exit', () => ok());
        child.kill('SIGTERM');
      }),
  };
};

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    console.log(`DynamoDB Local ready in ${ensureDynamoDbLocal()}`);
  } catch (error) {
    console.warn(`could not fetch DynamoDB Local (${PACKAGE}) from the npm registry: ${error.message}`);
    console.warn('the DynamoDB tests need it; run `node scripts/dynamodb-local.mjs` once the registry is reachable');
    if (process.argv.includes('--strict')) process.exit(1);
  }
}
