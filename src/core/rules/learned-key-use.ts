import type { RuleContext } from './define-rule.ts';

/**
 * Whether an account had been using a key (its KMS calls in this trail, the caller's copy of a cross-account call
 * among them) for a learning period before `atMs`: an arrangement kdm has learned, as a key account of the
 * organization is. Only a key ARN has a baseline; an alias ARN, which KMS's records never name, stays unlearned.
 * A rule that asks this of a key the engine does not plan for its event plans it with `keyBaselinesRead`.
 */
export const accountUsedKeyForLearningPeriod = (keyArn: string, account: string, atMs: number, ctx: RuleContext): boolean => {
  const since = ctx.keyBaseline(keyArn)?.accounts[account];
  return since !== undefined && atMs >= since + ctx.learningPeriodMs;
};

/**
 * Whether a key, past its learning period, has never been used by this principal: kms-unusual-principal's finding.
 * A rule that judges something else of the same call (its bucket, its client) leaves such a call to that rule, so
 * that one call makes one finding.
 */
export const isPrincipalNewToLearnedKey = (keyArn: string, principalId: string, atMs: number, ctx: RuleContext): boolean => {
  const baseline = ctx.keyBaseline(keyArn);
  return baseline !== undefined && !ctx.isLearning(keyArn, atMs) && !Object.prototype.hasOwnProperty.call(baseline.principals, principalId);
};
