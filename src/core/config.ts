import { isCalendarDate } from './events/fields.ts';
import { compileGlob } from './glob.ts';
import { DEFAULT_ENGINE_CONFIG, parseDurationMs, type EngineConfig, type Suppression } from './engine-config.ts';
import type { KeyFacts, KeyFactsLookup } from './key-facts.ts';
import { compileNetworkList, type NetworkList } from './network.ts';
import type { KeyPolicyView, RuleSettings, Severity } from './rules/define-rule.ts';

/** A key as the configuration names it: by ARN, alias or tag (tags and KMS-known aliases match when KMS enrichment runs). */
export interface KeySelector {
  readonly arn?: string;
  readonly alias?: string;
  readonly tag?: Readonly<Record<string, string>>;
}

export interface KeyConfig extends KeySelector {
  readonly sensitive?: boolean;
  /** Principal patterns allowed to use the key (`*` wildcards). Anything else fires kms-unusual-principal. */
  readonly allowedPrincipals?: readonly string[];
  readonly allowedRegions?: readonly string[];
  /** VPC endpoint ids and address ranges (CIDR) direct calls may come through or from. Anything else fires kms-unusual-network. */
  readonly allowedNetworks?: readonly string[];
  /** Context every direct call must carry: a value, or `*` for any value. */
  readonly requiredContext?: Readonly<Record<string, string>>;
}

export interface BucketConfig {
  /** The bucket's name, or a pattern of names with `*` wildcards (an exact name wins over patterns, which apply in order). */
  readonly name: string;
  /** KMS key (ARN or alias) that objects written to the bucket must use. */
  readonly requiredKmsKey?: string;
  /**
   * VPC endpoint ids and address ranges the S3 requests for the bucket's SSE-KMS objects may come through or from,
   * as a bucket policy's `aws:SourceVpce` and `aws:SourceIp` would allow them. Anything else fires kms-unusual-network.
   */
  readonly allowedNetworks?: readonly string[];
}

export interface RuleConfig {
  readonly enabled?: boolean;
  readonly severity?: Severity;
  readonly threshold?: number;
  readonly window?: string;
}

export interface SuppressionConfig {
  readonly id: string;
  readonly rule: string;
  readonly reason: string;
  /** `YYYY-MM-DD` (end of that day, UTC) or an RFC 3339 time. */
  readonly expires: string;
  readonly principal?: string;
  readonly key?: string;
  readonly bucket?: string;
  readonly account?: string;
  /** VPC endpoint ids and address ranges (`allowedNetworks`' entries): the finding's network is one of them. */
  readonly networks?: readonly string[];
}

/** The configuration file (kdm.config.yaml) after validation, before compilation. */
export interface ConfigFile {
  readonly learningPeriod?: string;
  readonly dedupeRetention?: string;
  readonly trustedAccounts?: readonly string[];
  readonly allowedRegions?: readonly string[];
  /** VPC endpoint ids and address ranges every key's direct calls may come through or from. */
  readonly allowedNetworks?: readonly string[];
  readonly keys?: readonly KeyConfig[];
  readonly buckets?: readonly BucketConfig[];
  readonly rules?: Readonly<Record<string, RuleConfig>>;
  readonly suppressions?: readonly SuppressionConfig[];
  readonly correlation?: { readonly window?: string; readonly lateness?: string; readonly bucketKeyReuse?: string };
  /** `hashEncryptionContext`: findings keep encryption context keys, with each value replaced by a keyed hash. */
  readonly privacy?: { readonly hashEncryptionContext?: boolean };
  /** Where findings about a principal as a whole are kept (`EngineConfig.homeRegion`). */
  readonly homeRegion?: string;
}

const keyIdOf = (arn: string): string => arn.slice(arn.lastIndexOf('/') + 1);

/** `alias/<name>` for a selector's alias, which may leave out the prefix. */
const aliasPattern = (alias: string): string => (alias.startsWith('alias/') ? alias : `alias/${alias}`);

/**
 * A key selector with its patterns compiled once: the key policy asks it for every KMS call its rules weigh.
 * True when it names the key (by ARN, key id, alias, or tags KMS reported; with `*` wildcards).
 */
const compileKeySelector = (sel: KeySelector): ((keyArn: string, alias: string | undefined, facts?: KeyFacts) => boolean) => {
  const tagPatterns = sel.tag !== undefined ? Object.entries(sel.tag).map(([name, value]) => [name, compileGlob(value)] as const) : undefined;
  const aliasGlob = sel.alias !== undefined ? compileGlob(aliasPattern(sel.alias)) : undefined;
  const arnGlob = sel.arn !== undefined ? compileGlob(sel.arn) : undefined;
  return (keyArn, alias, facts) => {
    if (tagPatterns !== undefined && facts !== undefined && tagPatterns.length > 0) {
      const tags = facts.tags;
      if (tagPatterns.every(([name, pattern]) => Object.prototype.hasOwnProperty.call(tags, name) && pattern.test(tags[name] ?? ''))) return true;
    }
    if (aliasGlob !== undefined && facts !== undefined && facts.aliases.some((a) => aliasGlob.test(a))) return true;
    if (arnGlob !== undefined && (arnGlob.test(keyArn) || arnGlob.test(keyIdOf(keyArn)))) return true;
    return aliasGlob !== undefined && alias !== undefined && aliasGlob.test(alias);
  };
};

/** True when a key config names this key (by exact ARN, key id, or alias; with `*` wildcards). */
export const keySelectorMatches = (sel: KeySelector, keyArn: string, alias: string | undefined, facts?: KeyFacts): boolean =>
  compileKeySelector(sel)(keyArn, alias, facts);

/** End of the given day in UTC for `YYYY-MM-DD`, else the instant given; undefined for a day not on the calendar. */
export const parseExpiryMs = (text: string): number | undefined => {
  if (!isCalendarDate(text.slice(0, 10))) return undefined;
  if (/^\d{4}-\d{2}-\d{2}$/.test(text)) {
    const ms = Date.parse(`${text}T23:59:59.999Z`);
    return Number.isFinite(ms) ? ms : undefined;
  }
  const ms = Date.parse(text);
  return /^\d{4}-\d{2}-\d{2}T/.test(text) && Number.isFinite(ms) ? ms : undefined;
};

/**
 * One setting of the buckets that give it, looked up by a bucket's name: a bucket named exactly wins over patterns
 * (names with `*`), and patterns apply in the file's order.
 */
const bucketSetting = <T>(buckets: readonly BucketConfig[] | undefined, settingOf: (b: BucketConfig) => T | undefined): ((bucket: string) => T | undefined) => {
  const given = (buckets ?? []).flatMap((b) => {
    const value = settingOf(b);
    return value !== undefined ? [{ name: b.name, value }] : [];
  });
  const byName = new Map(given.filter((b) => !b.name.includes('*')).map((b) => [b.name, b.value] as const));
  const patterns = given.filter((b) => b.name.includes('*')).map((b) => ({ pattern: compileGlob(b.name), value: b.value }));
  return (bucket) => byName.get(bucket) ?? (patterns.length === 0 ? undefined : patterns.find((b) => b.pattern.test(bucket))?.value);
};

const compileKeyPolicy = (file: ConfigFile): KeyPolicyView => {
  const keys = (file.keys ?? []).map((k) => ({
    ...k,
    matches: compileKeySelector(k),
    principalPatterns: k.allowedPrincipals?.map(compileGlob),
    networks: k.allowedNetworks !== undefined ? compileNetworkList(k.allowedNetworks) : undefined,
  }));
  const networks = file.allowedNetworks !== undefined ? compileNetworkList(file.allowedNetworks) : undefined;
  const anyNetworks = networks !== undefined || keys.some((k) => k.networks !== undefined);
  const trusted = new Set(file.trustedAccounts ?? []);
  const requiredBucketKey = bucketSetting(file.buckets, (b) => b.requiredKmsKey);
  const bucketNetworks = bucketSetting(file.buckets, (b) => (b.allowedNetworks !== undefined ? compileNetworkList(b.allowedNetworks) : undefined));
  const needs = { tags: keys.some((k) => k.tag !== undefined), aliases: keys.some((k) => k.alias !== undefined) };
  const build = (facts: KeyFactsLookup | undefined): KeyPolicyView => {
    const configsFor = (keyArn: string, alias: string | undefined) => keys.filter((k) => k.matches(keyArn, alias, facts?.(keyArn)));
    /** The key's own network lists, then the one for all keys. */
    const networkListsFor = (keyArn: string, alias: string | undefined): NetworkList[] => [
      ...configsFor(keyArn, alias).flatMap((k) => (k.networks !== undefined ? [k.networks] : [])),
      ...(networks !== undefined ? [networks] : []),
    ];
    return {
      isSensitiveKey: (keyArn, alias) => configsFor(keyArn, alias).some((k) => k.sensitive === true),
      isPrincipalAllowed: (keyArn, alias, principalId) => {
        const lists = configsFor(keyArn, alias).filter((k) => k.principalPatterns !== undefined);
        if (lists.length === 0) return undefined;
        return lists.some((k) => k.principalPatterns?.some((pattern) => pattern.test(principalId)) === true);
      },
      isRegionAllowed: (keyArn, alias, region) => {
        const lists = [...configsFor(keyArn, alias).flatMap((k) => (k.allowedRegions !== undefined ? [k.allowedRegions] : [])), ...(file.allowedRegions !== undefined ? [file.allowedRegions] : [])];
        if (lists.length === 0) return undefined;
        return lists.every((list) => list.includes(region));
      },
      isNetworkAllowed: (keyArn, alias, vpcEndpointId, sourceIp) => {
        // Asked of every direct call: with no list anywhere, nothing to look through.
        if (!anyNetworks) return undefined;
        const lists = networkListsFor(keyArn, alias);
        return lists.length === 0 ? undefined : lists.every((list) => list.allows(vpcEndpointId, sourceIp));
      },
      allowedNetworks: (keyArn, alias) => {
        const lists = networkListsFor(keyArn, alias);
        return lists.length === 0 ? undefined : [...new Set(lists.flatMap((list) => list.entries))];
      },
      isAccountTrusted: (accountId) => trusted.has(accountId),
      requiredContext: (keyArn, alias) => {
        const merged: Record<string, string | null> = Object.create(null) as Record<string, string | null>;
        let any = false;
        for (const k of configsFor(keyArn, alias)) {
          for (const [name, value] of Object.entries(k.requiredContext ?? {})) {
            merged[name] = value === '*' ? null : value;
            any = true;
          }
        }
        return any ? merged : undefined;
      },
      requiredBucketKey,
      bucketNetworks,
      needs,
      withKeyFacts: (lookup) => build(lookup),
    };
  };
  return build(undefined);
};

const durationOr = (text: string | undefined, fallback: number): number => (text !== undefined ? parseDurationMs(text) : undefined) ?? fallback;

/**
 * Turns a validated configuration file into the engine's settings. Pure: the caller validated shapes
 * (with file and line) and passes the clock only to decide nothing here; expiry is judged per finding.
 */
export const compileConfig = (file: ConfigFile, base: EngineConfig = DEFAULT_ENGINE_CONFIG): EngineConfig => {
  const rules: Record<string, Partial<RuleSettings>> = { ...base.rules };
  for (const [id, r] of Object.entries(file.rules ?? {})) {
    const s: { -readonly [K in keyof RuleSettings]?: RuleSettings[K] } = {};
    if (r.enabled !== undefined) s.enabled = r.enabled;
    if (r.severity !== undefined) s.severity = r.severity;
    if (r.threshold !== undefined) s.threshold = r.threshold;
    if (r.window !== undefined) {
      const ms = parseDurationMs(r.window);
      if (ms !== undefined) s.windowMs = ms;
    }
    rules[id] = s;
  }
  const suppressions: Suppression[] = (file.suppressions ?? []).map((s) => {
    const out: { -readonly [K in keyof Suppression]?: Suppression[K] } = {
      id: s.id,
      ruleId: s.rule,
      reason: s.reason,
      expiresMs: parseExpiryMs(s.expires) ?? 0,
    };
    if (s.principal !== undefined) out.principal = compileGlob(s.principal);
    if (s.key !== undefined) out.key = compileGlob(s.key);
    if (s.bucket !== undefined) out.bucket = compileGlob(s.bucket);
    if (s.account !== undefined) out.account = compileGlob(s.account);
    if (s.networks !== undefined) out.networks = compileNetworkList(s.networks);
    return out as Suppression;
  });
  return {
    learningPeriodMs: (file.learningPeriod !== undefined ? parseDurationMs(file.learningPeriod) : undefined) ?? base.learningPeriodMs,
    dedupeRetentionMs: (file.dedupeRetention !== undefined ? parseDurationMs(file.dedupeRetention) : undefined) ?? base.dedupeRetentionMs,
    rules,
    keyPolicy: compileKeyPolicy(file),
    suppressions,
    correlation: {
      windowMs: durationOr(file.correlation?.window, base.correlation.windowMs),
      latenessMs: durationOr(file.correlation?.lateness, base.correlation.latenessMs),
      bucketKeyReuseMs: durationOr(file.correlation?.bucketKeyReuse, base.correlation.bucketKeyReuseMs),
    },
    homeRegion: file.homeRegion ?? base.homeRegion,
  };
};
