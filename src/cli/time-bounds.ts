import { parseExpiryMs } from '#core/config.ts';
import { DAY_MS, parseDurationMs } from '#core/engine-config.ts';
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
  /**
   * With `--to`: how long after it a trail may still deliver the window's records (`--delivery-lag`, default
   * DEFAULT_DELIVERY_LAG). A file delivered later is not read. Absent when `--delivery-lag any` reads every file.
   */
  readonly deliveryLagMs?: number;
  /** `--delivery-lag` as the user wrote it, or the default, for messages. */
  readonly deliveryLagText?: string;
}

/**
 * How long after `--to` a replay still reads a trail's files unless told otherwise. CloudTrail "typically delivers
 * logs within an average of about 5 minutes of an API call", without a guarantee, and retries a delivery to a bucket
 * it cannot reach for 30 days (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/get-and-view-cloudtrail-log-files.html).
 * A day covers delays hundreds of times the average, and is what the `aws s3 sync` kdm suggests for a window
 * copies (the day after `--to`); after an outage of delivery, `--delivery-lag any` reads every file.
 */
export const DEFAULT_DELIVERY_LAG = '1d';

/** `--delivery-lag`'s word for reading every file after `--to`. */
const ANY_DELIVERY_LAG = 'any';

const parseDeliveryLag = (text: string): { deliveryLagMs: number; deliveryLagText: string } | undefined => {
  if (text === ANY_DELIVERY_LAG) return undefined;
  const ms = parseDurationMs(text);
  if (ms === undefined) throw new UsageError(`--delivery-lag must be a duration such as 6h or 2d, or ${ANY_DELIVERY_LAG} to read every file after --to (got "${text}")`);
  return { deliveryLagMs: ms, deliveryLagText: text.trim() };
};

export const parseTimeWindow = (from: string | undefined, to: string | undefined, learnFrom?: string, deliveryLag?: string): TimeWindow | undefined => {
  if (learnFrom !== undefined && from === undefined) throw new UsageError('--learn-from needs --from: the learning it begins ends where the window does');
  if (deliveryLag !== undefined && to === undefined) throw new UsageError('--delivery-lag needs --to: it says which files delivered after the window ends may still hold its records');
  if (from === undefined && to === undefined) return undefined;
  const start = from !== undefined ? { fromMs: parseTimeBound('--from', from, false), fromText: from } : undefined;
  const toMs = to !== undefined ? parseTimeBound('--to', to, true) : undefined;
  if (start !== undefined && toMs !== undefined && start.fromMs > toMs) throw new UsageError('--from is after --to');
  const learning = learnFrom !== undefined ? { learnFromMs: parseTimeBound('--learn-from', learnFrom, false), learnFromText: learnFrom } : undefined;
  if (learning !== undefined && start !== undefined && learning.learnFromMs > start.fromMs) throw new UsageError('--learn-from is after --from');
  const lag = to !== undefined ? parseDeliveryLag(deliveryLag ?? DEFAULT_DELIVERY_LAG) : undefined;
  return { ...start, ...(toMs !== undefined && to !== undefined ? { toMs, toText: to } : {}), ...learning, ...lag };
};

/** Where a replay of a window begins to read events: at `--learn-from` when given, else at `--from`. */
export const readFromMs = (window: TimeWindow): number | undefined => window.learnFromMs ?? window.fromMs;

/** Whether an instant is inside a window (a window not given holds every instant). */
export const isInWindow = (window: TimeWindow | undefined, ms: number): boolean =>
  window === undefined || ((window.fromMs === undefined || ms >= window.fromMs) && (window.toMs === undefined || ms <= window.toMs));
