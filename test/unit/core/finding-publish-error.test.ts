import { describe, expect, it } from 'vitest';
import { FindingPublishError, type FindingFailure } from '#core/errors.ts';

describe('FindingPublishError', () => {
  const refused: FindingFailure = { id: 'f-1', code: 'InvalidInput', message: 'Finding is invalid', refused: true };
  const throttled: FindingFailure = { id: 'f-2', code: 'TooManyRequestsException', message: 'Rate exceeded' };
  const denied: FindingFailure = { id: 'f-3', code: 'AccessDeniedException' };

  it('says the destination rejected the findings it refused for themselves', () => {
    expect(new FindingPublishError('Security Hub', [refused]).message).toBe('Security Hub rejected 1 finding: f-1 (InvalidInput: Finding is invalid)');
  });

  it('says that findings whose calls failed could not be sent, not that the destination rejected them', () => {
    expect(new FindingPublishError('EventBridge', [throttled, denied]).message).toBe(
      '2 findings could not be sent to EventBridge: f-2 (TooManyRequestsException: Rate exceeded); f-3 (AccessDeniedException)',
    );
  });

  it('tells both apart when both happened, and counts what it does not list', () => {
    const more = Array.from({ length: 6 }, (_, i): FindingFailure => ({ id: `t-${i}`, code: 'ThrottlingException' }));
    expect(new FindingPublishError('Security Hub', [refused, ...more]).message).toBe(
      'Security Hub rejected 1 finding, and 6 more could not be sent to it: f-1 (InvalidInput: Finding is invalid); t-0 (ThrottlingException); t-1 (ThrottlingException); t-2 (ThrottlingException); t-3 (ThrottlingException); and 2 more',
    );
  });
});
