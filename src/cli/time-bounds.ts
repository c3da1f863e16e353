import { parseExpiryMs } from '#core/config.ts';
import { DAY_MS } from '#core/engine-config.ts';
import { UsageError } from '#core/errors.ts';
import { isCalendarDate } from '#core/events/fields.ts';

/**
 * A `--from` or `--to` as the commands take them: `2026-10-01` is that whole day (from its start, or to its last
 * millisecond when `end`), anything else an RFC 3339 instant.
 */
const parseTimeBound = (flag: string, text: string, end: boolean): number => {
  if (/^\d{4}-\d{2}-\d{2}$/.test(text)) {
    if (!isCalendarDate(text)) throw new UsageError(`${flag} is not a date: "${text}"`);
    const start = Date.parse(`${text}T00:00:00Z`);
    return end ? start + DAY_MS - 1 : start;
  }
  const ms = parseExpiryMs(text);
  if (ms === undefined) throw new UsageError(`${flag} must be YYYY-MM-DD or an RFC 3339 time (got "${text}")`);
  return ms;
};

/** A window of event time from `--from` and `--to` (inclusive), undefined when neither is given. */
export interface TimeWindow {
  readonly fromMs?: number;
  readonly toMs?: number;
  /** `--from` as the user wrote it, for messages. */
  readonly fromText?: string;
  /** `--to` as the user wrote it, for messages. */
  readonly toText?: string;
  /**
   * `--learn-from` (a replay's): the events from here to `fromMs` are read and learned from as the window's are, and
   * the findings they alone raise are left out. Before `fromMs`.
   */
  readonly learnFromMs?: number;
  readonly learnFromText?: string;
}

export const parseTimeWindow = (from: string | undefined, to: string | undefined, learnFrom?: string): TimeWindow | undefined => {
  if (learnFrom !== undefined && from === undefined) throw new UsageError('--learn-from needs --from: the learning it begins ends where the window does');
  if (from === undefined && to === undefined) return undefined;
  const start = from !== undefined ? { fromMs: parseTimeBound('--from', from, false), fromText: from } : undefined;
  const toMs = to !== undefined ? parseTimeBound('--to', to, true) : undefined;
  if (start !== undefined && toMs !== undefined && start.fromMs > toMs) throw new UsageError('--from is after --to');
  const learning = learnFrom !== undefined ? { learnFromMs: parseTimeBound('--learn-from', learnFrom, false), learnFromText: learnFrom } : undefined;
  if (learning !== undefined && start !== undefined && learning.learnFromMs > start.fromMs) throw new UsageError('--learn-from is after --from');
  return { ...start, ...(toMs !== undefined && to !== undefined ? { toMs, toText: to } : {}), ...learning };
};

/** Where a replay of a window begins to read events: at `--learn-from` when given, else at `--from`. */
export const readFromMs = (window: TimeWindow): number | undefined => window.learnFromMs ?? window.fromMs;

/** Whether an instant is inside a window (a window not given holds every instant). */
export const isInWindow = (window: TimeWindow | undefined, ms: number): boolean =>
  window === undefined || ((window.fromMs === undefined || ms >= window.fromMs) && (window.toMs === undefined || ms <= window.toMs));
