import { DEFAULT_CORRELATION, type CorrelationSettings } from './correlation/correlate.ts';
import type { Glob } from './glob.ts';
import type { NetworkList } from './network.ts';
import type { KeyPolicyView, RuleSettings } from './rules/define-rule.ts';

export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;

/** A suppression silences one rule for matching findings until it expires; it always has a reason. */
export interface Suppression {
  readonly id: string;
  readonly ruleId: string;
  readonly reason: string;
  readonly expiresMs: number;
  readonly principal?: Glob;
  readonly key?: Glob;
  readonly bucket?: Glob;
  readonly account?: Glob;
  /**
   * VPC endpoints and address ranges the finding came through or from: the S3 request's, for a call S3 made that was
   * matched to one; else the call's or the data event's own.
   */
  readonly networks?: NetworkList;
}

/** Everything the pure engine needs to know about its settings; built by the shell from flags and YAML. */
export interface EngineConfig {
  /** Baseline rules stay silent and learn for this long after a key's first call (event time). */
  readonly learningPeriodMs: number;
  /** How long (event time) a delivered record is remembered to drop duplicate deliveries. */
  readonly dedupeRetentionMs: number;
  /** Overrides per rule id. */
  readonly rules: Readonly<Record<string, Partial<RuleSettings>>>;
  readonly keyPolicy: KeyPolicyView;
  readonly suppressions: readonly Suppression[];
  readonly correlation: CorrelationSettings;
  /**
   * The Region findings about a principal as a whole (a rule over findings' stories) are kept under, whatever Regions
   * their findings came from: Security Hub's aggregation Region, typically. Undefined: the Region of the story's first
   * finding, which an earlier finding of another Region delivered late moves.
   */
  readonly homeRegion?: string | undefined;
}

export const OPEN_KEY_POLICY: KeyPolicyView = {
  isSensitiveKey: () => false,
  isPrincipalAllowed: () => undefined,
  isRegionAllowed: () => undefined,
  isNetworkAllowed: () => undefined,
  allowedNetworks: () => undefined,
  isAccountTrusted: () => false,
  requiredContext: () => undefined,
  requiredBucketKey: () => undefined,
  bucketNetworks: () => undefined,
  needs: { tags: false, aliases: false },
  withKeyFacts: () => OPEN_KEY_POLICY,
};

export const DEFAULT_ENGINE_CONFIG: EngineConfig = {
  learningPeriodMs: 7 * DAY_MS,
  dedupeRetentionMs: 24 * HOUR_MS,
  rules: {},
  keyPolicy: OPEN_KEY_POLICY,
  suppressions: [],
  correlation: DEFAULT_CORRELATION,
};

/** Parses durations such as `90s`, `15m`, `6h`, `7d`, `2w` into milliseconds. */
export const parseDurationMs = (text: string): number | undefined => {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$/.exec(text);
  if (!m) return undefined;
  const value = Number(m[1]);
  const unit = { ms: 1, s: 1000, m: MINUTE_MS, h: HOUR_MS, d: DAY_MS, w: 7 * DAY_MS }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd' | 'w'];
  return value * unit;
};
