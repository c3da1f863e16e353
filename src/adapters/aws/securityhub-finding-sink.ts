import { BatchImportFindingsCommand, type AwsSecurityFinding, type ImportFindingsError, type SecurityHubClient } from '@aws-sdk/client-securityhub';
import { FindingPublishError, type FindingFailure } from '#core/errors.ts';
import type { AsffFinding } from '#core/findings/asff.ts';
import type { FindingRecord } from '#core/findings/finding.ts';
import type { FindingSink } from '#core/ports.ts';
import { MAX_FINDING_BYTES } from './asff-validator.ts';
import { createRateLimiter, deliverWithRetries, realPacing, type Pacing } from './pacing.ts';

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

/** Findings grouped by the account and Region they must be imported into (Security Hub's rule). */
export const groupByImportTarget = (findings: readonly AsffFinding[]): Map<string, AsffFinding[]> => {
  const groups = new Map<string, AsffFinding[]>();
  for (const f of findings) {
    const key = `${String(f['AwsAccountId'])}|${String(f['Region'])}`;
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [f]);
    else group.push(f);
  }
  return groups;
};

export const createSecurityHubFindingSink = (options: SecurityHubSinkOptions): SecurityHubFindingSink => {
  const pacing = options.pacing ?? realPacing;
  const maxAttempts = options.maxAttempts ?? 6;
  const limiters = new Map<string, { take(): Promise<void> }>();
  const stats: PublishStats = { calls: 0, imported: 0 };

  const importBatch = async (client: SecurityHubClient, limiterKey: string, batch: readonly AsffFinding[]): Promise<FindingFailure[]> => {
    let limiter = limiters.get(limiterKey);
    if (limiter === undefined) {
      // The quota is per account and Region.
      limiter = createRateLimiter(SECURITY_HUB_LIMITS.callsPerSecond, SECURITY_HUB_LIMITS.burst, pacing);
      limiters.set(limiterKey, limiter);
    }
    const take = limiter.take;
    return deliverWithRetries({
      items: batch,
      idOf: (f) => f.Id,
      pacing,
      maxAttempts,
      isTransientCode: (code) => TRANSIENT_CODES.test(code),
      beforeCall: () => take(),
      send: async (pending) => {
        stats.calls++;
        // The engine's ASFF is validated against this model (asff-validator.ts); the SDK type is structural.
        const res = await client.send(new BatchImportFindingsCommand({ Findings: pending as unknown as AwsSecurityFinding[] }));
        const failed = new Map<string, ImportFindingsError>((res.FailedFindings ?? []).map((f) => [f.Id ?? '?', f]));
        stats.imported += pending.length - failed.size;
        return pending.map((f) => {
          const failure = failed.get(f.Id);
          return failure === undefined ? undefined : { code: failure.ErrorCode ?? 'Unknown', ...(failure.ErrorMessage !== undefined ? { message: failure.ErrorMessage } : {}) };
        });
      },
    });
  };

  return {
    stats,
    async put(findings) {
      const failures: FindingFailure[] = [];
      const importable: AsffFinding[] = [];
      for (const record of findings) {
        const f = options.render(record);
        const bytes = Buffer.byteLength(JSON.stringify(f));
        if (bytes > MAX_FINDING_BYTES) failures.push({ id: f.Id, code: 'FindingSizeExceeded', message: `${bytes} bytes, over the ${MAX_FINDING_BYTES}-byte limit`, refused: true });
        else importable.push(f);
      }
      for (const [key, group] of groupByImportTarget(importable)) {
        const [accountId = '', region = ''] = key.split('|');
        const client = options.clientFor(accountId, region);
        for (const batch of batchFindings(group)) failures.push(...(await importBatch(client, key, batch)));
      }
      if (failures.length > 0) throw new FindingPublishError('Security Hub', failures);
    },
  };
};
