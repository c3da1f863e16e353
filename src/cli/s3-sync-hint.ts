import { DAY_MS } from '#core/engine-config.ts';
import { readFromMs, type TimeWindow } from './time-bounds.ts';

/** Beyond this many days, a sync names no days: a list of includes that long helps nobody. */
const MAX_DAYS_NAMED = 62;

const MINUTE_MS = 60_000;

/** `2026/10/01`, a trail's date directories, and `20261001T0959Z`, the delivery time in its file names. */
const datePath = (ms: number): string => new Date(ms).toISOString().slice(0, 10).replaceAll('-', '/');
const deliveryMinute = (ms: number): string => new Date(ms).toISOString().slice(0, 16).replaceAll('-', '').replace(':', '') + 'Z';

/**
 * The `aws s3 sync` that copies an S3 URL's logs to `./logs` for a replay. For a window with both ends, only the files
 * that can hold its records, by the day (`.../YYYY/MM/DD/`) and minute (`_YYYYMMDDTHHmmZ_`) a trail delivered them:
 * from the window's first instant, less `edgeMs` (the S3 requests its edge lends: the minutes before midnight, when
 * the edge crosses it), to the day its delivery lag ends (`--delivery-lag`, the day after its last by default), for
 * records delivered late. With `--delivery-lag any`, every file.
 */
export const s3SyncCommand = (url: string, window: TimeWindow | undefined, edgeMs: number): string => {
  const base = `aws s3 sync ${url} ./logs`;
  const fromMs = window === undefined ? undefined : readFromMs(window);
  if (fromMs === undefined || window?.toMs === undefined || window.deliveryLagMs === undefined) return base;
  const firstDay = Math.floor(fromMs / DAY_MS);
  const lastDay = Math.floor((window.toMs + window.deliveryLagMs) / DAY_MS);
  if (lastDay - firstDay + 1 > MAX_DAYS_NAMED) return base;
  const includes: string[] = [];
  // Files delivered in the minutes before midnight that hold the S3 requests the edge lends.
  for (let minute = Math.floor((fromMs - edgeMs) / MINUTE_MS); minute * MINUTE_MS < firstDay * DAY_MS; minute++) {
    includes.push(`--include '*/${datePath(minute * MINUTE_MS)}/*_${deliveryMinute(minute * MINUTE_MS)}_*'`);
  }
  for (let day = firstDay; day <= lastDay; day++) includes.push(`--include '*/${datePath(day * DAY_MS)}/*'`);
  return `${base} --exclude '*' ${includes.join(' ')}`;
};
