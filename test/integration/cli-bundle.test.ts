import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KDM } from '../helpers/cli.ts';

// The built CLI loads DuckDB, the AWS SDK and the YAML parser only for the commands that use them: together they
// took `kdm --help` from 0.19 to 0.58 s and 63 to 100 MB, and every replay carried them. The rules' test cases,
// likewise, only for `kdm rules`. These tests read the module graph esbuild wrote (dist/kdm.js and its chunks), as
// Node will load it.

/** `import ... from "x"` and `import "x"` at the top of an esbuild ESM file; `import("x")` is not one of them. */
const STATIC_IMPORT = /^import(?!\s*\()(?:[^;"]*?\bfrom)?\s*"([^"]+)";?$/gm;
const DYNAMIC_IMPORT = /\bimport\(\s*"([^"]+)"\s*\)/g;
/** `require("x")` in CommonJS bundled into a chunk (DuckDB's API, for its bindings): made when the chunk loads. */
const BUNDLED_REQUIRE = /\b(?:__)?require\(\s*"([^"]+)"\s*\)/g;

const specifiers = (file: string, pattern: RegExp): string[] => [...readFileSync(file, 'utf8').matchAll(pattern)].map((m) => m[1] as string);

/** The bundle's own files `entry` loads before its code runs: itself and its static imports, theirs, and so on. */
const loadedWith = (entry: string): string[] => {
  const files = [entry];
  for (let i = 0; i < files.length; i++) {
    const file = files[i] as string;
    for (const s of specifiers(file, STATIC_IMPORT)) {
      const next = join(dirname(file), s);
      if (s.startsWith('./') && !files.includes(next)) files.push(next);
    }
  }
  return files;
};

const packageOf = (specifier: string): string => (specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : (specifier.split('/')[0] as string));

/** The packages `entry` loads before its code runs (Node's own modules aside), imported or required by bundled CommonJS. */
const packagesLoadedWith = (entry: string): Set<string> =>
  new Set(
    loadedWith(entry).flatMap((file) =>
      [...specifiers(file, STATIC_IMPORT), ...specifiers(file, BUNDLED_REQUIRE)].filter((s) => !s.startsWith('./') && !s.startsWith('node:') && !s.startsWith('.')).map(packageOf),
    ),
  );

/** The chunks loaded on demand (`import("./kdm-...")`) from `entry` or from chunks it loads so, by the module that made each. */
const lazyChunks = (entry: string): Map<string, string> => {
  const out = new Map<string, string>();
  const pending = [entry];
  for (let i = 0; i < pending.length; i++) {
    for (const file of loadedWith(pending[i] as string)) {
      for (const s of specifiers(file, DYNAMIC_IMPORT)) {
        const chunk = join(dirname(file), s);
        if (!s.startsWith('./') || pending.includes(chunk)) continue;
        out.set(s.replace(/^\.\/kdm-(.+)-[A-Z0-9]{8}\.js$/, '$1'), chunk);
        pending.push(chunk);
      }
    }
  }
  return out;
};

describe('the built CLI', () => {
  it('starts without DuckDB, the AWS SDK or the YAML parser', () => {
    const loaded = [...packagesLoadedWith(KDM)];

    expect(loaded.filter((p) => p.startsWith('@aws-sdk/') || p.startsWith('@smithy/') || p.startsWith('@duckdb/') || p === 'yaml')).toEqual([]);
  });

  it('loads each of them with the command that needs it', () => {
    const chunks = lazyChunks(KDM);
    const loads = (name: string): Set<string> => {
      const chunk = chunks.get(name);
      expect(chunk, `a chunk for ${name} (have ${[...chunks.keys()].join(', ')})`).toBeDefined();
      return packagesLoadedWith(chunk as string);
    };

    // DuckDB's API is bundled into the database's chunk (scripts/build.mjs), which requires its native bindings.
    expect(loads('ledger-database')).toContain('@duckdb/node-bindings');
    expect(loads('publish')).toContain('@aws-sdk/client-securityhub');
    expect(loads('publish')).toContain('@aws-sdk/client-eventbridge');
    expect(loads('load-config')).toContain('yaml');
  });

  it('builds the rules\' test cases only for `kdm rules`, not as every command starts', () => {
    // The catalogue calls each rule's cases as it loads (thousands of events): 40 ms of every start, `--version` too.
    const atStart = loadedWith(KDM).map((file) => readFileSync(file, 'utf8')).join('\n');
    expect(atStart).not.toContain('// src/core/rules/catalogue.ts');
    const rules = lazyChunks(KDM).get('rules-command');
    expect(rules, 'a chunk for the rules command').toBeDefined();
    expect(loadedWith(rules as string).map((file) => readFileSync(file, 'utf8')).join('\n')).toContain('// src/core/rules/catalogue.ts');
  });
});
