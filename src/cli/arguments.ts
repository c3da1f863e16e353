import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '#core/errors.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * `parseArgs` for one kdm command (`command`: "replay", "rules list"...), strict, with what the user typed wrong
 * told in kdm's words: Node's own messages name no command and, for an unknown option, explain how to pass a
 * positional argument starting with a dash ("Unknown option '--sumary'. To specify a positional argument...").
 */
export const parseCommandArgs = <const T extends { readonly options: Options; readonly allowPositionals?: boolean }>(command: string, argv: readonly string[], config: T) => {
  try {
    return parseArgs({ ...config, args: [...argv], strict: true });
  } catch (error) {
    if (!(error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) throw error;
    // Asked for help, a command gives it whatever else the line holds, as those that look for --help first do.
    if (Object.hasOwn(config.options, 'help') && (argv.includes('--help') || argv.includes('-h'))) return parseArgs({ ...config, args: ['--help'], strict: true });
    const problem = describeArgumentProblem(command, argv, config.options, config.allowPositionals === true) ?? (error as Error).message;
    throw new UsageError(`${problem} (kdm ${command} --help lists the options)`, { cause: error });
  }
};

/** What is wrong with `argv`, found in its tokens rather than in the text of Node's message; undefined when none is found. */
export const describeArgumentProblem = (command: string, argv: readonly string[], options: Options, allowPositionals: boolean): string | undefined => {
  const { tokens } = parseArgs({ args: [...argv], options, strict: false, allowPositionals: true, tokens: true });
  for (const token of tokens) {
    if (token.kind === 'positional') {
      if (!allowPositionals) return `${command} takes no argument "${token.value}"`;
      continue;
    }
    if (token.kind !== 'option') continue;
    // Own names only: `--constructor` is no option, whatever an object's prototype holds.
    const option = Object.hasOwn(options, token.name) ? options[token.name] : undefined;
    if (option === undefined) {
      const near = nearestOption(token.rawName, options);
      return `unknown option ${token.rawName} for kdm ${command}${near === undefined ? '' : `: did you mean ${near}?`}`;
    }
    if (option.type === 'boolean' && token.value !== undefined) return `${token.rawName} takes no value (got "${token.value}")`;
    if (option.type === 'string') {
      if (token.value === undefined) return `${token.rawName} needs a value`;
      // `--db --threads 2`: the next option taken as the value. `--db=-x` is a value starting with a dash on purpose.
      if (!token.inlineValue && token.value.startsWith('-') && token.value !== '-') {
        return `${token.rawName} needs a value, and got the option ${token.value}: a value that starts with a dash is written ${token.rawName}=${token.value}`;
      }
    }
  }
  return undefined;
};

/**
 * The values of an option that may be repeated or comma-separated (`--group-by principal --group-by day` is
 * `--group-by principal,day`), each once, in the order first given.
 */
export const listOptionValues = (given: readonly string[] | undefined): string[] =>
  [...new Set((given ?? []).flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== ''))];

/** `--<option>`'s value as a positive whole number (`--limit`), or undefined when not given. */
export const positiveWholeNumber = (option: string, text: string | undefined): number | undefined => {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${option} must be a positive whole number (got "${text}")`);
  return n;
};

/** Names other tools give options kdm names otherwise, and kdm's name for each (where the command has it). */
const OTHER_TOOLS_NAMES: Readonly<Record<string, string>> = { since: 'from', until: 'to', start: 'from', end: 'to', output: 'out', severity: 'fail-on' };

/** The option the user most likely meant by `rawName`: another tool's name for it, one edit or two away, or the only one it begins. */
const nearestOption = (rawName: string, options: Options): string | undefined => {
  const typed = rawName.replace(/^-+/, '');
  const names = Object.keys(options);
  const renamed = Object.hasOwn(OTHER_TOOLS_NAMES, typed) ? OTHER_TOOLS_NAMES[typed] : undefined;
  if (renamed !== undefined && names.includes(renamed)) return `--${renamed}`;
  let best: { name: string; distance: number } | undefined;
  for (const name of names) {
    const distance = editDistance(typed, name);
    if (distance <= Math.min(2, Math.floor(name.length / 3)) && (best === undefined || distance < best.distance)) best = { name, distance };
  }
  if (best !== undefined) return `--${best.name}`;
  const begun = typed.length >= 2 ? names.filter((name) => name.startsWith(typed)) : [];
  return begun.length === 1 ? `--${begun[0]}` : undefined;
};

/** Levenshtein distance: insertions, deletions and substitutions. */
export const editDistance = (a: string, b: string): number => {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length] as number;
};
