/**
 * What KMS itself says about a key (DescribeKey, ListAliases, ListResourceTags), looked up by the shell
 * and handed to the engine: tag selectors in the configuration match on it, and findings show it.
 */
export interface KeyFacts {
  /** `ok`; `access-denied` when the key's account does not let us look (noted on findings); `unavailable` on other errors. */
  readonly lookup: 'ok' | 'access-denied' | 'not-found' | 'unavailable';
  readonly keyManager?: 'AWS' | 'CUSTOMER';
  readonly keySpec?: string;
  readonly keyState?: string;
  readonly multiRegion?: boolean;
  readonly description?: string;
  readonly aliases: readonly string[];
  readonly tags: Readonly<Record<string, string>>;
}

/** Facts per key ARN, as the shell found them for one batch. */
export type KeyFactsLookup = (keyArn: string) => KeyFacts | undefined;

export const NO_KEY_FACTS: KeyFactsLookup = () => undefined;
