import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { replayedFileName } from '../../src/adapters/local/replayed-files.ts';

describe('the name a replayed file is known by in the database', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kdm-replayed-'));

  it('hashes an export, telling each piece read, and knows a CloudTrail log file by its name without reading it', async () => {
    const bytes = Buffer.alloc(3 * 1024 * 1024 + 5, '{"Records":[]}\n');
    const exportFile = join(dir, 'events.jsonl');
    writeFileSync(exportFile, bytes);
    const pieces: number[] = [];

    const known = await replayedFileName(exportFile, (n) => pieces.push(n));

    expect(known).toEqual({ name: `events.jsonl sha256:${createHash('sha256').update(bytes).digest('hex')}`, by: 'contents' });
    expect(pieces.length).toBeGreaterThan(1);
    expect(pieces.reduce((a, b) => a + b, 0)).toBe(bytes.length);

    const logFile = join(dir, '111122223333_CloudTrail_us-east-1_20261001T0905Z_a1b2c3d4e5f6a7b8.json.gz');
    writeFileSync(logFile, 'not read');
    const told: number[] = [];
    expect(await replayedFileName(logFile, (n) => told.push(n))).toEqual({ name: '111122223333_CloudTrail_us-east-1_20261001T0905Z_a1b2c3d4e5f6a7b8.json.gz', by: 'name and size' });
    expect(told).toEqual([]);
  });
});
