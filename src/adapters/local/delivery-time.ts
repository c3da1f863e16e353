/**
 * When a trail delivered a log file, from its name: `<account>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<unique>.json.gz`
 * (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-log-file-examples.html). "A log file
 * delivered at a specific time can contain records written at any point before that time": every record of a file
 * named for the minute HH:mm was written before the end of that minute.
 */

const DELIVERED = /(?:^|[/\\])\d{12}_CloudTrail_[a-z0-9-]+_(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})Z_[^/\\]*$/;

/** The end of the minute the file's name says it was delivered in; undefined for a name not a trail's. */
export const deliveredByMs = (path: string): number | undefined => {
  const m = DELIVERED.exec(path);
  if (m === null) return undefined;
  const [, y, mo, d, h, mi] = m;
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi)) + 60_000;
  // A name whose digits make no time of the calendar (month 13) says nothing.
  return new Date(ms - 60_000).toISOString().startsWith(`${y}-${mo}-${d}T${h}:${mi}`) ? ms : undefined;
};
