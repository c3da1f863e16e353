/** Small type guards for reading untrusted JSON on the hot path: no schema library per record. */

export type JsonObject = Readonly<Record<string, unknown>>;

/** Longest string kept from a record field; longer values are cut (and marked) to bound memory. */
export const MAX_FIELD_CHARS = 2048;
/** Longest key kept from a string map (an encryption context); longer keys are cut (and marked). */
export const MAX_MAP_KEY_CHARS = 256;
const CLIP_MARKER = '…[truncated]';

export const isObject = (v: unknown): v is JsonObject =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Cuts to at most `max` UTF-16 units (marked) and makes the text well-formed: a lone surrogate, which a crafted
 * record can carry as a `\ud800` escape and a cut can leave of a pair, becomes U+FFFD. The stores and AWS take
 * UTF-8 only, and DuckDB refuses the whole statement over one such character.
 */
export const clip = (s: string, max = MAX_FIELD_CHARS): string =>
  (s.length > max ? s.slice(0, max - CLIP_MARKER.length) + CLIP_MARKER : s).toWellFormed();

/** A non-empty string field, clipped; anything else is undefined. */
export const str = (v: unknown): string | undefined =>
  typeof v === 'string' && v.length > 0 ? clip(v) : undefined;

/** A finite number, also accepting numeric strings (Logstash and exports turn numbers into strings or floats). */
export const num = (v: unknown): number | undefined => {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
};

export const bool = (v: unknown): boolean | undefined => {
  if (typeof v === 'boolean') return v;
  if (v === 'true') return true;
  if (v === 'false') return false;
  return undefined;
};

export const obj = (v: unknown): JsonObject | undefined => (isObject(v) ? v : undefined);

/** Own property read that never walks the prototype chain (`__proto__`, `constructor` are plain keys). */
export const own = (o: JsonObject, key: string): unknown =>
  Object.prototype.hasOwnProperty.call(o, key) ? o[key] : undefined;

/**
 * Copies a string-valued map into a null-prototype object, so keys like `__proto__` stay inert data.
 * Non-string values are rendered as JSON so nothing the caller sent disappears silently.
 */
export const stringMap = (v: unknown): Readonly<Record<string, string>> | undefined => {
  if (!isObject(v)) return undefined;
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const key of Object.keys(v)) {
    const value = v[key];
    out[clip(key, MAX_MAP_KEY_CHARS)] = typeof value === 'string' ? clip(value) : clip(safeJson(value));
  }
  return out;
};

const safeJson = (v: unknown): string => {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
};

const TIMESTAMP = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)(Z|[+-]\d{2}:?\d{2})?$/i;

/**
 * Parses a CloudTrail timestamp to epoch ms; undefined when it is not one. CloudTrail times are UTC, so a
 * timestamp without a zone (`2021-10-19 00:56:05`, as some exports write it) is read as UTC, never local time.
 */
export const parseTimeMs = (v: unknown): number | undefined => {
  if (typeof v !== 'string' || v.length > 40) return undefined;
  const fast = canonicalTimeMs(v);
  if (fast !== undefined) return fast;
  const m = TIMESTAMP.exec(v);
  if (!m) return undefined;
  // Date.parse reads 2026-02-30 as March 2: a day the calendar does not have is a damaged record, not another day.
  if (!isCalendarDate(m[1] as string)) return undefined;
  const ms = Date.parse(`${m[1]}T${m[2]}${m[3] ?? 'Z'}`);
  return Number.isFinite(ms) ? ms : undefined;
};

/**
 * Whether `YYYY-MM-DD` names a day of the calendar. `Date.parse` does not check: it reads 2027-02-30 as March 2,
 * so a mistyped expiry or history bound, or a damaged record's time, would stand for another day unnoticed.
 */
export const isCalendarDate = (ymd: string): boolean => {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(ymd);
  if (m === null) return false;
  const month = Number(m[2]);
  const day = Number(m[3]);
  return month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(Number(m[1]), month);
};

/** Days in `month` (1-12) of `year`, by the Gregorian calendar's leap years. */
const daysInMonth = (year: number, month: number): number => {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
};

const digit = (s: string, i: number): number => s.charCodeAt(i) - 48;
const twoDigits = (s: string, i: number): number => {
  const a = digit(s, i);
  const b = digit(s, i + 1);
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
};

/**
 * CloudTrail's own form, `2026-10-07T15:56:53Z` or with milliseconds `…53.718Z`, read without a regex or a
 * string copy (every record has one); a day the month does not have is not a time. Anything else is left to the
 * general parser.
 */
const canonicalTimeMs = (v: string): number | undefined => {
  if ((v.length !== 20 && v.length !== 24) || v.charCodeAt(v.length - 1) !== 90 /* Z */) return undefined;
  if (v[4] !== '-' || v[7] !== '-' || v[10] !== 'T' || v[13] !== ':' || v[16] !== ':') return undefined;
  const century = twoDigits(v, 0);
  const yy = twoDigits(v, 2);
  const month = twoDigits(v, 5);
  const day = twoDigits(v, 8);
  const hour = twoDigits(v, 11);
  const minute = twoDigits(v, 14);
  const second = twoDigits(v, 17);
  if (century < 0 || yy < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) return undefined;
  const year = century * 100 + yy;
  // Date.UTC would roll 2026-02-30 over to March 2, as Date.parse does.
  if (day > daysInMonth(year, month)) return undefined;
  let ms = 0;
  if (v.length === 24) {
    if (v[19] !== '.') return undefined;
    const a = digit(v, 20);
    const b = twoDigits(v, 21);
    if (a < 0 || a > 9 || b < 0) return undefined;
    ms = a * 100 + b;
  }
  return Date.UTC(year, month - 1, day, hour, minute, second, ms);
};

/** `T` with every property that may be undefined made optional instead (fits exactOptionalPropertyTypes). */
export type Compact<T> = { [K in keyof T as undefined extends T[K] ? never : K]: T[K] } & {
  [K in keyof T as undefined extends T[K] ? K : never]?: Exclude<T[K], undefined>;
};

/**
 * A copy without the properties whose value is undefined, so optional fields are absent rather than
 * undefined. Copies instead of deleting: `delete` turns objects into slow dictionary-mode objects.
 */
export const compact = <T extends object>(o: T): Compact<T> => {
  const out: Record<string, unknown> = {};
  for (const k in o) {
    const v = o[k];
    if (v !== undefined) out[k] = v;
  }
  return out as Compact<T>;
};

/** Control and bidi-override characters: event data must not reach a terminal or a console with them. */
// eslint-disable-next-line no-control-regex
const UNSAFE_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** Replaces control and bidi-override characters, which could disguise text, with `replacement`. */
export const replaceUnsafeCharacters = (text: string, replacement: string): string => text.replace(UNSAFE_CHARACTERS, replacement);

/**
 * JSON text with every unsafe character as a `\uXXXX` escape. JSON.stringify escapes C0 controls but lets
 * C1 controls, bidi overrides and line separators through raw, and a terminal could then show `exe.pdf` as
 * `fdp.exe`. The value read back is the same.
 */
export const stringifyJsonSafely = (value: unknown, indent?: number): string =>
  JSON.stringify(value, null, indent).replace(/[\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
