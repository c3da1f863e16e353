import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { inspect } from 'node:util';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { REPO } from '../../helpers/cli.ts';

// The Lambda bundles are minified (scripts/bundle-functions.mjs): a class's own name there is whatever the minifier
// chose, and an error logged by a function was named `gc`. Every error class of the modules below must name
// itself, so this bundles them as the functions are bundled and constructs each one.
const MODULES = ['src/core/errors.ts', 'src/adapters/aws/dynamodb-state-store.ts', 'src/adapters/local/transfer-codec.ts'];

describe('error classes in a minified bundle', () => {
  it('keep their own names', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kdm-error-names-'));
    try {
      const outfile = join(dir, 'errors.mjs');
      await build({
        stdin: { contents: MODULES.map((m) => `export * from ${JSON.stringify(join(REPO, m))};`).join('\n'), resolveDir: REPO, loader: 'ts' },
        outfile,
        bundle: true,
        minify: true,
        platform: 'node',
        format: 'esm',
        target: 'node22',
        packages: 'external',
        logLevel: 'silent',
      });
      const exported = (await import(pathToFileURL(outfile).href)) as Record<string, unknown>;
      const errorClasses = Object.entries(exported).filter((e): e is [string, new (...args: never[]) => Error] => typeof e[1] === 'function' && e[1].prototype instanceof Error);

      // Whatever its constructor takes, an instance made with placeholder arguments has its name set.
      const named = errorClasses.map(([exportName, ErrorClass]) => {
        const args = ['file.json', [], 'a message'] as unknown as never[];
        return [exportName, new ErrorClass(...args).name];
      });

      expect(errorClasses.length).toBeGreaterThanOrEqual(10);
      for (const [exportName, name] of named) expect(name, exportName).toBe(exportName);
      // The class keeps its name too, so Node prints a crash as `ConfigError: …`, not `Ge [ConfigError]: …`.
      for (const [exportName, ErrorClass] of errorClasses) {
        expect(ErrorClass.name, exportName).toBe(exportName);
        expect(inspect(new ErrorClass(...(['file.json', [], 'a message'] as unknown as never[]))).split('\n')[0], exportName).toMatch(new RegExp(`^${exportName}: `));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
