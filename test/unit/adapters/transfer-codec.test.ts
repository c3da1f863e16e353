import { describe, expect, it } from 'vitest';
import { LastingStringsReceiver } from '#adapters/local/lasting-strings.ts';
import { decodeValue, encodeValue, TokenReader, TokenWriter, TransferCodecError } from '#adapters/local/transfer-codec.ts';
import { normalizeRecord } from '#core/events/normalize.ts';
import { kmsRecord, s3Record } from '#core/testing/builders.ts';
import { allDatasetRecords, hasDatasets } from '../../helpers/datasets.ts';

const roundTrip = <T>(value: T): T => decodeValue(encodeValue(value)) as T;

describe('transfer codec (reader thread → engine thread)', () => {
  it.skipIf(!hasDatasets)('gives back every normalized dataset record exactly, in one batch', () => {
    const results = allDatasetRecords().map((r) => normalizeRecord(r));

    expect(results.length).toBeGreaterThan(100);
    expect(roundTrip(results)).toStrictEqual(results);
  });

  it('keeps the table to distinct strings, apart from those written as unique', () => {
    const batch = [kmsRecord({ eventId: 'a' }), kmsRecord({ eventId: 'b' }), s3Record({ eventId: 'c' })].map((r) => normalizeRecord(r));
    const writer = new TokenWriter();
    writer.unique('u');
    writer.unique('u');
    writer.value(batch);

    const encoded = writer.finish();
    const reader = new TokenReader(encoded);
    const others = encoded.strings.filter((s) => s !== 'u');

    expect(encoded.strings.filter((s) => s === 'u')).toHaveLength(2);
    expect(others.filter((s) => ['a', 'b', 'c'].includes(s))).toEqual(['a', 'b', 'c']);
    expect(new Set(others).size).toBe(others.length);
    expect([reader.string(), reader.string()]).toEqual(['u', 'u']);
    expect(reader.value()).toStrictEqual(batch);
    reader.end();
  });

  it('gives back batches of any length written one after another, each writer taking the lists the one before finished with', () => {
    // Lengths around the lists' first size (1,024) and its doublings, in an order that shrinks and grows again.
    const batches = [5_000, 3, 1_023, 1_024, 1_025, 0, 70_000, 12].map((n) => Array.from({ length: n }, (_, i) => (i % 3 === 0 ? i * 0.5 : `s${i % 7}`)));
    const encoded = batches.map((batch) => {
      const writer = new TokenWriter();
      const count = writer.reserveInt();
      writer.value(batch);
      writer.setInt(count, batch.length);
      return writer.finish();
    });
    for (const [i, batch] of batches.entries()) {
      const reader = new TokenReader(encoded[i] as ReturnType<TokenWriter['finish']>);
      expect(reader.int()).toBe(batch.length);
      expect(reader.value()).toStrictEqual(batch);
      reader.end();
    }
  });

  it('leaves the next writer\'s encoding alone when a finished writer is written to by mistake', () => {
    const finished = new TokenWriter();
    finished.value(['first']);
    const first = finished.finish();
    const next = new TokenWriter();
    next.value(['second', 2]);
    finished.value(['stray', 99]);
    const second = next.finish();

    expect(decodeValue(first)).toStrictEqual(['first']);
    expect(decodeValue(second)).toStrictEqual(['second', 2]);
  });

  it('keeps null-prototype maps null-prototype, with `__proto__` and `constructor` as plain keys', () => {
    const context = Object.create(null) as Record<string, string>;
    Object.defineProperty(context, '__proto__', { value: 'x', enumerable: true, writable: true, configurable: true });
    context['constructor'] = 'y';
    const plain = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as Record<string, unknown>;

    const [decodedContext, decodedPlain] = roundTrip([context, plain]) as [Record<string, string>, Record<string, unknown>];

    expect(Object.getPrototypeOf(decodedContext)).toBeNull();
    expect(Object.keys(decodedContext)).toEqual(['__proto__', 'constructor']);
    expect(decodedContext['constructor']).toBe('y');
    expect(Object.getPrototypeOf(decodedPlain)).toBe(Object.prototype);
    expect(Object.prototype.hasOwnProperty.call(decodedPlain, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('keeps every kind of plain value, undefined properties included', () => {
    const value = { s: '', n: -0.5, big: 1_759_276_800_256, t: true, f: false, nil: null, u: undefined, list: [1, 'a', [], {}], nested: { deep: { deeper: ['x'] } } };

    expect(roundTrip(value)).toStrictEqual(value);
  });

  it('refuses what is not plain data, and a damaged encoding, with a typed error', () => {
    expect(() => encodeValue({ at: new Date(0) })).toThrow(TransferCodecError);
    expect(() => encodeValue({ n: 1n })).toThrow(/cannot encode a bigint/);
    expect(() => encodeValue(Object.create(Object.create(null) as object))).toThrow(/cannot encode a non-plain object/);
    const encoded = encodeValue({ a: 'b' });

    expect(() => decodeValue({ ...encoded, tokens: Int32Array.from([99]) })).toThrow(/damaged encoding: tag 99/);
    expect(() => decodeValue({ ...encoded, tokens: Int32Array.from([...encoded.tokens, 0]) })).toThrow(/1 tokens and 0 numbers left over/);
  });

  it("reads a string a token names by its place in the reader's lasting strings (-1 - place), and refuses one not held", () => {
    // { a: 'b' } as a table of ['a', 'b'] would encode it, with both strings named from the lasting list instead.
    const { tokens, numbers } = encodeValue({ a: 'b' });
    const lastingTokens = tokens.map((t, i) => (i === 2 ? -2 : i === 4 ? -1 : t));
    expect(Array.from(tokens)).toStrictEqual([7, 1, 0, 5, 1]);
    const receiver = new LastingStringsReceiver();
    expect(receiver.take({ added: ['b', 'a'], restarted: false })).toStrictEqual(['b', 'a']);
    const read = (lasting: readonly string[] | undefined): unknown => {
      const reader = new TokenReader({ tokens: Int32Array.from(lastingTokens), numbers, strings: [] }, lasting);
      const value = reader.value();
      reader.end();
      return value;
    };
    expect(read(receiver.take({ added: [], restarted: false }))).toStrictEqual({ a: 'b' });
    // A batch that brought no part (its reader kept no lasting strings) is decoded without the list, which stays.
    expect(receiver.take(undefined)).toBeUndefined();
    expect(receiver.take({ added: [], restarted: false })).toStrictEqual(['b', 'a']);
    // A batch that starts the list again: its places count from the start.
    expect(receiver.take({ added: ['x'], restarted: true })).toStrictEqual(['x']);
    expect(() => read(['x'])).toThrow(/damaged encoding: no string -2 at token 2 \(0 in the table, 1 lasting\)/);
    expect(() => read(['x'])).toThrow(TransferCodecError);
  });
});
