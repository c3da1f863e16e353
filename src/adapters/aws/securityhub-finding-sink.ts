import { BatchImportFindingsCommand, type AwsSecurityFinding, type ImportFindingsError, type SecurityHubClient } from '@aws-sdk/client-securityhub';
import { FindingPublishError } from '#core/errors.ts';
import type { AsffFinding } from '#core/findings/asff.ts';
import type { FindingRecord } from '#core/findings/finding.ts';
import type { FindingSink } from '#core/ports.ts';
import { MAX_FINDING_BYTES } from './asff-validator.ts';
import { backoffMs, createRateLimiter, isRetryableError, realPacing, type Pacing } from './pacing.ts';

/** BatchImportFindings limits (Security Hub partner guide). */
export const SECURITY_HUB_LIMITS = { findingsPerCall: 100, bytesPerCall: 6 * 1024 * 1024, callsPerSecond: 10, burst: 30 } as const;

/** FailedFindings error codes worth another try; the rest (InvalidInput, InvalidAccess, ...) are final. */
const TRANSIENT_CODES = /Throttl|TooManyRequests|LimitExceeded|Internal|ServiceUnavailable|Timeout/i;

export interface SecurityHubSinkOptions {
  readonly render: (f: FindingRecord) => AsffFinding;
  /**
   * The client to import with for the finding's own account and region: Security Hub accepts a finding only
   * from the account named in AwsAccountId under the default product (see member-account-clients.ts).
   */
  readonly clientFor: (accountId: string, region: string) => SecurityHubClient;
  readonly pacing?: Pacing;
  readonly maxAttempts?: number;
}

export interface PublishStats {
  calls: number;
  imported: number;
}

export interface SecurityHubFindingSink extends FindingSink {
  readonly stats: PublishStats;
}

/** Splits findings into calls of at most 100 findings and 6 MB. */
export const batchFindings = (findings: readonly AsffFinding[]): AsffFinding[][] => {
  const batches: AsffFinding[][] = [];
  let current: AsffFinding[] = [];
  let bytes = 0;
  for (const f of findings) {
    const size = Buffer.byteLength(JSON.stringify(f)) + 1;
    if (current.length > 0 && (current.length >= SECURITY_HUB_LIMITS.findingsPerCall || bytes + size > SECURITY_HUB_LIMITS.bytesPerCall - 1024)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(f);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
};

export const createSecurityHubFindingSink = (options: SecurityHubSinkOptions): SecurityHubFindingSink => {
  const pacing = options.pacing ?? realPacing;
  const maxAttempts = options.maxAttempts ?? 6;
  const limiters = new Map<string, { take(): Promise<void> }>();
  const stats: PublishStats = { calls: 0, imported: 0 };

  const importBatch = async (client: SecurityHubClient, limiterKey: string, batch: readonly AsffFinding[]): Promise<{ id: string; code: string; message?: string }[]> => {
    let limiter = limiters.get(limiterKey);
    if (limiter === undefined) {
      // The quota is per account and Region.
      limiter = createRateLimiter(SECURITY_HUB_LIMITS.callsPerSecond, SECURITY_HUB_LIMITS.burst, pacing);
      limiters.set(limiterKey, limiter);
    }
    let pending = [...batch];
    const final: { id: string; code: string; message?: string }[] = [];
    let lastFailure = new Map<string, { code: string; message?: string }>();
    for (let attempt = 0; attempt < maxAttempts && pending.length > 0; attempt++) {
      if (attempt > 0) await pacing.sleep(backoffMs(attempt, pacing));
      await limiter.take();
      stats.calls++;
      let failed: ImportFindingsError[];
      try {
        // The engine's ASFF is validated against this model (asff-validator.ts); the SDK type is structural.
        const res = await client.send(new BatchImportFindingsCommand({ Findings: pending as unknown as AwsSecurityFinding[] }));
        failed = res.FailedFindings ?? [];
        stats.imported += pending.length - failed.length;
      } catch (error) {
        const code = (error as Error).name || 'Error';
        lastFailure = new Map(pending.map((f) => [f.Id, { code, message: (error as Error).message }]));
        if (!isRetryableError(error)) break;
        continue;
      }
      lastFailure = new Map();
      const retry = new Set<string>();
      for (const f of failed) {
        const id = f.Id ?? '?';
        const failure = { code: f.ErrorCode ?? 'Unknown', ...(f.ErrorMessage !== undefined ? { message: f.ErrorMessage } : {}) };
        if (TRANSIENT_CODES.test(failure.code)) {
          retry.add(id);
          lastFailure.set(id, failure);
        } else final.push({ id, ...failure });
      }
      pending = pending.filter((f) => retry.has(f.Id));
    }
    for (const f of pending) final.push({ id: f.Id, ...(lastFailure.get(f.Id) ?? { code: 'RetriesExhausted' }) });
    return final;
  };

  return {
    stats,
    async put(findings) {
      const failures: { id: string; code: string; message?: string }[] = [];
      const groups = new Map<string, AsffFinding[]>();
      for (const record of findings) {
        const f = options.render(record);
        const bytes = Buffer.byteLength(JSON.stringify(f));
        if (bytes > MAX_FINDING_BYTES) {
          failures.push({ id: f.Id, code: 'FindingSizeExceeded', message: `${bytes} bytes, over the ${MAX_FINDING_BYTES}-byte limit` });
          continue;
        }
        const key = `${String(f['AwsAccountId'])}|${String(f['Region'])}`;
        groups.set(key, [...(groups.get(key) ?? []), f]);
      }
      for (const [key, group] of groups) {
        const [accountId = '', region = ''] = key.split('|');
        const client = options.clientFor(accountId, region);
        for (const batch of batchFindings(group)) failures.push(...(await importBatch(client, key, batch)));
      }
      if (failures.length > 0) throw new FindingPublishError('Security Hub', failures);
    },
  };
};
