import { DescribeKeyCommand, ListAliasesCommand, ListResourceTagsCommand, type KMSClient } from '@aws-sdk/client-kms';
import type { KeyFacts } from '#core/key-facts.ts';
import { realPacing, retryTransient, type Pacing } from './pacing.ts';

/** Looks up what KMS says about keys, for one batch at a time. */
export interface KeyFactsSource {
  lookup(keyArns: readonly string[]): Promise<ReadonlyMap<string, KeyFacts>>;
}

export interface KmsKeyFactsOptions {
  /** A KMS client for the key's region (and, through a member-account role, its account). */
  readonly clientFor: (region: string, accountId: string) => KMSClient;
  /** Which lookups beyond DescribeKey the configuration needs (tag and alias selectors). */
  readonly needs: { readonly tags: boolean; readonly aliases: boolean };
  /** How long facts stay cached in the container. */
  readonly ttlMs?: number;
  /** How long a failed lookup (throttled, failing) is remembered before asking again. */
  readonly failureTtlMs?: number;
  readonly maxAttempts?: number;
  readonly pacing?: Pacing;
  /** Called with each KMS call made, for metrics and the cost benchmark. */
  readonly onCall?: (operation: string) => void;
}

const KEY_ARN = /^arn:(aws[\w-]*):kms:([a-z0-9-]+):(\d{12}):key\/[\w-]+$/;
const LOOKUPS_AT_ONCE = 4;

const errorName = (error: unknown): string => (error instanceof Error ? error.name : 'Error');

/**
 * DescribeKey (plus ListResourceTags and ListAliases when the configuration selects keys by tag or alias),
 * cached per container with a TTL. Throttling and 5xx back off and retry; AccessDenied (a key in an account
 * that does not let us look) and NotFound are remembered as such and noted on findings, never fatal.
 */
export const createKmsKeyFactsSource = (options: KmsKeyFactsOptions): KeyFactsSource => {
  const pacing = options.pacing ?? realPacing;
  const ttlMs = options.ttlMs ?? 15 * 60_000;
  const failureTtlMs = options.failureTtlMs ?? 60_000;
  const maxAttempts = options.maxAttempts ?? 4;
  const cache = new Map<string, { readonly facts: KeyFacts; readonly expiresAtMs: number }>();

  const withRetries = <T>(operation: string, call: () => Promise<T>): Promise<T> =>
    retryTransient(() => {
      options.onCall?.(operation);
      return call();
    }, { pacing, maxAttempts, baseMs: 100, capMs: 5_000 });

  const describe = async (keyArn: string): Promise<KeyFacts> => {
    const parts = KEY_ARN.exec(keyArn);
    if (parts === null) return { lookup: 'not-found', aliases: [], tags: {} };
    const client = options.clientFor(parts[2] as string, parts[3] as string);
    try {
      const described = await withRetries('DescribeKey', () => client.send(new DescribeKeyCommand({ KeyId: keyArn })));
      const meta = described.KeyMetadata;
      const tags: Record<string, string> = Object.create(null) as Record<string, string>;
      const aliases: string[] = [];
      if (options.needs.tags && meta?.KeyManager !== 'AWS') {
        let marker: string | undefined;
        do {
          const page = await withRetries('ListResourceTags', () => client.send(new ListResourceTagsCommand({ KeyId: keyArn, Marker: marker })));
          for (const t of page.Tags ?? []) if (t.TagKey !== undefined && t.TagValue !== undefined) tags[t.TagKey] = t.TagValue;
          marker = page.Truncated === true ? page.NextMarker : undefined;
        } while (marker !== undefined);
      }
      if (options.needs.aliases) {
        let marker: string | undefined;
        do {
          const page = await withRetries('ListAliases', () => client.send(new ListAliasesCommand({ KeyId: keyArn, Marker: marker })));
          for (const a of page.Aliases ?? []) if (a.AliasName !== undefined) aliases.push(a.AliasName);
          marker = page.Truncated === true ? page.NextMarker : undefined;
        } while (marker !== undefined);
      }
      const facts: { -readonly [K in keyof KeyFacts]?: KeyFacts[K] } = { lookup: 'ok', aliases, tags: { ...tags } };
      if (meta?.KeyManager === 'AWS' || meta?.KeyManager === 'CUSTOMER') facts.keyManager = meta.KeyManager;
      if (meta?.KeySpec !== undefined) facts.keySpec = meta.KeySpec;
      if (meta?.KeyState !== undefined) facts.keyState = meta.KeyState;
      if (meta?.MultiRegion !== undefined) facts.multiRegion = meta.MultiRegion;
      if (meta?.Description !== undefined && meta.Description !== '') facts.description = meta.Description;
      return facts as KeyFacts;
    } catch (error) {
      const name = errorName(error);
      if (name === 'AccessDeniedException') return { lookup: 'access-denied', aliases: [], tags: {} };
      if (name === 'NotFoundException') return { lookup: 'not-found', aliases: [], tags: {} };
      return { lookup: 'unavailable', aliases: [], tags: {} };
    }
  };

  return {
    async lookup(keyArns) {
      const now = pacing.nowMs();
      const out = new Map<string, KeyFacts>();
      const missing: string[] = [];
      for (const arn of new Set(keyArns)) {
        const hit = cache.get(arn);
        if (hit !== undefined && hit.expiresAtMs > now) out.set(arn, hit.facts);
        else missing.push(arn);
      }
      for (let i = 0; i < missing.length; i += LOOKUPS_AT_ONCE) {
        const group = missing.slice(i, i + LOOKUPS_AT_ONCE);
        const found = await Promise.all(group.map(describe));
        group.forEach((arn, j) => {
          const facts = found[j] as KeyFacts;
          const kept = facts.lookup === 'unavailable' ? failureTtlMs : ttlMs;
          cache.set(arn, { facts, expiresAtMs: pacing.nowMs() + kept });
          out.set(arn, facts);
        });
      }
      return out;
    },
  };
};
