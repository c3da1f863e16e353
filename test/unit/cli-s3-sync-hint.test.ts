import { describe, expect, it } from 'vitest';
import { s3SyncCommand } from '../../src/cli/s3-sync-hint.ts';
import { parseTimeWindow } from '../../src/cli/time-bounds.ts';

const URL = 's3://trail/AWSLogs/111122223333/CloudTrail/';
const EDGE_MS = 60_000;
const includesOf = (command: string): string[] => [...command.matchAll(/--include '([^']+)'/g)].map((m) => m[1] ?? '');

describe('s3SyncCommand: the aws s3 sync an S3 URL given to a replay is answered with', () => {
  it('copies everything without a window, or with a window open at either end', () => {
    for (const window of [undefined, parseTimeWindow('2026-10-01', undefined), parseTimeWindow(undefined, '2026-10-01')]) {
      expect(s3SyncCommand(URL, window, EDGE_MS)).toBe(`aws s3 sync ${URL} ./logs`);
    }
  });

  it('copies, for a window, the days a trail delivered its records in: its own, and the day after for late deliveries', () => {
    const command = s3SyncCommand(URL, parseTimeWindow('2026-10-08T06:00:00Z', '2026-10-09'), EDGE_MS);

    expect(command).toMatch(new RegExp(`^aws s3 sync ${URL} \\./logs --exclude '\\*' --include `));
    expect(includesOf(command)).toEqual(['*/2026/10/08/*', '*/2026/10/09/*', '*/2026/10/10/*']);
  });

  it('adds the files delivered in the minute before midnight when the window begins at it, for the S3 requests its edge lends', () => {
    expect(includesOf(s3SyncCommand(URL, parseTimeWindow('2026-10-08', '2026-10-08'), EDGE_MS))).toEqual(['*/2026/10/07/*_20261007T2359Z_*', '*/2026/10/08/*', '*/2026/10/09/*']);
    expect(includesOf(s3SyncCommand(URL, parseTimeWindow('2026-10-08T00:00:30Z', '2026-10-08'), 2 * EDGE_MS))).toEqual(['*/2026/10/07/*_20261007T2358Z_*', '*/2026/10/07/*_20261007T2359Z_*', '*/2026/10/08/*', '*/2026/10/09/*']);
  });

  it('copies to the day the window\'s --delivery-lag ends, and everything with any', () => {
    expect(includesOf(s3SyncCommand(URL, parseTimeWindow('2026-10-08', '2026-10-09', undefined, '3d'), EDGE_MS))).toEqual(['*/2026/10/07/*_20261007T2359Z_*', '*/2026/10/08/*', '*/2026/10/09/*', '*/2026/10/10/*', '*/2026/10/11/*', '*/2026/10/12/*']);
    expect(includesOf(s3SyncCommand(URL, parseTimeWindow('2026-10-08T06:00:00Z', '2026-10-09T10:00:00Z', undefined, '6h'), EDGE_MS))).toEqual(['*/2026/10/08/*', '*/2026/10/09/*']);
    expect(s3SyncCommand(URL, parseTimeWindow('2026-10-08', '2026-10-09', undefined, 'any'), EDGE_MS)).toBe(`aws s3 sync ${URL} ./logs`);
  });

  it('begins at --learn-from when given', () => {
    expect(includesOf(s3SyncCommand(URL, parseTimeWindow('2026-10-08T12:00:00Z', '2026-10-08T13:00:00Z', '2026-10-07T12:00:00Z'), EDGE_MS))).toEqual(['*/2026/10/07/*', '*/2026/10/08/*', '*/2026/10/09/*']);
  });

  it('names no days for a window of more than 62, whose list would help nobody', () => {
    expect(s3SyncCommand(URL, parseTimeWindow('2026-01-01', '2026-03-31'), EDGE_MS)).toBe(`aws s3 sync ${URL} ./logs`);
    expect(includesOf(s3SyncCommand(URL, parseTimeWindow('2026-01-01T12:00:00Z', '2026-03-02'), EDGE_MS))).toHaveLength(62);
  });
});
