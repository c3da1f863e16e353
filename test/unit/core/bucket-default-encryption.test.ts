import { describe, expect, it } from 'vitest';
import { defaultEncryptionOf } from '#core/rules/s3-bucket-default-key-changed.ts';

const KEY = 'arn:aws:kms:us-east-1:999988887777:key/3f1c0000-0000-4000-8000-0000000000ff';
const byDefault = { ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: KEY }, BucketKeyEnabled: true };

describe('defaultEncryptionOf (what a PutBucketEncryption record sets)', () => {
  it('reads CloudTrail\'s shape: one <Rule> element as an object', () => {
    expect(defaultEncryptionOf({ bucketName: 'b', ServerSideEncryptionConfiguration: { xmlns: 'http://s3.amazonaws.com/doc/2006-03-01/', Rule: byDefault } })).toEqual({ algorithm: 'aws:kms', kmsKeyId: KEY, blockedEncryptionTypes: undefined });
  });

  it('reads several <Rule> elements (a list) and the SDKs\' `Rules`, taking the first rule with an algorithm', () => {
    expect(defaultEncryptionOf({ ServerSideEncryptionConfiguration: { Rule: [{ BucketKeyEnabled: true }, byDefault] } })).toEqual({ algorithm: 'aws:kms', kmsKeyId: KEY, blockedEncryptionTypes: undefined });
    expect(defaultEncryptionOf({ ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] } })).toEqual({ algorithm: 'AES256', kmsKeyId: undefined, blockedEncryptionTypes: undefined });
  });

  it('reads the encryption types a rule blocks, one (a string) or several (a list), with or without a default', () => {
    expect(defaultEncryptionOf({ ServerSideEncryptionConfiguration: { Rule: { BlockedEncryptionTypes: { EncryptionType: 'NONE' } } } })).toEqual({ algorithm: undefined, kmsKeyId: undefined, blockedEncryptionTypes: ['NONE'] });
    expect(defaultEncryptionOf({ ServerSideEncryptionConfiguration: { Rule: { ...byDefault, BlockedEncryptionTypes: { EncryptionType: ['SSE-C', 7] } } } })).toEqual({ algorithm: 'aws:kms', kmsKeyId: KEY, blockedEncryptionTypes: ['SSE-C'] });
  });

  it('says nothing where the record does not say', () => {
    expect(defaultEncryptionOf(undefined)).toBeUndefined();
    expect(defaultEncryptionOf({ bucketName: 'b' })).toBeUndefined();
    expect(defaultEncryptionOf({ ServerSideEncryptionConfiguration: 'truncated' })).toBeUndefined();
    expect(defaultEncryptionOf({ ServerSideEncryptionConfiguration: { Rule: null } })).toBeUndefined();
    expect(defaultEncryptionOf({ ServerSideEncryptionConfiguration: { Rule: { ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 5, KMSMasterKeyID: KEY } } } })).toBeUndefined();
  });
});
