import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KDM } from '../helpers/cli.ts';

// The built CLI loads DuckDB, the AWS SDK and the YAML parser only for the commands that use them: together they
// took `kdm --help` from 0.19 to 0.58 s and 63 to 100 MB, and every replay carried them. These tests read the
// module graph esbuild wrote (dist/kdm.js and its chunks), as Node will load it.

/** `import ... from "x"` and `import "x"` at the top of an esbuild ESM file; `import("x")` is not one of them. */
const STATIC_IMPORT = /^import(?!\s*\()(?:[^;"]*?\bfrom)?\s*"([^"]+)";?$/gm;
const DYNAMIC_IMPORT = /\bimport\(\s*"([^"]+)"\s*\)/g;

const specifiers = (file: string, pattern: RegExp): string[] => [...readFileSync(file, 'utf8').matchAll(pattern)].map((m) => m[1] as string);

/** The packages a file loads before its code runs: its static imports, and theirs, through the bundle's own chunks. */
const packagesLoadedWith = (entry: string): Set<string> => {
  const packages = new Set<string>();
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const s of specifiers(file, STATIC_IMPORT)) {
      if (s.startsWith('./')) visit(join(dirname(file), s));
      else if (!s.startsWith('node:')) packages.add(s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : (s.split('/')[0] as string));
    }
  };
  visit(entry);
  return packages;
};

/** The chunks the file loads on demand (`import("./kdm-...")`), by the module that made each one. */
const lazyChunks = (entry: string): Map<string, string> => {
  const out = new Map<string, string>();
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const s of specifiers(file, STATIC_IMPORT)) if (s.startsWith('./')) visit(join(dirname(file), s));
    for (const s of specifiers(file, DYNAMIC_IMPORT)) {
      if (!s.startsWith('./')) continue;
      const chunk = join(dirname(file), s);
      out.set(s.replace(/^\.\/kdm-(.+)-[A-Z0-9]{8}\.js$/, '$1'), chunk);
      visit(chunk);
    }
  };
  visit(entry);
  return out;
};

describe('the built CLI', () => {
  it('starts without DuckDB, the AWS SDK or the YAML parser', () => {
    const loaded = [...packagesLoadedWith(KDM)];

    expect(loaded.filter((p) => p.startsWith('@aws-sdk/') || p.startsWith('@smithy/') || p === '@duckdb/node-api' || p === 'yaml')).toEqual([]);
  });

  it('loads each of them with the command that needs it', () => {
    const chunks = lazyChunks(KDM);
    const loads = (name: string): Set<string> => {
      const chunk = chunks.get(name);
      expect(chunk, `a chunk for ${name} (have ${[...chunks.keys()].join(', ')})`).toBeDefined();
      return packagesLoadedWith(chunk as string);
    };

    expect(loads('ledger-database')).toContain('@duckdb/node-api');
    expect(loads('publish')).toContain('@aws-sdk/client-securityhub');
    expect(loads('publish')).toContain('@aws-sdk/client-eventbridge');
    expect(loads('load-config')).toContain('yaml');
  });
});
