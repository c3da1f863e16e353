import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { systemErrorText } from '#adapters/system-error.ts';

const refusal = (path: string): unknown => {
  try {
    readFileSync(path);
  } catch (error) {
    return error;
  }
  throw new Error(`${path} was readable`);
};

describe('systemErrorText', () => {
  it("tells what the operating system answered in words, with its code", () => {
    expect(systemErrorText(refusal('/no/such/file.json'))).toBe('no such file or directory (ENOENT)');
    expect(systemErrorText(refusal('/'))).toBe('is a directory (EISDIR)');
    expect(systemErrorText(refusal('/etc/hostname/below'))).toBe('a part of the path is not a directory (ENOTDIR)');
  });

  it('tells a code it has no words for as it is, and anything else by its message', () => {
    expect(systemErrorText(Object.assign(new Error('x'), { code: 'EXDEV' }))).toBe('EXDEV');
    expect(systemErrorText(new Error('the gzip header is damaged'))).toBe('the gzip header is damaged');
    expect(systemErrorText('a string thrown')).toBe('a string thrown');
    expect(systemErrorText(undefined)).toBe('undefined');
  });
});
