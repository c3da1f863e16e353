import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The CLI tests run the built `dist/kdm.js`, exactly as `npx kdm` does; rebuild it so it matches the sources.
 *
 * Every test file, and every process a test starts, makes its scratch directories under `os.tmpdir()`: this run
 * points that (`TMPDIR`, which the test workers and their children inherit) at one directory of its own and
 * removes it at the end, so a run leaves nothing behind (it left about 230 MB in /tmp before).
 */
export default function setup(): () => void {
  execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' });
  const scratch = mkdtempSync(join(tmpdir(), 'kdm-test-run-'));
  // Others may pass through (not list): a test that runs kdm as nobody reaches a directory it made readable inside.
  chmodSync(scratch, 0o711);
  const before = process.env['TMPDIR'];
  process.env['TMPDIR'] = scratch;
  return () => {
    if (before === undefined) delete process.env['TMPDIR'];
    else process.env['TMPDIR'] = before;
    rmSync(scratch, { recursive: true, force: true });
  };
}
