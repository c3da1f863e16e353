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
  return /Throttl|TooManyRequests|LimitExceeded|RequestTimeout|TimeoutError|InternalException|ServiceUnavailable|ECONNRESET|ETIMEDOUT/.test(`${e.name ?? ''} ${e.code ?? ''}`);
};
