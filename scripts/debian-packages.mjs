// Tools some tests need that npm does not carry, from Debian's packages: installed when missing and this machine
// can (root with apt-get, Debian's mirrors reachable); otherwise the reason, so that the test skips that one check
// and says why.
import { execFileSync, spawnSync } from 'node:child_process';

/**
 * `found()` when it finds the tool, else after installing `packages` with apt-get.
 * @template T
 * @param {{ what: string, packages: readonly string[], found: () => T | undefined }} tool
 * @returns {{ found: T } | { reason: string }}
 */
export const ensureDebianPackages = ({ what, packages, found }) => {
  const present = found();
  if (present !== undefined) return { found: present };
  const command = `apt-get install ${packages.join(' ')}`;
  if (process.getuid?.() !== 0) return { reason: `${what} is not installed and installing it needs root (${command})` };
  if (spawnSync('apt-get', ['--version']).status !== 0) return { reason: `${what} is not installed and this machine has no apt-get` };
  try {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'ignore', env, timeout: 180_000 });
    execFileSync('apt-get', ['install', '-y', '-qq', ...packages], { stdio: 'ignore', env, timeout: 300_000 });
  } catch (error) {
    return { reason: `installing ${what} with ${command} failed: ${error.message}` };
  }
  const installed = found();
  return installed !== undefined ? { found: installed } : { reason: `${command} finished but ${what} was still not found` };
};
