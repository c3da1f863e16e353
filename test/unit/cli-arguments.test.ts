import { describe, expect, it } from 'vitest';
import { describeArgumentProblem, editDistance, listOptionValues, parseCommandArgs, positiveWholeNumber } from '../../src/cli/arguments.ts';
import { UsageError } from '../../src/core/errors.ts';

const OPTIONS = {
  summary: { type: 'string', default: 'table' },
  db: { type: 'string' },
  'dry-run': { type: 'boolean' },
  threads: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const problem = (argv: string[], allowPositionals = true): string | undefined => describeArgumentProblem('replay', argv, OPTIONS, allowPositionals);

describe('parseCommandArgs', () => {
  it('returns what parseArgs returns for arguments it takes', () => {
    const { values, positionals } = parseCommandArgs('replay', ['logs/', '--db', 'x.duckdb', '--dry-run', '-h'], { options: OPTIONS, allowPositionals: true });

    expect(values).toEqual({ summary: 'table', db: 'x.duckdb', 'dry-run': true, help: true });
    expect(positionals).toEqual(['logs/']);
  });

  it('throws a UsageError naming the command, with the problem and where the options are listed', () => {
    let thrown: unknown;
    try {
      parseCommandArgs('replay', ['logs/', '--sumary', 'json'], { options: OPTIONS, allowPositionals: true });
    } catch (error) {
      thrown = error;
    }

    expect(thrown).toBeInstanceOf(UsageError);
    expect((thrown as Error).message).toBe('unknown option --sumary for kdm replay: did you mean --summary? (kdm replay --help lists the options)');
    expect(((thrown as Error).cause as { code?: string }).code).toBe('ERR_PARSE_ARGS_UNKNOWN_OPTION');
  });
});

describe('describeArgumentProblem', () => {
  it('suggests the option one or two edits away, or the only one the typed name begins', () => {
    expect(problem(['--sumary'])).toBe('unknown option --sumary for kdm replay: did you mean --summary?');
    expect(problem(['--threds', '2'])).toBe('unknown option --threds for kdm replay: did you mean --threads?');
    expect(problem(['--dryrun'])).toBe('unknown option --dryrun for kdm replay: did you mean --dry-run?');
    expect(problem(['--thr', '2'])).toBe('unknown option --thr for kdm replay: did you mean --threads?');
  });

  it('suggests kdm\'s name for an option other tools name otherwise, where the command has it', () => {
    const history = { from: { type: 'string' }, to: { type: 'string' }, out: { type: 'string' } } as const;

    expect(describeArgumentProblem('history', ['--since', '2026-10-01'], history, false)).toBe('unknown option --since for kdm history: did you mean --from?');
    expect(describeArgumentProblem('history', ['--until', '2026-10-02'], history, false)).toBe('unknown option --until for kdm history: did you mean --to?');
    expect(describeArgumentProblem('history', ['--output', 'x.csv'], history, false)).toBe('unknown option --output for kdm history: did you mean --out?');
    expect(problem(['--since', '2026-10-01'])).toBe('unknown option --since for kdm replay');
  });

  it('suggests nothing when no option is near, or when several begin with what was typed', () => {
    expect(problem(['--bogus'])).toBe('unknown option --bogus for kdm replay');
    // Two edits from "db", but that is all of it: no suggestion for a short name so far off.
    expect(problem(['--xy'])).toBe('unknown option --xy for kdm replay');
    expect(problem(['-q'])).toBe('unknown option -q for kdm replay');
    expect(problem(['--constructor'])).toBe('unknown option --constructor for kdm replay');
    expect(problem(['--toString'])).toBe('unknown option --toString for kdm replay');
    expect(describeArgumentProblem('x', ['--d'], { db: { type: 'string' }, 'dry-run': { type: 'boolean' } }, true)).toBe('unknown option --d for kdm x');
  });

  it('tells a string option with no value, and one that took the next option as its value', () => {
    expect(problem(['logs/', '--db'])).toBe('--db needs a value');
    expect(problem(['--db', '--threads', '2'])).toBe('--db needs a value, and got the option --threads: a value that starts with a dash is written --db=--threads');
  });

  it('accepts a dash alone and an inline value that starts with a dash', () => {
    expect(problem(['--db', '-'])).toBeUndefined();
    expect(problem(['--db=-odd-name.duckdb'])).toBeUndefined();
  });

  it('tells a flag given a value', () => {
    expect(problem(['--dry-run=yes'])).toBe('--dry-run takes no value (got "yes")');
  });

  it('tells an argument a command without positionals does not take, and lets one after -- through where they are taken', () => {
    expect(problem(['extra'], false)).toBe('replay takes no argument "extra"');
    expect(problem(['--', '--summary'])).toBeUndefined();
  });
});

describe('editDistance', () => {
  it('counts insertions, deletions and substitutions', () => {
    expect(editDistance('summary', 'summary')).toBe(0);
    expect(editDistance('sumary', 'summary')).toBe(1);
    expect(editDistance('smumary', 'summary')).toBe(2);
    expect(editDistance('', 'db')).toBe(2);
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });
});

describe('the values of list and number options', () => {
  it('takes a list option repeated or comma-separated, each value once, in the order first given', () => {
    expect(listOptionValues(['principal,day', ' rule ', 'day', ','])).toEqual(['principal', 'day', 'rule']);
    expect(listOptionValues(undefined)).toEqual([]);
  });

  it('takes a positive whole number, and says what it got otherwise', () => {
    expect(positiveWholeNumber('limit', '25')).toBe(25);
    expect(positiveWholeNumber('limit', undefined)).toBeUndefined();
    for (const text of ['0', '-3', '2.5', 'ten', '']) expect(() => positiveWholeNumber('limit', text)).toThrow(`--limit must be a positive whole number (got "${text}")`);
  });
});
