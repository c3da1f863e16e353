import type { KmsCall, MonitorEvent, S3RequestSummary } from '../events/types.ts';

/** Plain-words fragments shared by the rules' reasons. Every value is event data: keep it quoted as data. */
export const dateOf = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/** Who made the call, with the role session where there is one. A record without a userIdentity names nobody. */
export const principalLabel = (e: MonitorEvent): string => {
  if (e.principal.type === 'Unknown' && e.principal.id === 'unknown') return 'a caller the record does not name (it has no userIdentity)';
  return e.principal.sessionName !== undefined ? `${e.principal.id} (session ${e.principal.sessionName})` : e.principal.id;
};

export const keyLabel = (e: KmsCall, alias?: string): string => {
  const a = alias ?? e.keyAlias;
  const arn = e.keyArn ?? e.keyIdParameter ?? 'an unidentified key';
  return a !== undefined ? `${a} (${arn})` : arn;
};

export const listFew = (items: readonly string[], n = 3): string => {
  if (items.length === 0) return 'none';
  const shown = items.slice(0, n).join(', ');
  return items.length > n ? `${shown} and ${items.length - n} more` : shown;
};

/** Keys of a first-seen map, oldest first. */
export const byFirstSeen = (record: Readonly<Record<string, number>>): string[] =>
  Object.keys(record).sort((a, b) => (record[a] ?? 0) - (record[b] ?? 0));

/** The earliest time of a first-seen map: when what it holds began to be learned (Infinity when empty). */
export const earliestFirstSeen = (record: Readonly<Record<string, number>>): number => {
  let since = Number.POSITIVE_INFINITY;
  for (const k in record) since = Math.min(since, record[k] ?? since);
  return since;
};

export const percent = (part: number, whole: number): string => `${whole === 0 ? 0 : Math.round((100 * part) / whole)}%`;

/**
 * "S3 GetObject of s3://bucket/key", and that it was presigned when it was: a presigned request was sent by whoever
 * held the URL.
 */
export const s3RequestLabel = (r: S3RequestSummary): string =>
  `S3 ${r.operation} of s3://${r.bucket}/${r.objectKey ?? ''}${r.presigned === true ? ' (presigned: sent by whoever held the URL or form)' : ''}`;

/** "from 203.0.113.7 via vpce-…" for reasons. */
export const origin = (e: MonitorEvent): string => {
  const parts: string[] = [];
  const r = e.kind === 'kms' ? e.s3Request : undefined;
  if (r !== undefined) {
    // Correlated: the real request behind the S3-made call.
    parts.push(`through ${s3RequestLabel(r)}`);
    if (r.sourceIp !== undefined) parts.push(`from ${r.sourceIp}`);
    if (r.vpcEndpointId !== undefined) parts.push(`via ${r.vpcEndpointId}`);
    parts.push(`in ${e.region}`);
    return parts.join(' ');
  }
  if (e.kind === 'kms' && e.madeByS3) parts.push('through S3');
  else if (e.sourceIp !== undefined) parts.push(`from ${e.sourceIp}`);
  if (e.vpcEndpointId !== undefined) parts.push(`via ${e.vpcEndpointId}`);
  parts.push(`in ${e.region}`);
  return parts.join(' ');
};
