import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const filesUnder = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));

const importsOf = (source: string): string[] => [...source.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s*['"]([^'"]+)['"]/g)].map((m) => m[1] as string);

describe('architecture', () => {
  const coreFiles = filesUnder(join(ROOT, 'src', 'core'));

  it.each(coreFiles.map((f) => [relative(ROOT, f), f]))('%s imports only core modules', (_name, file) => {
    const imports = importsOf(readFileSync(file, 'utf8'));

    for (const spec of imports) expect(spec, `${spec} in ${file}`).toMatch(/^\.\.?\//);
  });

  it.each(coreFiles.map((f) => [relative(ROOT, f), f]))('%s reads no clock, randomness, environment or console', (_name, file) => {
    const code = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');

    expect(code).not.toMatch(/Date\.now\(|new Date\(\)|Math\.random\(|process\.|console\.|require\(/);
  });

  it('keeps the app layer free of SDKs and IO', () => {
    for (const file of filesUnder(join(ROOT, 'src', 'app'))) {
      for (const spec of importsOf(readFileSync(file, 'utf8'))) expect(spec, file).toMatch(/^(#core\/|\.\.?\/)/);
    }
  });
});
