import type { FindingFailure } from '#core/errors.ts';

/** Time and waiting, injectable so tests of retries and rate limits run instantly and deterministically. */
export interface Pacing {
  readonly nowMs: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  /** 0 ≤ x < 1, for jitter. */
  readonly random: () => number;
}

export const realPacing: Pacing = {
  nowMs: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: Math.random,
};

/** A token bucket: `ratePerSecond` sustained, `burst` at once (Security Hub: 10/s, burst 30). */
export const createRateLimiter = (ratePerSecond: number, burst: number, pacing: Pacing): { take(): Promise<void> } => {
  let tokens = burst;
  let last = pacing.nowMs();
  return {
    async take() {
      for (;;) {
        const now = pacing.nowMs();
        tokens = Math.min(burst, tokens + ((now - last) * ratePerSecond) / 1000);
        last = now;
        if (tokens >= 1) {
          tokens -= 1;
          return;
        }
        await pacing.sleep(Math.ceil(((1 - tokens) * 1000) / ratePerSecond));
      }
    },
  };
};

/** Full-jitter exponential backoff: a random wait up to base·2^attempt, capped. */
export const backoffMs = (attempt: number, pacing: Pacing, baseMs = 200, capMs = 20_000): number =>
  Math.floor(pacing.random() * Math.min(capMs, baseMs * 2 ** attempt));

/** Throttling, 5xx and timeouts are worth retrying; validation and access errors are not. */
export const isRetryableError = (error: unknown): boolean => {
  const e = error as { name?: string; $retryable?: unknown; $metadata?: { httpStatusCode?: number }; code?: string };
  if (e.$retryable !== undefined) return true;
  const status = e.$metadata?.httpStatusCode;
  if (status !== undefined && (status >= 500 || status === 429)) return true;
  return /Throttl|TooManyRequests|LimitExceeded|ProvisionedThroughputExceeded|RequestTimeout|TimeoutError|InternalException|InternalServerError|ServiceUnavailable|ECONNRESET|ETIMEDOUT/.test(`${e.name ?? ''} ${e.code ?? ''}`);
};

/** What one call did with each item: delivered (undefined), or failed with a code. */
export type ItemOutcome = { readonly code: string; readonly message?: string } | undefined;

/**
 * Sends items, retrying with full-jitter backoff: the whole call on a retryable error (throttling, 5xx,
 * timeouts), only the failed items when a call partly fails with a transient code. Returns the items that
 * failed for good, each with its last error. Shared by the Security Hub and EventBridge sinks.
 */
export const deliverWithRetries = async <T>(options: {
  readonly items: readonly T[];
  readonly idOf: (item: T) => string;
  readonly send: (items: readonly T[]) => Promise<readonly ItemOutcome[]>;
  readonly isTransientCode: (code: string) => boolean;
  readonly pacing: Pacing;
  readonly maxAttempts: number;
  readonly beforeCall?: () => Promise<void>;
}): Promise<FindingFailure[]> => {
  const { idOf, pacing } = options;
  let pending = [...options.items];
  const final: FindingFailure[] = [];
  let last = new Map<string, { code: string; message?: string }>();
  for (let attempt = 0; attempt < options.maxAttempts && pending.length > 0; attempt++) {
    if (attempt > 0) await pacing.sleep(backoffMs(attempt, pacing));
    await options.beforeCall?.();
    let outcomes: readonly ItemOutcome[];
    try {
      outcomes = await options.send(pending);
    } catch (error) {
      last = new Map(pending.map((item) => [idOf(item), { code: (error as Error).name || 'Error', message: (error as Error).message }]));
      if (!isRetryableError(error)) break;
      continue;
    }
    last = new Map();
    const retry: T[] = [];
    pending.forEach((item, i) => {
      const outcome = outcomes[i];
      if (outcome === undefined) return;
      if (options.isTransientCode(outcome.code)) {
        retry.push(item);
        last.set(idOf(item), outcome);
      } else final.push({ id: idOf(item), ...outcome, refused: true });
    });
    pending = retry;
  }
  for (const item of pending) final.push({ id: idOf(item), ...(last.get(idOf(item)) ?? { code: 'RetriesExhausted' }) });
  return final;
};

/**
 * Runs one call, repeating it after throttling, 5xx or a timeout (a throttled call was not applied, so
 * repeating it is safe) with full-jitter backoff; any other error, or the last attempt's, is thrown.
 */
export const retryTransient = async <T>(call: () => Promise<T>, options: { readonly pacing: Pacing; readonly maxAttempts: number; readonly baseMs: number; readonly capMs: number }): Promise<T> => {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (!isRetryableError(error) || attempt + 1 >= options.maxAttempts) throw error;
      await options.pacing.sleep(backoffMs(attempt + 1, options.pacing, options.baseMs, options.capMs));
    }
  }
};
