/**
 * The ids a run has written to one ledger table, kept as a Bloom filter: `mayHave` is true for every id `add`ed,
 * and wrongly true for some others (about 1% once 700,000 ids are in, a 5M-record replay's object accesses; more
 * beyond). Its size is fixed (1 MiB by default), so it costs the same however long the run. The database looks
 * up only the ids it may have, instead of every id of every write.
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

  /** Adds `id`, and tells whether the filter may have held it already (what `mayHave` said just before). */
  add(id: string): boolean {
    return this.#probe(id, true);
  }

  mayHave(id: string): boolean {
    return this.#probe(id, false);
  }

  /** Whether every bit of `id` is set; `setting` sets those that are not. */
  #probe(id: string, setting: boolean): boolean {
    const [h1, h2] = hashes(id);
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

/** Bits set per id: three keeps false positives near 1% at 700,000 ids in 2^23 bits. */
const PROBES = 3;

// One pair for every call (read at once by the caller): no allocation per id.
const scratch: [number, number] = [0, 0];

/**
 * Two 32-bit hashes of the string's UTF-16 code units (FNV-1a, and the same step with MurmurHash2's multiplier,
 * each finished by MurmurHash3's mix) for double hashing; the second is odd, so its multiples cover the whole filter.
 */
const hashes = (s: string): readonly [number, number] => {
  let a = 0x811c9dc5;
  let b = 0x9e3779b9;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
  }
  scratch[0] = mix(a);
  scratch[1] = mix(b ^ s.length) | 1;
  return scratch;
};

const mix = (h: number): number => {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
};
