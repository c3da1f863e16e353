import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from '../helpers/cli.ts';

const cfnLint = spawnSync('cfn-lint', ['--version'], { encoding: 'utf8' });
const hasCfnLint = cfnLint.status === 0;
const templates = readdirSync(join(REPO, 'infra')).filter((f) => /\.ya?ml$|\.json$/.test(f));

describe('infra/ templates', () => {
  it('has templates to check', () => {
    expect(templates.length).toBeGreaterThan(0);
  });

  it.skipIf(!hasCfnLint).each(templates)('%s passes cfn-lint', (file) => {
    const run = spawnSync('cfn-lint', ['--format', 'parseable', join(REPO, 'infra', file)], { encoding: 'utf8' });

    expect(run.stdout + run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

  it.runIf(!hasCfnLint)('says clearly that cfn-lint is missing (only this check is skipped)', () => {
    console.warn('cfn-lint is not installed on this machine: the cfn-lint checks of infra/ were skipped');
  });
});
