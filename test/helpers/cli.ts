import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

export const REPO = join(import.meta.dirname, '..', '..');
export const KDM = join(REPO, 'dist', 'kdm.js');

export interface CliRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the built CLI as `node dist/kdm.js` does, from the repository root (`npx kdm` adds the launcher of launcher.test.ts). */
export const runKdm = (args: readonly string[], input?: string | Buffer, env?: Readonly<Record<string, string>>): CliRun => {
  const r = spawnSync(process.execPath, [KDM, ...args], { cwd: REPO, input, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...(env !== undefined ? { env: { ...process.env, ...env } } : {}) });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
};
