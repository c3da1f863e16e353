import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { InputFile } from '#adapters/local/cloudtrail-files.ts';
import { readerYoungGenerationMb, typicalFileBytes } from '#adapters/local/threaded-reader.ts';

const MiB = 1024 * 1024;

describe("a reader thread's young generation", () => {
  it('grows with the typical file, so a file of records fits in it', () => {
    expect(readerYoungGenerationMb(0)).toBe(6);
    expect(readerYoungGenerationMb(300 * 1024)).toBe(6);
    expect(readerYoungGenerationMb(1.35 * MiB)).toBe(16);
    expect(readerYoungGenerationMb(3.4 * MiB)).toBe(32);
    expect(readerYoungGenerationMb(500 * MiB)).toBe(32);
  });
});

describe('typicalFileBytes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kdm-sizes-'));
  const file = (name: string, content: Buffer): InputFile => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return { path, bytes: statSync(path).size };
  };
  const json = (bytes: number): Buffer => Buffer.from(`{"Records":[${' '.repeat(bytes - 14)}]}`);

  it("reads a gzip file's decompressed size from its trailer, and a plain file's from its size", () => {
    const gz = file('a.json.gz', gzipSync(json(200_000)));
    expect(gz.bytes).toBeLessThan(10_000);
    expect(typicalFileBytes([gz])).toBe(200_000);
    expect(typicalFileBytes([file('b.json', json(5_000))])).toBe(5_000);
  });

  it('takes the median, so a few large files do not decide for many small ones', () => {
    const small = Array.from({ length: 5 }, (_, i) => file(`s${i}.json.gz`, gzipSync(json(1_000 + i))));
    const large = Array.from({ length: 2 }, (_, i) => file(`l${i}.json.gz`, gzipSync(json(8 * MiB))));
    expect(typicalFileBytes([...small, ...large])).toBe(1_003);
  });

  it('leaves out what it cannot read and gives 0 when nothing is left', () => {
    const gone: InputFile = { path: join(dir, 'missing.json.gz'), bytes: 100 };
    expect(typicalFileBytes([gone, file('c.json.gz', gzipSync(json(42_000)))])).toBe(42_000);
    expect(typicalFileBytes([gone, { path: '-', bytes: 0 }])).toBe(0);
    expect(typicalFileBytes([])).toBe(0);
  });
});
