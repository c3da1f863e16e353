// Headless Chromium for the report's browser test: Debian's `chromium` package, installed when missing and this
// machine can; otherwise the reason, so the test can skip that one check with a clear message.
// `node scripts/ensure-chromium.mjs` prints the path or the reason.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ensureDebianPackages } from './debian-packages.mjs';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

/** @returns {{ path: string } | { reason: string }} */
export const ensureChromium = () => {
  const result = ensureDebianPackages({ what: 'chromium', packages: ['chromium'], found: () => CANDIDATES.find((p) => existsSync(p)) });
  return 'found' in result ? { path: result.found } : result;
};

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const result = ensureChromium();
  console.log('path' in result ? result.path : `unavailable: ${result.reason}`);
}
