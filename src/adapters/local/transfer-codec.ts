/**
 * How the replay's reader thread hands normalized batches to the engine's thread: a compact form instead of
 * structured clone. Structured clone copies every string of every event, so the engine's thread rebuilt the
 * same principal ARN, key ARN, region and user agent once per event (its largest single cost). Here a batch
 * becomes a table of its distinct strings, a list of integer tokens and a list of numbers; the two lists go as
 * transferred buffers (no copy), and decoding makes each distinct string once, shared by every event naming it.
 *
 * Plain data only, without cycles: strings, numbers, booleans, null, undefined, arrays, and objects whose prototype
 * is Object.prototype or null (kept null, so maps such as an encryption context stay inert).
 */

import { keepClassNames } from '#core/errors.ts';

export interface EncodedValue {
  readonly tokens: Int32Array<ArrayBuffer>;
  readonly numbers: Float64Array<ArrayBuffer>;
  readonly strings: readonly string[];
}

const UNDEFINED = 0;
const NULL = 1;
const TRUE = 2;
const FALSE = 3;
const NUMBER = 4;
const STRING = 5;
const ARRAY = 6;
const OBJECT = 7;
const NULL_PROTOTYPE_OBJECT = 8;

export class TransferCodecError extends Error {
  override readonly name: string = this.constructor.name;
}

keepClassNames({ TransferCodecError });

/**
 * A list of numbers in a typed array that doubles when full. A reader's writer lives for a whole batch, and its
 * lists with it: as JavaScript arrays they were copied by every young-generation collection of the batch (a
 * reader thread runs one every few milliseconds); in a typed array's buffer the collector copies nothing. A
 * finished list is emptied and kept for the next writer (`spareTokens`, `spareNumbers`), so its buffer is not grown again for each batch.
 */
class GrowingList<A extends Int32Array<ArrayBuffer> | Float64Array<ArrayBuffer>> {
  /** Made with the first item. */
  #items: A | undefined;
  #length = 0;

  constructor(private readonly make: (capacity: number) => A) {}

  /** Appends `n`; returns its index. */
  push(n: number): number {
    let items = this.#items;
    if (items === undefined || this.#length === items.length) {
      const larger = this.make(items === undefined ? 1024 : items.length * 2);
      if (items !== undefined) larger.set(items);
      this.#items = items = larger;
    }
    items[this.#length] = n;
    return this.#length++;
  }

  set(index: number, n: number): void {
    if (this.#items === undefined || index >= this.#length) throw new RangeError(`no item ${index} to set`);
    this.#items[index] = n;
  }

  /** The items, in a buffer of their own size (the one transferred to the engine's thread); the list is left empty. */
  finish(): A {
    const items = this.#items === undefined ? this.make(0) : (this.#items.slice(0, this.#length) as A);
    this.#length = 0;
    return items;
  }
}

const intList = (): GrowingList<Int32Array<ArrayBuffer>> => new GrowingList((capacity) => new Int32Array(capacity));
const numberList = (): GrowingList<Float64Array<ArrayBuffer>> => new GrowingList((capacity) => new Float64Array(capacity));

/** Lists of finished writers, for the next ones (a reader thread writes one batch at a time, so one pair in use). */
const spareTokens: GrowingList<Int32Array<ArrayBuffer>>[] = [];
const spareNumbers: GrowingList<Float64Array<ArrayBuffer>>[] = [];

/**
 * Writes values as tokens. `value` takes any plain data; the typed layer above it (`normalized-codec.ts`) writes
 * its own fields in a fixed order with `int` (a count or a tag of its own) and `value`/`unique` for each field.
 */
export class TokenWriter {
  private tokens = spareTokens.pop() ?? intList();
  private numbers = spareNumbers.pop() ?? numberList();
  private readonly strings: string[] = [];
  private readonly stringIndex = new Map<string, number>();

  /** A bare integer: a count or a tag the caller reads back with `TokenReader.int`. */
  int(n: number): void {
    this.tokens.push(n);
  }

  /** A bare integer whose value is known only later (a count written before what it counts): set it with `setInt`. */
  reserveInt(): number {
    return this.tokens.push(0);
  }

  setInt(slot: number, n: number): void {
    this.tokens.set(slot, n);
  }

  /**
   * A string that is (nearly) never repeated, such as an event id: stored without looking for an earlier copy,
   * which would only cost a hash of it.
   */
  unique(s: string | undefined): void {
    if (s === undefined) this.tokens.push(UNDEFINED);
    else {
      this.tokens.push(STRING);
      this.tokens.push(this.strings.push(s) - 1);
    }
  }

  value(v: unknown): void {
    switch (typeof v) {
      case 'string':
        this.tokens.push(STRING);
        this.tokens.push(this.stringToken(v));
        return;
      case 'number':
        this.tokens.push(NUMBER);
        this.numbers.push(v);
        return;
      case 'boolean':
        this.tokens.push(v ? TRUE : FALSE);
        return;
      case 'undefined':
        this.tokens.push(UNDEFINED);
        return;
      case 'object': {
        if (v === null) {
          this.tokens.push(NULL);
          return;
        }
        if (Array.isArray(v)) {
          this.tokens.push(ARRAY);
          this.tokens.push(v.length);
          for (const item of v) this.value(item);
          return;
        }
        const prototype: unknown = Object.getPrototypeOf(v);
        if (prototype !== Object.prototype && prototype !== null) throw new TransferCodecError(`cannot encode a ${(v as { constructor?: { name?: string } }).constructor?.name ?? 'non-plain object'}: plain data only`);
        const keys = Object.keys(v);
        this.tokens.push(prototype === null ? NULL_PROTOTYPE_OBJECT : OBJECT);
        this.tokens.push(keys.length);
        for (const key of keys) {
          this.tokens.push(this.stringToken(key));
          this.value((v as Record<string, unknown>)[key]);
        }
        return;
      }
      default:
        throw new TransferCodecError(`cannot encode a ${typeof v}: plain data only`);
    }
  }

  finish(): EncodedValue {
    const encoded = { tokens: this.tokens.finish(), numbers: this.numbers.finish(), strings: this.strings };
    spareTokens.push(this.tokens);
    spareNumbers.push(this.numbers);
    // The lists are the next writer's now: this one goes on (if written to by mistake) with empty ones of its own.
    this.tokens = intList();
    this.numbers = numberList();
    return encoded;
  }

  private stringToken(s: string): number {
    let index = this.stringIndex.get(s);
    if (index === undefined) {
      index = this.strings.length;
      this.strings.push(s);
      this.stringIndex.set(s, index);
    }
    return index;
  }
}

/** Reads back what a `TokenWriter` wrote, in the same order; typed reads check the tag they find. */
export class TokenReader {
  private readonly tokens: Int32Array;
  private readonly numbers: Float64Array;
  private readonly strings: readonly string[];
  private readonly lasting: readonly string[];
  private t = 0;
  private n = 0;

  /**
   * `lasting`: the reader's lasting strings (lasting-strings.ts), which the encoding names as -1 - their place in
   * the list where it does not hold them in its table.
   */
  constructor(encoded: EncodedValue, lasting: readonly string[] = []) {
    this.tokens = encoded.tokens;
    this.numbers = encoded.numbers;
    this.strings = encoded.strings;
    this.lasting = lasting;
  }

  int(): number {
    if (this.t >= this.tokens.length) throw new TransferCodecError(`damaged encoding: ends at token ${this.t}`);
    return this.tokens[this.t++] as number;
  }

  string(): string {
    const tag = this.int();
    if (tag !== STRING) throw this.unexpected(tag, 'a string');
    return this.stringAt(this.int());
  }

  optionalString(): string | undefined {
    return this.skipUndefined() ? undefined : this.string();
  }

  number(): number {
    const tag = this.int();
    if (tag !== NUMBER) throw this.unexpected(tag, 'a number');
    return this.numbers[this.n++] as number;
  }

  optionalNumber(): number | undefined {
    return this.skipUndefined() ? undefined : this.number();
  }

  boolean(): boolean {
    const tag = this.int();
    if (tag !== TRUE && tag !== FALSE) throw this.unexpected(tag, 'a boolean');
    return tag === TRUE;
  }

  optionalBoolean(): boolean | undefined {
    return this.skipUndefined() ? undefined : this.boolean();
  }

  value(): unknown {
    const tag = this.int();
    switch (tag) {
      case STRING:
        return this.stringAt(this.int());
      case NUMBER:
        return this.numbers[this.n++];
      case OBJECT:
      case NULL_PROTOTYPE_OBJECT: {
        const size = this.int();
        const o: Record<string, unknown> = tag === OBJECT ? {} : (Object.create(null) as Record<string, unknown>);
        for (let i = 0; i < size; i++) {
          const key = this.stringAt(this.int());
          const v = this.value();
          // An own `__proto__` key is data: assigning it would set the prototype instead.
          if (key === '__proto__') Object.defineProperty(o, key, { value: v, enumerable: true, writable: true, configurable: true });
          else o[key] = v;
        }
        return o;
      }
      case ARRAY: {
        const length = this.int();
        const a: unknown[] = new Array<unknown>(length);
        for (let i = 0; i < length; i++) a[i] = this.value();
        return a;
      }
      case TRUE:
        return true;
      case FALSE:
        return false;
      case NULL:
        return null;
      case UNDEFINED:
        return undefined;
      default:
        throw new TransferCodecError(`damaged encoding: tag ${String(tag)} at token ${this.t - 1}`);
    }
  }

  /** Checks that everything was read: a shorter read means writer and reader disagree. */
  end(): void {
    if (this.t !== this.tokens.length || this.n !== this.numbers.length) throw new TransferCodecError(`damaged encoding: ${this.tokens.length - this.t} tokens and ${this.numbers.length - this.n} numbers left over`);
  }

  /** The string a token names: a place in the batch's table, or -1 - a place in the lasting strings. */
  private stringAt(i: number): string {
    const s = i >= 0 ? this.strings[i] : this.lasting[-1 - i];
    if (s === undefined) throw new TransferCodecError(`damaged encoding: no string ${i} at token ${this.t - 1} (${this.strings.length} in the table, ${this.lasting.length} lasting)`);
    return s;
  }

  /** Takes an undefined if one comes next. */
  private skipUndefined(): boolean {
    if (this.tokens[this.t] !== UNDEFINED) return false;
    this.t++;
    return true;
  }

  private unexpected(tag: number, wanted: string): TransferCodecError {
    return new TransferCodecError(`damaged encoding: tag ${String(tag)} at token ${this.t - 1} where ${wanted} belongs`);
  }
}

export const encodeValue = (value: unknown): EncodedValue => {
  const writer = new TokenWriter();
  writer.value(value);
  return writer.finish();
};

export const decodeValue = (encoded: EncodedValue): unknown => {
  const reader = new TokenReader(encoded);
  const value = reader.value();
  reader.end();
  return value;
};
