import { describe, expect, it } from 'vitest';
import { runRuleCase } from '#core/rules/run-cases.ts';
import { policyLetsAccountIn, policyOpening, rule } from '#core/rules/kms-key-lifecycle.ts';
import { kmsEvent } from '#core/testing/builders.ts';

const allow = (principal: unknown) => ({ Effect: 'Allow', Principal: principal, Action: 'kms:*', Resource: '*' });
const policyOf = (...statements: unknown[]): string => JSON.stringify({ Version: '2012-10-17', Statement: statements });

describe('policyLetsAccountIn', () => {
  it('is true for an Allow naming the account, a principal of it, or "*"', () => {
    expect(policyLetsAccountIn(policyOf(allow({ AWS: 'arn:aws:iam::111122223333:root' })), '111122223333')).toBe(true);
    expect(policyLetsAccountIn(policyOf(allow({ AWS: ['arn:aws:iam::999988887777:root', 'arn:aws:iam::111122223333:role/KeyAdmin'] })), '111122223333')).toBe(true);
    expect(policyLetsAccountIn(policyOf(allow({ AWS: '111122223333' })), '111122223333')).toBe(true);
    expect(policyLetsAccountIn(policyOf(allow('*')), '111122223333')).toBe(true);
  });

  it('is false for a policy that only denies, or allows only other accounts and services', () => {
    expect(policyLetsAccountIn(policyOf({ Effect: 'Deny', Principal: '*', Action: 'kms:*', Resource: '*' }), '111122223333')).toBe(false);
    expect(policyLetsAccountIn(policyOf(allow({ AWS: 'arn:aws:iam::999988887777:root' }), allow({ Service: 'logs.amazonaws.com' })), '111122223333')).toBe(false);
    expect(policyLetsAccountIn(JSON.stringify({ Statement: allow({ AWS: 'arn:aws:iam::999988887777:role/x' }) }), '111122223333')).toBe(false);
  });

  it('is undefined for text that is not a policy', () => {
    for (const text of [undefined, '', '{not json', 'null', '7']) expect(policyLetsAccountIn(text, '111122223333')).toBeUndefined();
  });
});

describe('policyOpening', () => {
  it('reads no opening in text that is not a policy, JSON or not, and never throws', () => {
    for (const text of [undefined, '', '{not json', 'null', '7', '"x"', '[]']) expect(policyOpening(text, '111122223333')).toBeUndefined();
  });
});

describe('kms-key-lifecycle on a key policy set with the lockout safety check bypassed', () => {
  const reasonOf = (policy: string, bypass: boolean): string | undefined =>
    runRuleCase(rule, { name: 'x', events: [kmsEvent({ eventName: 'PutKeyPolicy', requestParameters: { policy, bypassPolicyLockoutSafetyCheck: bypass } })], expectFindings: 1 }).findings[0]?.reason;

  it('says the owner is locked out when the policy lets no principal of its account in, and names another account it opens the key to', () => {
    expect(reasonOf(policyOf(allow({ AWS: 'arn:aws:iam::999988887777:root' })), true)).toMatch(
      /: it skipped KMS's lockout safety check, and the policy lets no principal of account 111122223333 in: nobody there can use or manage the key any more; a statement allows account 999988887777\.$/,
    );
  });

  it('says the policy may leave the key unmanageable when it still lets the owner in', () => {
    expect(reasonOf(policyOf(allow({ AWS: 'arn:aws:iam::111122223333:role/KeyAdmin' })), true)).toMatch(/: it skipped KMS's lockout safety check, so the policy may leave the key unmanageable\.$/);
    expect(reasonOf(policyOf(allow({ AWS: 'arn:aws:iam::111122223333:role/KeyAdmin' })), false)).toBeUndefined();
  });
});
