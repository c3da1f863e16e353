/**
 * Reading JSON text below the level of JSON.parse: what encoding a text is in, and where the values of a text that
 * holds several one after another lie. Pure over its input; used on the paths where a file is not one document.
 */

/** Whether a text begins with UTF-16's byte-order mark, either byte order. */
export const isUtf16 = (buf: Buffer): boolean => buf.length >= 2 && ((buf[0] === 0xff && buf[1] === 0xfe) || (buf[0] === 0xfe && buf[1] === 0xff));

/** UTF-16 text after its byte-order mark, little- or big-endian by that mark, as UTF-8. */
export const utf8OfUtf16 = (buf: Buffer): Buffer => {
  const units = buf.subarray(2);
  return Buffer.from((buf[0] === 0xfe ? Buffer.from(units).swap16() : units).toString('utf16le'), 'utf8');
};

/** JSON's whitespace. */
export const isWhitespace = (b: number | undefined): boolean => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;

/** Where the JSON values of a text lie, one after another: each an object or an array. */
export interface JsonValues {
  /** Each whole value's bytes, [from, to). */
  readonly ranges: readonly (readonly [number, number])[];
  /** Where the text stops being whole values, if it does: inside one it ends in, or at a byte no value starts with. */
  readonly trouble?: { readonly at: number; readonly why: 'truncated' | 'not-json' };
}

/**
 * A text of documents one after another, what cloudtrail-files.ts reads as such: more than one, or one and then the start of
 * another that the text ends in. (One and then what is not JSON is a document with something after it, which
 * JSON.parse's message names.)
 */
export const isSeveral = (values: JsonValues): boolean => values.ranges.length > 1 || (values.ranges.length === 1 && values.trouble?.why === 'truncated');

/**
 * Whether the first of several documents is JSON: documents joined, not one damaged (a single byte changed cannot
 * close a document early and leave what came before valid JSON).
 */
export const firstParses = (buf: Buffer, documents: JsonValues): boolean => {
  const [from, to] = documents.ranges[0] ?? [0, 0];
  try {
    JSON.parse(buf.toString('utf8', from, to));
    return true;
  } catch {
    return false;
  }
};

/**
 * The objects and arrays of a text one after another, found by their brackets outside strings (whether each parses
 * is left to JSON.parse; brackets of both kinds count alike, so one whose brackets do not pair runs on into the next,
 * and the text is found to end inside it). Error path only: a byte at a time, about what JSON.parse spends on the
 * same text.
 */
export const jsonValuesOf = (buf: Buffer, start: number): JsonValues => {
  const ranges: (readonly [number, number])[] = [];
  let i = start;
  for (;;) {
    while (i < buf.length && isWhitespace(buf[i])) i++;
    if (i >= buf.length) return { ranges };
    if (buf[i] !== 0x7b /* { */ && buf[i] !== 0x5b /* [ */) return { ranges, trouble: { at: i, why: 'not-json' } };
    const from = i;
    let depth = 0;
    do {
      if (i >= buf.length) return { ranges, trouble: { at: from, why: 'truncated' } };
      const b = buf[i];
      if (b === 0x22 /* " */) {
        const close = closingQuote(buf, i + 1);
        if (close === -1) return { ranges, trouble: { at: from, why: 'truncated' } };
        i = close;
      } else if (b === 0x7b || b === 0x5b) depth++;
      else if (b === 0x7d /* } */ || b === 0x5d /* ] */) depth--;
      i++;
    } while (depth > 0);
    ranges.push([from, i]);
  }
};

/** The quote that closes a string whose text starts at `from` (one no odd run of backslashes escapes), or -1. */
const closingQuote = (buf: Buffer, from: number): number => {
  for (let i = from; ; ) {
    const quote = buf.indexOf(0x22, i);
    if (quote === -1) return -1;
    let backslashes = 0;
    while (buf[quote - 1 - backslashes] === 0x5c /* \\ */) backslashes++;
    if (backslashes % 2 === 0) return quote;
    i = quote + 1;
  }
};
