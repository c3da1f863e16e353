import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assumedRoleSessionName, foldAssumedRoleArn, normalizePrincipal } from '#core/events/principal.ts';

describe('assumedRoleSessionName', () => {
  it('reads the session name an assumed-role ARN ends with', () => {
    expect(assumedRoleSessionName('arn:aws:sts::111122223333:assumed-role/FinanceAnalyst/bob@example.com')).toBe('bob@example.com');
    expect(assumedRoleSessionName('arn:aws:sts::111122223333:assumed-role/path/Role/s')).toBe('s');
    expect(assumedRoleSessionName('arn:aws:sts::111122223333:assumed-role/Role')).toBeUndefined();
    expect(assumedRoleSessionName('arn:aws:iam::111122223333:role/Role')).toBeUndefined();
  });

  it('gives what foldAssumedRoleArn gives as the session name, on ARNs and near-ARNs (property)', () => {
    const piece = fc.constantFrom('arn:', 'aws', 'aws-cn', ':', 'sts', '::', '111122223333', '12345', ':assumed-role/', 'assumed-role/', '/', 'Role', 's', '', '\n', '\u2028');
    const text = fc.oneof(fc.array(piece, { maxLength: 10 }).map((p) => p.join('')), fc.string({ maxLength: 40 }));
    const shaped = fc
      .tuple(fc.constantFrom('aws', 'aws-cn', 'a:b', ''), fc.constantFrom('111122223333', '1111222233', 'x11122223333'), fc.array(fc.constantFrom('Role', 'p', '/', '', '\n', 'a/b', ':assumed-role/'), { maxLength: 4 }))
      .map(([partition, account, rest]) => `arn:${partition}:sts::${account}:assumed-role/${rest.join('')}`);
    fc.assert(
      fc.property(fc.oneof(text, shaped), (arn) => {
        expect(assumedRoleSessionName(arn)).toBe(foldAssumedRoleArn(arn)?.sessionName);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('normalizePrincipal, an assumed role', () => {
  const arn = 'arn:aws:sts::111122223333:assumed-role/FinanceAnalyst/bob';
  const identity = { type: 'AssumedRole', arn, accountId: '111122223333', principalId: 'AROAEXAMPLE:bob' };

  it('names the role its session issuer names, and the session the ARN ends with', () => {
    const issuer = { type: 'Role', arn: 'arn:aws:iam::111122223333:role/team/FinanceAnalyst', accountId: '111122223333' };
    expect(normalizePrincipal({ ...identity, sessionContext: { sessionIssuer: issuer } })).toMatchObject({ id: issuer.arn, arn, sessionName: 'bob' });
  });

  it('folds the role and the session out of the ARN when no issuer is logged', () => {
    expect(normalizePrincipal(identity)).toMatchObject({ id: 'arn:aws:iam::111122223333:role/FinanceAnalyst', arn, sessionName: 'bob' });
  });

  it('takes the session from the principal id when the ARN has none', () => {
    expect(normalizePrincipal({ ...identity, arn: 'arn:aws:sts::111122223333:assumed-role/FinanceAnalyst' })).toMatchObject({ sessionName: 'bob' });
    expect(normalizePrincipal({ ...identity, arn: undefined })).toMatchObject({ id: 'assumed-role:111122223333:AROAEXAMPLE', sessionName: 'bob' });
  });
});

describe('normalizePrincipal, an AWS service event', () => {
  // As AWS's documentation shows a KMS key rotated automatically (eventType AwsServiceEvent): no type, no ARN.
  const rotation = { accountId: '111122223333', invokedBy: 'AWS Internal' };

  it('names AWS, as the record does, and not an unknown caller', () => {
    expect(normalizePrincipal(rotation)).toMatchObject({ type: 'AWSService', id: 'AWS Internal', isAwsService: true, accountId: '111122223333' });
  });

  it('stays unknown where the identity names a caller otherwise, or names nothing', () => {
    expect(normalizePrincipal({ ...rotation, principalId: 'AIDAEXAMPLE' })).toMatchObject({ type: 'Unknown', id: 'unknown:AIDAEXAMPLE', isAwsService: false });
    expect(normalizePrincipal({ ...rotation, arn: 'arn:aws:iam::111122223333:user/Alice' })).toMatchObject({ type: 'Unknown', isAwsService: false });
    expect(normalizePrincipal({ accountId: '111122223333' })).toMatchObject({ type: 'Unknown', id: 'unknown:unknown' });
    expect(normalizePrincipal({ ...rotation, type: 'SAMLUser' })).toMatchObject({ type: 'Unknown', isAwsService: false });
  });
});
