import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { newestVersion } from '../../scripts/with-node.mjs';

const SCRIPT = fileURLToPath(new URL('../../scripts/with-node.mjs', import.meta.url));

describe('npm run with-node', () => {
  it('takes the newest release of a line as npm view lists it: one version, or several in any order', () => {
    expect(newestVersion('24.22.3')).toBe('24.22.3');
    expect(newestVersion(['22.9.0', '22.23.5', '22.10.1', '22.23.4'])).toBe('22.23.5');
    expect(newestVersion(['24.0.0-rc.1', '24.0.0'])).toBe('24.0.0');
    expect(newestVersion([])).toBeUndefined();
  });

  it('says how it is used when the line or the command is missing, before fetching anything', () => {
    for (const args of [[], ['24'], ['lts', 'npm', 'test']]) {
      const run = spawnSync(process.execPath, [SCRIPT, ...args], { encoding: 'utf8' });

      expect(run.status).toBe(1);
      expect(run.stderr).toMatch(/^usage: npm run with-node -- <major version> <command>/);
    }
  });
});
