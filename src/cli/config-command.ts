import { loadConfigFile } from '../config/load-config.ts';
import { counted } from '#core/counted.ts';
import { UsageError } from '#core/errors.ts';
import { ALL_RULES } from '#core/rules/registry.ts';
import { compileConfig } from '#core/config.ts';
import { expiredSuppressions } from '#core/findings/suppress.ts';
import { expiredSuppressionWarning } from './format-summary.ts';

/** `kdm config validate <file>`: exits 0 when valid; otherwise the problems, with file, line and field. */
export const configCommand = (argv: readonly string[]): number => {
  const [sub, file, ...extra] = argv;
  if (sub !== 'validate' || file === undefined || extra.length > 0) throw new UsageError('usage: kdm config validate <file>');
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
