import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileGlob } from '#core/glob.ts';

/** What the configuration's patterns meant when they were regular expressions: the oracle, for short texts only. */
const asRegExp = (glob: string): RegExp => new RegExp(`^${glob.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 's');

describe('configuration patterns (compileGlob)', () => {
  // Few characters, so that pieces repeat, overlap and almost match; `.` and `\n` where a regular expression would differ.
  const text = fc.string({ unit: fc.constantFrom('a', 'b', ':', '/', '.', '\n'), maxLength: 14 });
  const glob = fc.string({ unit: fc.constantFrom('a', 'b', ':', '/', '.', '*', '*'), maxLength: 8 });

  it('matches exactly what the regular expression of the same pattern matches', () => {
    fc.assert(
      fc.property(glob, text, (pattern, candidate) => {
        expect(compileGlob(pattern).test(candidate)).toBe(asRegExp(pattern).test(candidate));
      }),
      { numRuns: 20_000 },
    );
  });

  it('matches a pattern against texts made to match it', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 6 }), { minLength: 1, maxLength: 5 }), fc.array(fc.string({ maxLength: 6 }), { minLength: 6, maxLength: 6 }), (pieces, fillers) => {
        const literal = pieces.map((p) => p.replaceAll('*', ''));
        const pattern = literal.join('*');
        const matching = literal.map((p, i) => (i === 0 ? p : `${fillers[i] ?? ''}${p}`)).join('');
        expect(compileGlob(pattern).test(matching)).toBe(true);
      }),
    );
  });

  it('answers at once where a regular expression backtracks for minutes: many stars over a long text of their pieces', () => {
    // `^.*a.*a.*a.*a.*a.*b$` over 120 a's took 6.8 s in V8; over the 2,048 characters a field may hold, far longer.
    const pattern = compileGlob('*a*a*a*a*a*b');
    expect(pattern.test('a'.repeat(2_048))).toBe(false);
    expect(pattern.test(`${'a'.repeat(2_047)}b`)).toBe(true);
    const role = compileGlob('arn:aws:iam::*:role/*-*-*-*-prod');
    expect(role.test(`arn:aws:iam::111122223333:role/${'x-'.repeat(250)}`)).toBe(false);
    expect(role.test('arn:aws:iam::111122223333:role/team-a-b-c-prod')).toBe(true);
  });

  it('keeps the pattern as written, and without a star asks for the text itself', () => {
    expect(compileGlob('alias/app-*').source).toBe('alias/app-*');
    expect(compileGlob('alias/app').test('alias/app')).toBe(true);
    expect(compileGlob('alias/app').test('alias/apps')).toBe(false);
    expect(compileGlob('ab*ba').test('aba')).toBe(false);
    expect(compileGlob('*').test('')).toBe(true);
  });
});
