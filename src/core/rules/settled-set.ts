import { PRINCIPAL_ENTRY_LIMIT } from '../state.ts';
import type { RuleContext } from './define-rule.ts';
import { byFirstSeen, earliestFirstSeen } from './wording.ts';

/** A first-seen map a principal has settled into: its members, oldest first, and when it began to be learned. */
export interface SettledSet {
  readonly members: readonly string[];
  readonly sinceMs: number;
}

/**
 * One of a principal baseline's first-seen maps (the buckets it works with, the clients it calls from) as a set that
 * a new member leaves, or undefined where nothing can be left: while the map is learned (a learning period from its
 * first member), when it is empty, and when it holds more than `threshold` members (a principal that works with many
 * has no narrow set; a full map, at `PRINCIPAL_ENTRY_LIMIT`, has stopped learning).
 */
export const settledSetOf = (record: Readonly<Record<string, number>>, atMs: number, threshold: number, ctx: RuleContext): SettledSet | undefined => {
  const members = byFirstSeen(record);
  const sinceMs = earliestFirstSeen(record);
  if (members.length === 0 || members.length > Math.min(threshold, PRINCIPAL_ENTRY_LIMIT - 1) || atMs < sinceMs + ctx.learningPeriodMs) return undefined;
  return { members, sinceMs };
};
