// Parsing S3 event notifications needs no SDK: kept apart so the handler loads the S3 client only to read.

/** The objects an S3 event notification (as delivered through SQS) names; test events and others are skipped. */
export const objectsInNotification = (body: string): { bucket: string; key: string }[] => {
  const parsed = JSON.parse(body) as { Event?: string; Records?: { eventName?: string; s3?: { bucket?: { name?: string }; object?: { key?: string } } }[] };
  if (parsed.Event === 's3:TestEvent') return [];
  return (parsed.Records ?? []).flatMap((r) => {
    const bucket = r.s3?.bucket?.name;
    const key = r.s3?.object?.key;
    if (!r.eventName?.startsWith('ObjectCreated:') || bucket === undefined || key === undefined) return [];
    // Notification keys are URL-encoded with '+' for spaces.
    return [{ bucket, key: decodeURIComponent(key.replace(/\+/g, ' ')) }];
  });
};
