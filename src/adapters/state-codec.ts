/** How state entries are written to stores that hold text (DynamoDB, the local database). */

/**
 * JSON with the two things plain JSON loses: infinite numbers (a slot with no KMS half waiting is due at
 * Infinity) and null-prototype records (keyed by principal ids and regions from events: `__proto__` must
 * stay a plain key after a round trip).
 */
export const encodeState = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) && !Number.isNaN(v) ? { $inf: v > 0 ? 1 : -1 } : v));

export const decodeState = (text: string): unknown =>
  JSON.parse(text, (_key, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    const keys = Object.keys(v);
    if (keys.length === 1 && keys[0] === '$inf') {
      const sign = (v as { $inf: unknown }).$inf;
      if (sign === 1) return Number.POSITIVE_INFINITY;
      if (sign === -1) return Number.NEGATIVE_INFINITY;
    }
    return Object.assign(Object.create(null) as object, v);
  });
