import { describe, expect, it } from 'vitest';
import { selectorGaps } from '#core/rules/cloudtrail-kms-blind-spot.ts';

const s3Objects = (values: string[]) => ({ dataResources: [{ type: 'AWS::S3::Object', values }] });

describe('selectorGaps: what a new set of event selectors stops logging', () => {
  it('keeps nothing back for a selector that logs every management event and named S3 objects', () => {
    expect(selectorGaps({ eventSelectors: [{ readWriteType: 'All', includeManagementEvents: true, ...s3Objects(['arn:aws:s3']) }] })).toEqual({ kms: [], s3: [] });
  });

  it('tells an S3 data resource with no Values apart from none at all: both log no object access', () => {
    expect(selectorGaps({ eventSelectors: [{ readWriteType: 'All', includeManagementEvents: true, ...s3Objects([]) }] }).s3).toEqual([
      'the S3 object data resources name no bucket (empty Values), so no object access is logged',
    ]);
    expect(selectorGaps({ eventSelectors: [{ readWriteType: 'All', includeManagementEvents: true, dataResources: [] }] }).s3).toEqual(['no S3 object data events are selected']);
  });

  it('reads readWriteType WriteOnly as losing GetObject as well as Decrypt', () => {
    const gaps = selectorGaps({ EventSelectors: [{ ReadWriteType: 'WriteOnly', IncludeManagementEvents: true, DataResources: [{ Type: 'AWS::S3::Object', Values: ['arn:aws:s3:::reports/'] }] }] });
    expect(gaps.kms).toEqual(['only write management events are logged, so read-only calls such as Decrypt are not']);
    expect(gaps.s3).toEqual(['S3 object data events are logged for writes only, so GetObject is not']);
  });

  it('reads an advanced S3 data selector with readOnly false as logging writes only', () => {
    const gaps = selectorGaps({ advancedEventSelectors: [
      { fieldSelectors: [{ field: 'eventCategory', equals: ['Management'] }] },
      { fieldSelectors: [{ field: 'eventCategory', equals: ['Data'] }, { field: 'resources.type', equals: ['AWS::S3::Object'] }, { field: 'readOnly', equals: ['false'] }] },
    ] });
    expect(gaps).toEqual({ kms: [], s3: ['S3 object data events are logged for writes only (readOnly false), so GetObject is not'] });
  });

  it('reads read-only selectors as losing the write management events: key deletions, key policies, the trail itself', () => {
    const gap = 'only read-only management events are logged, so key deletions, key policy changes and changes to the trail itself are not';

    expect(selectorGaps({ eventSelectors: [{ readWriteType: 'ReadOnly', includeManagementEvents: true, ...s3Objects(['arn:aws:s3']) }] }).kms).toEqual([gap]);
    expect(selectorGaps({ advancedEventSelectors: [{ fieldSelectors: [{ field: 'eventCategory', equals: ['Management'] }, { field: 'readOnly', equals: ['true'] }] }] }).kms).toEqual([gap]);
    // A selector that logs data events only says nothing of management events.
    expect(selectorGaps({ eventSelectors: [{ readWriteType: 'All', includeManagementEvents: false, ...s3Objects(['arn:aws:s3']) }, { readWriteType: 'ReadOnly', includeManagementEvents: true }] }).kms).toEqual([gap]);
    // One selector of each kind together log both.
    expect(selectorGaps({ eventSelectors: [{ readWriteType: 'ReadOnly', includeManagementEvents: true, ...s3Objects(['arn:aws:s3']) }, { readWriteType: 'WriteOnly', includeManagementEvents: true }] }).kms).toEqual([]);
  });
});
