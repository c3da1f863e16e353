// Headless Chromium for the report's browser test: Debian's `chromium` package. Installs it when missing and
// this machine can (root with apt-get, Debian's mirrors reachable); otherwise says why, so the test can skip
// that one check with a clear message. `node scripts/ensure-chromium.mjs` prints the path or the reason.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

/** @returns {{ path: string } | { reason: string }} */
export const ensureChromium = () => {
  const found = CANDIDATES.find((p) => existsSync(p));
  if (found !== undefined) return { path: found };
  if (process.getuid?.() !== 0) return { reason: 'chromium is not installed and installing it needs root (apt-get install chromium)' };
  if (spawnSync('apt-get', ['--version']).status !== 0) return { reason: 'chromium is not installed and this machine has no apt-get' };
  try {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'ignore', env, timeout: 180_000 });
    execFileSync('apt-get', ['install', '-y', '-qq', 'chromium'], { stdio: 'ignore', env, timeout: 300_000 });
  } catch (error) {
    return { reason: `installing chromium with apt-get failed: ${error.message}` };
  }
  const installed = CANDIDATES.find((p) => existsSync(p));
  return installed !== undefined ? { path: installed } : { reason: 'apt-get install chromium finished but no chromium binary was found' };
};

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const result = ensureChromium();
  console.log('path' in result ? result.path : `unavailable: ${result.reason}`);
}
