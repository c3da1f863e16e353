/**
 * Strings a reader thread sends once and the engine's thread keeps: the principal ARNs, key ARNs, buckets, regions
 * and user agents that batch after batch name.
 *
 * A batch's encoding holds a table of its distinct strings (transfer-codec.ts), and structured clone makes each of
 * them anew on the engine's thread, batch after batch. There they are the keys of state entries, ledger rows and
 * rules' windows, looked up for nearly every event: a string made anew is hashed again at its first lookup and
 * compared character by character with the key it finds, where the very string the key was made from is found by
 * its address, with its hash kept.
 *
 * So the native reader (native/records.cc, `LastingStrings`) keeps, besides each batch's table, a list of lasting
 * strings, and the engine's thread keeps the same list for that reader: a string in the tables of two batches in a
 * row joins both lists, sent once with the second batch, and from then on a batch names it by its place in the
 * list. Strings of one batch (event ids, object keys) never join. The list is bounded (32,768 strings, 2 MiB): a
 * reader past the bound starts it again, and says so with the batch that does.
 */

/** What a batch says of its reader's lasting strings: those it adds to the list, in turn, and whether the list started again first. */
export interface LastingStringsPart {
  readonly added: readonly string[];
  readonly restarted: boolean;
}

/** The engine's side of one reader's list: each batch's part is taken in the order the reader sent the batches. */
export class LastingStringsReceiver {
  #strings: string[] = [];

  /**
   * The list once `part` is taken: what the batch that brought it is decoded with (`decodeNormalized`'s `lasting`).
   * None for a batch that brought none (one its reader did not encode with lasting strings).
   */
  take(part: LastingStringsPart | undefined): readonly string[] | undefined {
    if (part === undefined) return undefined;
    if (part.restarted) this.#strings = [];
    for (const s of part.added) this.#strings.push(s);
    return this.#strings;
  }
}
