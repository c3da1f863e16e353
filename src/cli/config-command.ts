import { loadConfigFile } from '../config/load-config.ts';
import { counted } from '#core/counted.ts';
import { UsageError } from '#core/errors.ts';
import { ALL_RULES } from '#core/rules/registry.ts';
import { compileConfig } from '#core/config.ts';
import { expiredSuppressions } from '#core/findings/suppress.ts';
import { expiredSuppressionWarning } from './format-summary.ts';

export const CONFIG_HELP = `kdm config validate <file> — check a configuration file as a replay would load it

Exits 0 and counts what the file configures when it is valid, 1 with each problem's file, line, column and
field when it is not. Suppressions past their expiry are told on stderr: they no longer apply.
Every section is shown in kdm.config.example.yaml.`;

/** `kdm config validate <file>`: exits 0 when valid; otherwise the problems, with file, line and field. */
export const configCommand = (argv: readonly string[]): number => {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${CONFIG_HELP}\n`);
    return 0;
  }
  const [sub, file, ...extra] = argv;
  if (sub !== 'validate' || file === undefined || extra.length > 0) throw new UsageError('usage: kdm config validate <file> (kdm config --help)');
  const loaded = loadConfigFile(file, ALL_RULES.map((r) => r.id));
  const c = loaded?.config ?? {};
  process.stdout.write(
    `${file}: valid (${counted((c.keys ?? []).length, 'key')}, ${counted((c.buckets ?? []).length, 'bucket')}, ${counted(Object.keys(c.rules ?? {}).length, 'rule override')}, ${counted((c.suppressions ?? []).length, 'suppression')})\n`,
  );
  // Valid, but no longer applying: told here too, so a check in CI catches it before a replay's findings change.
  for (const s of expiredSuppressions(compileConfig(c).suppressions, Date.now())) {
    process.stderr.write(expiredSuppressionWarning(s));
  }
  return 0;
};
