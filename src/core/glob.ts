/**
 * The configuration's patterns: `*` matches any run of characters (including `/` and `:`), everything else is
 * literal, case-sensitive, and a pattern matches the whole text.
 *
 * Matched without a regular expression. `^a.*b.*c.*d$` backtracks: a pattern of a few stars takes time to the
 * power of their number on a text with many of its pieces and no match (5 stars on 120 characters took 7 s), and
 * the texts are the events' (principal ARNs, whose role paths and session names callers choose). Here the pieces
 * between the stars are found in turn, each at its first place after the one before: a match exists if and only if
 * that finds them all, so the time is at most the text's length times the pattern's.
 */
export interface Glob {
  /** The pattern as written. */
  readonly source: string;
  test(text: string): boolean;
}

export const compileGlob = (source: string): Glob => {
  const pieces = source.split('*');
  if (pieces.length === 1) return { source, test: (text) => text === source };
  const head = pieces[0] ?? '';
  const tail = pieces[pieces.length - 1] ?? '';
  const middle = pieces.slice(1, -1).filter((piece) => piece !== '');
  return {
    source,
    test(text) {
      if (text.length < head.length + tail.length || !text.startsWith(head) || !text.endsWith(tail)) return false;
      const end = text.length - tail.length;
      let at = head.length;
      for (const piece of middle) {
        const found = text.indexOf(piece, at);
        if (found < 0 || found + piece.length > end) return false;
        at = found + piece.length;
      }
      return true;
    },
  };
};
