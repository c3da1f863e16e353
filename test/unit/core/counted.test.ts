import { describe, expect, it } from 'vitest';
import { counted, formatCount } from '#core/counted.ts';

describe('counted', () => {
  it('says one thing in the singular and every other count in the plural, grouped by thousands', () => {
    expect(counted(1, 'file')).toBe('1 file');
    expect(counted(0, 'file')).toBe('0 files');
    expect(counted(5_024, 'file')).toBe('5,024 files');
    expect(counted(1, 'account and region', 'accounts and regions')).toBe('1 account and region');
    expect(counted(2, 'account and region', 'accounts and regions')).toBe('2 accounts and regions');
  });
});

describe('formatCount', () => {
  it('groups by thousands as English writes it, whatever the machine\'s locale', () => {
    expect([0, 999, 1_000, 5_024, 1_234_567].map(formatCount)).toEqual(['0', '999', '1,000', '5,024', '1,234,567']);
  });
});
