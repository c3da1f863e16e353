import type { Suppression } from '../engine-config.ts';
import type { FindingRecord } from './finding.ts';

/** True when the suppression's patterns all match the finding (absent patterns match anything). */
export const suppressionMatches = (s: Suppression, f: FindingRecord): boolean =>
  s.ruleId === f.ruleId &&
  (s.principal === undefined || s.principal.test(f.principal.id) || (f.principal.arn !== undefined && s.principal.test(f.principal.arn))) &&
  (s.key === undefined || (f.key !== undefined && (s.key.test(f.key.arn) || (f.key.alias !== undefined && s.key.test(f.key.alias))))) &&
  (s.bucket === undefined || (f.s3 !== undefined && s.bucket.test(f.s3.bucket))) &&
  (s.account === undefined || (f.accountId !== undefined && s.account.test(f.accountId))) &&
  // The finding's network is the S3 request's for a call S3 made, which itself came from `AWS Internal`.
  (s.networks === undefined || s.networks.allows(f.network.vpcEndpointId, f.network.sourceIp));

/** The first active (unexpired at `nowMs`) suppression matching the finding, if any. */
export const suppressionFor = (f: FindingRecord, suppressions: readonly Suppression[], nowMs: number): Suppression | undefined =>
  suppressions.find((s) => s.expiresMs > nowMs && suppressionMatches(s, f));

/**
 * `f` as the suppressions decide it: marked with the first active one that matches (`suppressedBy`), or unmarked when
 * none does any longer. `f` itself when that changes nothing; a new record otherwise.
 */
export const withSuppression = (f: FindingRecord, suppressions: readonly Suppression[], nowMs: number): FindingRecord => {
  const s = suppressionFor(f, suppressions, nowMs);
  if (s === undefined) {
    if (f.suppressedBy === undefined) return f;
    const { suppressedBy: _, ...rest } = f;
    return rest;
  }
  return f.suppressedBy?.id === s.id && f.suppressedBy.reason === s.reason ? f : { ...f, suppressedBy: { id: s.id, reason: s.reason } };
};

/** Suppressions whose expiry has passed: reported so nobody believes they still apply. */
export const expiredSuppressions = (suppressions: readonly Suppression[], nowMs: number): Suppression[] =>
  suppressions.filter((s) => s.expiresMs <= nowMs);
