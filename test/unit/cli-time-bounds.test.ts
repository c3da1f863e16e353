import { describe, expect, it } from 'vitest';
import { parseTimeWindow } from '../../src/cli/time-bounds.ts';

describe('parseTimeWindow: --from, --to, --learn-from and --delivery-lag', () => {
  it('gives a window with --to a delivery lag of a day unless told, none with any, and none without --to', () => {
    expect(parseTimeWindow(undefined, '2026-10-09')).toMatchObject({ toMs: Date.parse('2026-10-09T23:59:59.999Z'), deliveryLagMs: 86_400_000, deliveryLagText: '1d' });
    expect(parseTimeWindow('2026-10-08', '2026-10-09', undefined, '36h')).toMatchObject({ deliveryLagMs: 36 * 3_600_000, deliveryLagText: '36h' });
    expect(parseTimeWindow('2026-10-08', '2026-10-09', undefined, '0s')).toMatchObject({ deliveryLagMs: 0 });
    const any = parseTimeWindow('2026-10-08', '2026-10-09', undefined, 'any');
    expect(any).toMatchObject({ toMs: Date.parse('2026-10-09T23:59:59.999Z') });
    expect(any !== undefined && 'deliveryLagMs' in any).toBe(false);
    const open = parseTimeWindow('2026-10-08', undefined);
    expect(open !== undefined && 'deliveryLagMs' in open).toBe(false);
  });

  it('refuses a --delivery-lag without --to, or that is no duration', () => {
    expect(() => parseTimeWindow('2026-10-08', undefined, undefined, '2d')).toThrow('--delivery-lag needs --to');
    expect(() => parseTimeWindow(undefined, undefined, undefined, '2d')).toThrow('--delivery-lag needs --to');
    for (const bad of ['soon', '-1d', '2 days', '']) expect(() => parseTimeWindow(undefined, '2026-10-09', undefined, bad)).toThrow(`--delivery-lag must be a duration such as 6h or 2d, or any to read every file after --to (got "${bad}")`);
  });
});
