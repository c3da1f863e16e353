import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { resolveKey } from '#core/events/normalize.ts';

/** The key's account as a regular expression's capture reads it: what resolveKey cuts out of a tested ARN. */
const KEY_ARN = /^arn:[^:]+:kms:[^:]*:(\d{12}):key\/[^/\s]+$/;

describe('resolveKey', () => {
  it('reads the key ARN and its account from resources or keyId as the key ARN pattern captures them (property)', () => {
    const piece = fc.constantFrom('arn:', 'aws', 'aws-cn', ':', 'kms', 'us-east-1', '', '111122223333', '1111222233334', 'key/', 'key/abc', 'alias/x', '/', ' ', 'k');
    const arnLike = fc.oneof(
      fc.array(piece, { maxLength: 9 }).map((p) => p.join('')),
      fc
        .tuple(fc.constantFrom('aws', 'aws-us-gov', 'a:b', ''), fc.constantFrom('us-east-1', '', 'eu:west'), fc.constantFrom('111122223333', '11112222333', '11112222333x', '111122223333:'), fc.constantFrom('key/1a2b', 'key/', 'key/a/b', 'key/a b', 'alias/x'))
        .map(([partition, region, account, rest]) => `arn:${partition}:kms:${region}:${account}:${rest}`),
    );
    fc.assert(
      fc.property(fc.array(arnLike, { maxLength: 3 }), fc.option(arnLike, { nil: undefined }), (resourceArns, keyId) => {
        const key = resolveKey(resourceArns.map((ARN) => ({ ARN })), keyId, 'us-east-1', undefined);
        const fromResources = resourceArns.find((arn) => KEY_ARN.test(arn));
        const expectedArn = fromResources ?? (keyId !== undefined && !keyId.startsWith('alias/') && !/^arn:[^:]+:kms:[^:]*:\d{12}:(alias\/.+)$/.test(keyId) && KEY_ARN.test(keyId) ? keyId : undefined);
        expect(key.keyArn).toBe(expectedArn);
        expect(key.keyAccountId).toBe(expectedArn === undefined ? undefined : KEY_ARN.exec(expectedArn)?.[1]);
      }),
      { numRuns: 3000 },
    );
  });
});
