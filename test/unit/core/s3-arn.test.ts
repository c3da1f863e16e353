import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseS3Arn, s3ServiceOfArn } from '#core/events/s3-arn.ts';

/**
 * The definition parseS3Arn reads in place: an S3 ARN's prefix, or a directory, table or vector bucket's up to its
 * name, removed by a regular expression, then split at the first slash.
 */
const byRegex = (arn: string): { bucket: string; objectKey?: string } => {
  const path = arn.replace(/^arn:[^:]+:(?:s3:::|(?:s3express|s3tables|s3vectors):[^:]*:[^:]*:bucket\/)/, '');
  const slash = path.indexOf('/');
  return slash === -1 ? { bucket: path } : { bucket: path.slice(0, slash), objectKey: path.slice(slash + 1) };
};

describe('parseS3Arn', () => {
  it('splits an object ARN into bucket and key, keeping the key\'s slashes', () => {
    expect(parseS3Arn('arn:aws:s3:::reports/finance/2026/q1.pdf')).toEqual({ bucket: 'reports', objectKey: 'finance/2026/q1.pdf' });
    expect(parseS3Arn('arn:aws-cn:s3:::b/k')).toEqual({ bucket: 'b', objectKey: 'k' });
  });

  it('reads a bucket ARN (an S3 Bucket Key context) as a bucket alone', () => {
    expect(parseS3Arn('arn:aws:s3:::archive')).toEqual({ bucket: 'archive' });
  });

  it('reads a directory bucket\'s ARN (S3 Express One Zone) as its name, and an object\'s in one as name and key', () => {
    expect(parseS3Arn('arn:aws:s3express:us-west-2:111122223333:bucket/trades--usw2-az1--x-s3')).toEqual({ bucket: 'trades--usw2-az1--x-s3' });
    expect(parseS3Arn('arn:aws:s3express:us-west-2:111122223333:bucket/trades--usw2-az1--x-s3/2026/q1.csv')).toEqual({
      bucket: 'trades--usw2-az1--x-s3',
      objectKey: '2026/q1.csv',
    });
    expect(s3ServiceOfArn('arn:aws:s3express:us-west-2:111122223333:bucket/trades--usw2-az1--x-s3')).toBe('s3express');
    expect(s3ServiceOfArn('arn:aws:s3:::trades')).toBe('s3');
  });

  it('reads a table\'s ARN (S3 Tables, the aws:s3:arn of its KMS calls) as its table bucket\'s name and the table', () => {
    expect(parseS3Arn('arn:aws:s3tables:us-east-1:111122223333:bucket/analytics/table/8f1c2a3b-0000-4000-8000-000000000001')).toEqual({
      bucket: 'analytics',
      objectKey: 'table/8f1c2a3b-0000-4000-8000-000000000001',
    });
    expect(parseS3Arn('arn:aws:s3tables:us-east-1:111122223333:bucket/analytics')).toEqual({ bucket: 'analytics' });
    expect(s3ServiceOfArn('arn:aws:s3tables:us-east-1:111122223333:bucket/analytics')).toBe('s3tables');
  });

  it('reads a vector bucket\'s ARN (S3 Vectors) as its name, and an index\'s as the bucket\'s name and the index', () => {
    expect(parseS3Arn('arn:aws:s3vectors:us-east-1:111122223333:bucket/embeddings')).toEqual({ bucket: 'embeddings' });
    expect(parseS3Arn('arn:aws:s3vectors:us-east-1:111122223333:bucket/embeddings/index/docs')).toEqual({ bucket: 'embeddings', objectKey: 'index/docs' });
    expect(s3ServiceOfArn('arn:aws:s3vectors:us-east-1:111122223333:bucket/embeddings')).toBe('s3vectors');
    expect(s3ServiceOfArn('arn:aws:kms:us-east-1:111122223333:key/k')).toBeUndefined();
  });

  it('takes text that is not an S3 ARN as bucket and key', () => {
    expect(parseS3Arn('arn:aws:s3express:us-west-2:111122223333:accesspoint/ap')).toEqual({ bucket: 'arn:aws:s3express:us-west-2:111122223333:accesspoint', objectKey: 'ap' });
    expect(parseS3Arn('arn:aws:s3express:us-west-2:bucket/b')).toEqual({ bucket: 'arn:aws:s3express:us-west-2:bucket', objectKey: 'b' });
    expect(parseS3Arn('bucket/key')).toEqual({ bucket: 'bucket', objectKey: 'key' });
    expect(parseS3Arn('arn::s3:::b/k')).toEqual({ bucket: 'arn::s3:::b', objectKey: 'k' });
    expect(parseS3Arn('arn:aws:kms:us-east-1:111122223333:key/abc')).toEqual({ bucket: 'arn:aws:kms:us-east-1:111122223333:key', objectKey: 'abc' });
    expect(parseS3Arn('')).toEqual({ bucket: '' });
  });

  it('agrees with the regular expression it replaced, on ARNs and near-ARNs', () => {
    const piece = fc.constantFrom('arn:', 'aws', 'aws-cn', ':', 's3', ':s3:::', ':::', ':s3express:', ':s3tables:', ':s3vectors:', 'us-west-2', 'bucket/', '/', 'bucket', 'a', '', 'x:y', '\n');
    const text = fc.oneof(fc.array(piece, { maxLength: 8 }).map((p) => p.join('')), fc.string({ maxLength: 24 }));
    fc.assert(
      fc.property(text, (arn) => {
        expect(parseS3Arn(arn)).toEqual(byRegex(arn));
      }),
      { numRuns: 2000 },
    );
  });
});
