import { describe, expect, it } from 'vitest';
import { findingsToPublish } from '#adapters/lambda/handlers.ts';
import type { FindingRecord } from '#core/findings/finding.ts';

const NOW = Date.UTC(2026, 11, 2, 12);
const HOLD = 5 * 60_000;
const URGENT: ReadonlySet<string> = new Set(['HIGH', 'CRITICAL']);

const finding = (i: number, o: { severity?: string; ageMs?: number; suppressed?: boolean } = {}): FindingRecord =>
  ({
    kind: 'finding',
    id: `f${i}`,
    severity: o.severity ?? 'MEDIUM',
    createdAtMs: NOW - (o.ageMs ?? 0),
    updatedAtMs: NOW - (o.ageMs ?? 0) + i,
    ...(o.suppressed === true ? { suppressedBy: 'known-scanner' } : {}),
  }) as unknown as FindingRecord;
const choose = (waiting: readonly FindingRecord[], force = false) => findingsToPublish(waiting, { force, nowMs: NOW, holdMs: HOLD, urgentSeverities: URGENT }).map((f) => f.id);

describe('which waiting findings a Lambda invocation publishes', () => {
  it('holds fewer than a full call of new, non-urgent findings, even at the scheduled flush', () => {
    const waiting = Array.from({ length: 40 }, (_, i) => finding(i));

    expect(choose(waiting)).toEqual([]);
    expect(choose(waiting, true)).toEqual([]);
  });

  it('sends whole calls of 100, oldest first, and keeps the remainder for the next', () => {
    const waiting = Array.from({ length: 250 }, (_, i) => finding(249 - i));

    const sent = choose(waiting);

    expect(sent).toHaveLength(200);
    expect(sent.slice(0, 2)).toEqual(['f0', 'f1']);
    expect(sent).not.toContain('f200');
  });

  it('at the flush, sends what has waited the hold, with the younger ones only if they fill a call', () => {
    const waiting = [finding(1, { ageMs: HOLD }), finding(2, { ageMs: HOLD + 60_000 }), finding(3, { ageMs: 60_000 })];

    expect(choose(waiting, true).sort()).toEqual(['f1', 'f2']);
    expect(choose(waiting, false)).toEqual([]);
  });

  it('at the flush, sends the update of a finding found long ago, whatever its place in the outbox', () => {
    const updated = { ...finding(9, { ageMs: 60_000 }), createdAtMs: NOW - 3 * HOLD } as FindingRecord;

    expect(choose([finding(1, { ageMs: 120_000 }), updated], true)).toEqual(['f9']);
  });

  it('sends everything at once when an unsuppressed HIGH or CRITICAL finding waits', () => {
    expect(choose([finding(1), finding(2, { severity: 'HIGH' })]).sort()).toEqual(['f1', 'f2']);
    expect(choose([finding(1), finding(2, { severity: 'CRITICAL', suppressed: true })])).toEqual([]);
  });
});
