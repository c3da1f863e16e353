import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const REPO = join(import.meta.dirname, '..', '..');
const compare = (args: readonly string[]) => spawnSync(process.execPath, [join(REPO, 'bench', 'compare.mjs'), ...args], { cwd: REPO, encoding: 'utf8' });
const inGitCheckout = spawnSync('git', ['rev-parse', '--verify', '--quiet', 'HEAD'], { cwd: REPO }).status === 0;

describe('npm run bench:compare', () => {
  // Two worktrees of HEAD, not HEAD against the working tree: building the working tree rewrites dist/, which the
  // other test files run at the same time.
  it.runIf(inGitCheckout)('builds two revisions in worktrees, alternates their replays and finds the same output', () => {
    const head = spawnSync('git', ['rev-parse', '--short=7', 'HEAD'], { cwd: REPO, encoding: 'utf8' }).stdout.trim();
    const run = compare([head, '--against', 'HEAD', '--records', '2000', '--runs', '1']);

    expect(run.stderr).toContain(`building ${head} …`);
    expect(run.stderr).toContain(`building HEAD (${head}) …`);
    // Each run with the time it waited for its database (the mark the replay leaves, read in the measured process).
    expect(run.stderr).toMatch(/round 1 {2}A .* s CPU .* MB +\d+\.\d\d s database\n/);
    expect(run.stderr).toMatch(/round 1 {2}B .* s CPU .* MB +\d+\.\d\d s database\n/);
    expect(run.status).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('2,000 records, with the ledger, 1 alternating round(s)');
    // A revision named by its commit id is labelled once; a name, with the commit it named.
    expect(lines[2]).toMatch(new RegExp(`^A ${head}\\s+\\d+\\.\\d\\d s\\s+\\d+\\.\\d s\\s+\\d+ MB$`));
    expect(lines[3]).toMatch(new RegExp(`^B HEAD \\(${head}\\)\\s+`));
    expect(lines[4]).toMatch(/^B \/ A \(medians\)\s+\d\.\d{3}x\s+\d\.\d{3}x\s+\d\.\d{3}x$/);
    expect(lines[5]).toMatch(/^B \/ A by round\s+\d\.\d{3} \(median \d\.\d{3}x\) \(wall time\)$/);
    expect(lines[6]).toMatch(/too few rounds for a 90% interval/);
    expect(lines[7]).toMatch(/^database time\s+A \d+\.\d\d s, B \d+\.\d\d s \(B \/ A of the medians \d\.\d{3}x\)$/);
    expect(lines[8]).toMatch(/^B \/ A by round\s+\d\.\d{3} \(median \d\.\d{3}x\) \(database time\)$/);
    expect(lines[9]).toMatch(/too few rounds for a 90% interval/);
    expect(lines[10]).toMatch(/^same output/);
    // Its worktrees are gone.
    expect(spawnSync('git', ['worktree', 'list', '--porcelain'], { cwd: REPO, encoding: 'utf8' }).stdout).not.toMatch(/kdm-compare-/);
  });

  it.runIf(!inGitCheckout)('says clearly that it needs a git checkout (only this check is skipped)', () => {
    console.warn('not a git checkout: the bench:compare run was skipped');
  });

  it('refuses what it cannot compare, naming why', () => {
    const unknown = compare(['no-such-revision-anywhere', '--records', '2000']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/"no-such-revision-anywhere" is not a commit of this repository/);
    expect(unknown.stderr).toMatch(/^usage: npm run bench:compare/m);

    expect(compare([]).stderr).toMatch(/name one git revision/);
    expect(compare(['HEAD', '--runs', 'two']).stderr).toMatch(/--runs must be a whole number of at least 1, not "two"/);
    expect(compare(['HEAD', '--days', '0']).stderr).toMatch(/--days must be a whole number of at least 1, not "0"/);
    expect(compare(['HEAD', '--rounds', '2']).stderr).toMatch(/bench:compare: Unknown option '--rounds'/);
    expect(compare(['HEAD', '--instructions', '--no-ledger']).stderr).toMatch(/--engine and --instructions run with the ledger accumulator, and without a database: --no-ledger does not apply/);
  });
});
