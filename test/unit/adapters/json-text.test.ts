import { describe, expect, it } from 'vitest';
import { firstParses, isSeveral, isUtf16, jsonValuesOf, utf8OfUtf16 } from '#adapters/local/json-text.ts';

const valuesOf = (text: string) => {
  const buf = Buffer.from(text);
  const found = jsonValuesOf(buf, 0);
  return { texts: found.ranges.map(([from, to]) => buf.toString('utf8', from, to)), trouble: found.trouble, several: isSeveral(found), firstParses: firstParses(buf, found) };
};

describe('jsonValuesOf: the values of a text one after another', () => {
  it('finds objects and arrays however they are separated, not fooled by brackets, quotes and backslashes in strings', () => {
    const a = '{"a":"}{","b":["]",{"c":"\\"}"}]}';
    const b = '[1,{"d":"\\\\"},"[x"]';
    const c = '{"e":"ünï 😀 \\u005d"}';

    expect(valuesOf(`${a}${b}\n\r\n  ${c}\n`)).toEqual({ texts: [a, b, c], trouble: undefined, several: true, firstParses: true });
    expect(valuesOf(`${a}`)).toMatchObject({ texts: [a], several: false });
  });

  it('tells where the text stops being values: inside one it ends in, in a string or not, or at what no value starts with', () => {
    expect(valuesOf('{"a":1}{"b":[1,2')).toEqual({ texts: ['{"a":1}'], trouble: { at: 7, why: 'truncated' }, several: true, firstParses: true });
    expect(valuesOf('{"a":1}{"b":"x')).toMatchObject({ trouble: { at: 7, why: 'truncated' }, several: true });
    expect(valuesOf('{"a":1} x')).toMatchObject({ texts: ['{"a":1}'], trouble: { at: 8, why: 'not-json' }, several: false });
    expect(valuesOf('{"a":')).toMatchObject({ texts: [], trouble: { at: 0, why: 'truncated' }, several: false });
    // Brackets count alike, so mismatched ones run on: the text is found to end inside the value.
    expect(valuesOf('{"a":[1}{"b":2}')).toMatchObject({ texts: [], trouble: { at: 0, why: 'truncated' } });
    // Balanced but not JSON: found, and left to JSON.parse.
    expect(valuesOf('{"a":1,}{"b":2}')).toMatchObject({ texts: ['{"a":1,}', '{"b":2}'], several: true, firstParses: false });
  });
});

describe('UTF-16 text', () => {
  it('is told by its byte-order mark and read as the text it holds, in either byte order', () => {
    const text = '{"a":"zoë 😀"}';
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
    const be = Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(text, 'utf16le').swap16()]);

    for (const buf of [le, be]) {
      expect(isUtf16(buf)).toBe(true);
      expect(utf8OfUtf16(buf).toString('utf8')).toBe(text);
    }
    expect(isUtf16(Buffer.from(text))).toBe(false);
    expect(isUtf16(Buffer.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d]))).toBe(false);
  });
});
