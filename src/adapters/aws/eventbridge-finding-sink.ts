import { PutEventsCommand, type EventBridgeClient, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { FindingPublishError, type FindingFailure } from '#core/errors.ts';
import type { FindingRecord } from '#core/findings/finding.ts';
import type { FindingSink } from '#core/ports.ts';
import { deliverWithRetries, realPacing, type Pacing } from './pacing.ts';

export const FINDING_DETAIL_TYPE = 'KMS Decrypt Monitor Finding';
export const FINDING_SOURCE = 'kms-decrypt-monitor';
/** PutEvents limits: 10 entries a call, 256 KB an entry (EventBridge user guide, "Calculating PutEvents entry size"). */
export const EVENTBRIDGE_LIMITS = { entriesPerCall: 10, bytesPerEntry: 256 * 1024, bytesPerCall: 1024 * 1024 } as const;

export interface EventBridgeSinkOptions {
  readonly client: EventBridgeClient;
  readonly busName: string;
  /** The event detail: ASFF or OCSF, as the user chose. */
  readonly render: (f: FindingRecord) => { readonly id: string; readonly detail: unknown; readonly resources?: readonly string[] };
  readonly pacing?: Pacing;
  readonly maxAttempts?: number;
}

/** The entry size as EventBridge counts it: Time (14 bytes) + Source + DetailType + Detail + Resources, UTF-8. */
export const entrySize = (e: PutEventsRequestEntry): number =>
  (e.Time !== undefined ? 14 : 0) +
  Buffer.byteLength(e.Source ?? '') +
  Buffer.byteLength(e.DetailType ?? '') +
  Buffer.byteLength(e.Detail ?? '') +
  (e.Resources ?? []).reduce((n, r) => n + Buffer.byteLength(r), 0);

const RETRYABLE_ENTRY_CODES = /Throttl|InternalFailure|ServiceUnavailable/i;

export const createEventBridgeFindingSink = (options: EventBridgeSinkOptions): FindingSink & { readonly stats: { calls: number; published: number } } => {
  const pacing = options.pacing ?? realPacing;
  const maxAttempts = options.maxAttempts ?? 6;
  const stats = { calls: 0, published: 0 };

  const send = (batch: readonly { id: string; entry: PutEventsRequestEntry }[]): Promise<FindingFailure[]> =>
    deliverWithRetries({
      items: batch,
      idOf: (p) => p.id,
      pacing,
      maxAttempts,
      isTransientCode: (code) => RETRYABLE_ENTRY_CODES.test(code),
      send: async (pending) => {
        stats.calls++;
        const res = await options.client.send(new PutEventsCommand({ Entries: pending.map((p) => p.entry) }));
        // Entries come back in request order; a failed one carries ErrorCode.
        return pending.map((_, i) => {
          const r = res.Entries?.[i];
          if (r?.ErrorCode === undefined) {
            stats.published++;
            return undefined;
          }
          return { code: r.ErrorCode, ...(r.ErrorMessage !== undefined ? { message: r.ErrorMessage } : {}) };
        });
      },
    });

  return {
    stats,
    async put(findings) {
      const failures: FindingFailure[] = [];
      let batch: { id: string; entry: PutEventsRequestEntry }[] = [];
      let batchBytes = 0;
      for (const f of findings) {
        const rendered = options.render(f);
        const entry: PutEventsRequestEntry = {
          Source: FINDING_SOURCE,
          DetailType: FINDING_DETAIL_TYPE,
          Detail: JSON.stringify(rendered.detail),
          EventBusName: options.busName,
          Resources: [...(rendered.resources ?? [])],
          Time: new Date(f.lastSeenMs),
        };
        const size = entrySize(entry);
        if (size > EVENTBRIDGE_LIMITS.bytesPerEntry) {
          failures.push({ id: rendered.id, code: 'EntryTooLarge', message: `${size} bytes, over the ${EVENTBRIDGE_LIMITS.bytesPerEntry}-byte limit` });
          continue;
        }
        if (batch.length >= EVENTBRIDGE_LIMITS.entriesPerCall || batchBytes + size > EVENTBRIDGE_LIMITS.bytesPerCall) {
          failures.push(...(await send(batch)));
          batch = [];
          batchBytes = 0;
        }
        batch.push({ id: rendered.id, entry });
        batchBytes += size;
      }
      if (batch.length > 0) failures.push(...(await send(batch)));
      if (failures.length > 0) throw new FindingPublishError('EventBridge', failures);
    },
  };
};
