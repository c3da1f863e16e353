/**
 * The identities a run has written to one ledger table, kept as a Bloom filter: `mayHave` is true for every
 * identity `add`ed, and wrongly true for some others (about 1% once 700,000 are in, a 5M-record replay's object
 * accesses; more beyond). Its size is fixed (1 MiB by default), so it costs the same however long the run. The
 * database looks up only the rows it may have, instead of every row of every write.
 *
 * An identity is the list of a row's identity columns (day, key, principal, ...): hashed part by part, each after
 * its length, so that no two lists hash alike by where their parts end.
 */
export class WrittenIds {
  readonly #bits: Uint32Array;
  readonly #mask: number;

  /** `bitsLog2`: the filter holds 2^bitsLog2 bits (23: 1 MiB). */
  constructor(bitsLog2 = 23) {
    if (!Number.isInteger(bitsLog2) || bitsLog2 < 5 || bitsLog2 > 31) throw new RangeError(`bitsLog2 must be a whole number from 5 to 31 (got ${bitsLog2})`);
    this.#bits = new Uint32Array(2 ** (bitsLog2 - 5));
    this.#mask = 2 ** bitsLog2 - 1;
  }

  /** Adds `identity`, and tells whether the filter may have held it already (what `mayHave` said just before). */
  add(identity: readonly string[]): boolean {
    return this.#probe(identity, true);
  }

  mayHave(identity: readonly string[]): boolean {
    return this.#probe(identity, false);
  }

  /** Whether every bit of `identity` is set; `setting` sets those that are not. */
  #probe(identity: readonly string[], setting: boolean): boolean {
    const [h1, h2] = hashes(identity);
    let held = true;
    for (let i = 0; i < PROBES; i++) {
      const bit = (h1 + Math.imul(i, h2)) & this.#mask;
      const word = this.#bits[bit >>> 5] as number;
      const mask = 1 << (bit & 31);
      if ((word & mask) !== 0) continue;
      if (!setting) return false;
      held = false;
      this.#bits[bit >>> 5] = word | mask;
    }
    return held;
  }
}

/** Bits set per identity: three keeps false positives near 1% at 700,000 identities in 2^23 bits. */
const PROBES = 3;

// One pair for every call (read at once by the caller): no allocation per identity.
const scratch: [number, number] = [0, 0];

/**
 * Two 32-bit hashes of the parts' UTF-16 code units, each part after its length, for double hashing: one pass of
 * FNV-1a, finished by two different mixes (MurmurHash3's, and the same with other constants); the second is odd,
 * so its multiples cover the whole filter. Two identities whose FNV-1a states collide share both hashes, about 60
 * pairs among 700,000 identities: nothing beside the filter's own 1%. One pass takes 0.75x the time of two hashes
 * each over the characters (390 against 500 ms for 900,000 identities of the bench's shape), with as many false
 * positives.
 */
const hashes = (identity: readonly string[]): readonly [number, number] => {
  let h = 0x811c9dc5;
  for (const part of identity) {
    h = Math.imul(h ^ part.length, 0x01000193);
    for (let i = 0; i < part.length; i++) h = Math.imul(h ^ part.charCodeAt(i), 0x01000193);
  }
  scratch[0] = mix(h, 0x85ebca6b, 0xc2b2ae35);
  scratch[1] = mix(h ^ 0x9e3779b9, 0xcc9e2d51, 0x1b873593) | 1;
  return scratch;
};

const mix = (h: number, m1: number, m2: number): number => {
  h = Math.imul(h ^ (h >>> 16), m1);
  h = Math.imul(h ^ (h >>> 13), m2);
  return (h ^ (h >>> 16)) >>> 0;
};
