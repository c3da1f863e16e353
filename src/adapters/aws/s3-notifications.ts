// Parsing S3 event notifications needs no SDK: kept apart so the handler loads the S3 client only to read.
import { InputError } from '#core/errors.ts';
import { isObject } from '#core/events/fields.ts';

export interface LogObject {
  readonly bucket: string;
  readonly key: string;
}

const unreadable = (why: string): InputError =>
  new InputError('SQS message', undefined, `${why} (expected an S3 event notification, the same in an SNS envelope, or CloudTrail's SNS notification of delivered log files)`);

const parseJson = (text: string, what: string): unknown => {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw unreadable(`${what} is not JSON`);
  }
};

/** The objects an S3 event notification names: created ones only, keys decoded (S3 URL-encodes them, `+` for spaces). */
const createdObjects = (records: readonly unknown[]): LogObject[] =>
  records.flatMap((r) => {
    if (!isObject(r) || typeof r['eventName'] !== 'string' || !r['eventName'].startsWith('ObjectCreated:')) return [];
    const s3 = isObject(r['s3']) ? r['s3'] : undefined;
    const bucket = isObject(s3?.['bucket']) ? s3['bucket']['name'] : undefined;
    const key = isObject(s3?.['object']) ? s3['object']['key'] : undefined;
    if (typeof bucket !== 'string' || typeof key !== 'string') return [];
    return [{ bucket, key: decodeURIComponent(key.replace(/\+/g, ' ')) }];
  });

const objectsIn = (message: unknown, insideEnvelope: boolean): LogObject[] => {
  if (!isObject(message)) throw unreadable('is not a JSON object');
  // S3's test event, sent when a notification is configured.
  if (message['Event'] === 's3:TestEvent') return [];
  if (Array.isArray(message['Records'])) return createdObjects(message['Records']);
  // CloudTrail's own notification of a delivered log file (the trail's SNS topic): keys as written, not encoded.
  const bucket = message['s3Bucket'];
  const keys = message['s3ObjectKey'];
  if (typeof bucket === 'string' && Array.isArray(keys)) return keys.filter((k): k is string => typeof k === 'string').map((key) => ({ bucket, key }));
  // Either of the above through an SNS topic without raw message delivery: the notification is the envelope's Message.
  if (!insideEnvelope && message['Type'] === 'Notification' && typeof message['Message'] === 'string') return objectsIn(parseJson(message['Message'], 'its SNS Message'), true);
  throw unreadable('names no log file');
};

/**
 * The log files an SQS message names. Test events and other event kinds name none. Anything else is an
 * InputError: the message is retried and ends in the dead-letter queue instead of being consumed unread.
 */
export const objectsInNotification = (body: string): LogObject[] => objectsIn(parseJson(body, 'its body'), false);
