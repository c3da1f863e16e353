// `npm run package`: bundle the functions, then `osls package` offline into .serverless/.
// Packaging makes no AWS call; osls still wants credentials to exist, so placeholders are set when none are.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Tests set KDM_SKIP_CLI_BUILD: their global setup built dist/kdm.js, which other tests run in parallel.
if (process.env.KDM_SKIP_CLI_BUILD !== '1') execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' });
execFileSync(process.execPath, ['scripts/bundle-functions.mjs'], { stdio: 'inherit' });
const env = {
  ...process.env,
  SLS_TELEMETRY_DISABLED: '1',
  SLS_NOTIFICATIONS_MODE: 'off',
  // osls writes ~/.serverlessrc and caches; keep them out of the user's home.
  HOME: process.env.KDM_PACKAGE_HOME ?? mkdtempSync(join(tmpdir(), 'kdm-osls-home-')),
  AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? 'AKIAPACKAGEONLY00000',
  AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? 'package-only-not-a-secret',
};
const args = ['package', ...process.argv.slice(2)];
execFileSync(process.execPath, [join('node_modules', 'osls', 'bin', 'serverless.js'), ...args], { stdio: 'inherit', env });
