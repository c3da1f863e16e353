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
  override readonly name = 'TransferCodecError';
}

/**
 * `uniqueKeys`: properties whose values are (nearly) never repeated, such as event ids. Their strings go into the
 * table without looking for an earlier copy, which would only cost a hash of each.
 */
export const encodeValue = (value: unknown, options: { readonly uniqueKeys?: ReadonlySet<string> } = {}): EncodedValue => {
  const uniqueKeys = options.uniqueKeys ?? new Set<string>();
  const tokens: number[] = [];
  const numbers: number[] = [];
  const strings: string[] = [];
  const stringIndex = new Map<string, number>();
  const stringToken = (s: string): number => {
    let index = stringIndex.get(s);
    if (index === undefined) {
      index = strings.length;
      strings.push(s);
      stringIndex.set(s, index);
    }
    return index;
  };
  const encode = (v: unknown): void => {
    switch (typeof v) {
      case 'string':
        tokens.push(STRING, stringToken(v));
        return;
      case 'number':
        tokens.push(NUMBER);
        numbers.push(v);
        return;
      case 'boolean':
        tokens.push(v ? TRUE : FALSE);
        return;
      case 'undefined':
        tokens.push(UNDEFINED);
        return;
      case 'object': {
        if (v === null) {
          tokens.push(NULL);
          return;
        }
        if (Array.isArray(v)) {
          tokens.push(ARRAY, v.length);
          for (const item of v) encode(item);
          return;
        }
        const prototype: unknown = Object.getPrototypeOf(v);
        if (prototype !== Object.prototype && prototype !== null) throw new TransferCodecError(`cannot encode a ${(v as { constructor?: { name?: string } }).constructor?.name ?? 'non-plain object'}: plain data only`);
        const keys = Object.keys(v);
        tokens.push(prototype === null ? NULL_PROTOTYPE_OBJECT : OBJECT, keys.length);
        for (const key of keys) {
          tokens.push(stringToken(key));
          const property = (v as Record<string, unknown>)[key];
          if (typeof property === 'string' && uniqueKeys.has(key)) tokens.push(STRING, strings.push(property) - 1);
          else encode(property);
        }
        return;
      }
      default:
        throw new TransferCodecError(`cannot encode a ${typeof v}: plain data only`);
    }
  };
  encode(value);
  return { tokens: Int32Array.from(tokens), numbers: Float64Array.from(numbers), strings };
};

export const decodeValue = (encoded: EncodedValue): unknown => {
  const { tokens, numbers, strings } = encoded;
  let t = 0;
  let n = 0;
  const decode = (): unknown => {
    const tag = tokens[t++];
    switch (tag) {
      case STRING:
        return strings[tokens[t++] as number];
      case NUMBER:
        return numbers[n++];
      case OBJECT:
      case NULL_PROTOTYPE_OBJECT: {
        const size = tokens[t++] as number;
        const o: Record<string, unknown> = tag === OBJECT ? {} : (Object.create(null) as Record<string, unknown>);
        for (let i = 0; i < size; i++) {
          const key = strings[tokens[t++] as number] as string;
          const v = decode();
          // An own `__proto__` key is data: assigning it would set the prototype instead.
          if (key === '__proto__') Object.defineProperty(o, key, { value: v, enumerable: true, writable: true, configurable: true });
          else o[key] = v;
        }
        return o;
      }
      case ARRAY: {
        const length = tokens[t++] as number;
        const a: unknown[] = new Array<unknown>(length);
        for (let i = 0; i < length; i++) a[i] = decode();
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
        throw new TransferCodecError(`damaged encoding: tag ${String(tag)} at token ${t - 1}`);
    }
  };
  const value = decode();
  if (t !== tokens.length || n !== numbers.length) throw new TransferCodecError(`damaged encoding: ${tokens.length - t} tokens and ${numbers.length - n} numbers left over`);
  return value;
};
