import { parseExpiryMs } from '#core/config.ts';
import { UsageError } from '#core/errors.ts';
import { isCalendarDate } from '#core/events/fields.ts';

const DAY_MS = 86_400_000;

/**
 * A `--from` or `--to` as the commands take them: `2026-10-01` is that whole day (from its start, or to its last
 * millisecond when `end`), anything else an RFC 3339 instant.
 */
export const parseTimeBound = (flag: string, text: string, end: boolean): number => {
  if (/^\d{4}-\d{2}-\d{2}$/.test(text)) {
    if (!isCalendarDate(text)) throw new UsageError(`${flag} is not a date: "${text}"`);
    const start = Date.parse(`${text}T00:00:00Z`);
    return end ? start + DAY_MS - 1 : start;
  }
  const ms = parseExpiryMs(text);
  if (ms === undefined) throw new UsageError(`${flag} must be YYYY-MM-DD or an RFC 3339 time (got "${text}")`);
  return ms;
};
