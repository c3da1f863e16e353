import { createHmac } from 'node:crypto';
import { ConfigError } from '#core/errors.ts';

/** Shortest KDM_CONTEXT_HASH_KEY taken: a key that can be guessed would let values be confirmed by guessing. */
export const MIN_CONTEXT_HASH_KEY_LENGTH = 16;

/**
 * The keyed hash that replaces encryption context values when `privacy.hashEncryptionContext` is on. Equal
 * values give equal hashes (so analysts can still see "the same tenant id twice"); without the key, a value
 * cannot be confirmed by guessing. The key (KDM_CONTEXT_HASH_KEY) is required: with a key anyone could know, a
 * tenant id or file name in a finding could be recovered by hashing guesses, so the setting would promise
 * privacy it does not give.
 */
export const contextValueHasher = (key: string | undefined): ((value: string) => string) => {
  if (key === undefined || key === '') {
    throw new ConfigError(`privacy.hashEncryptionContext needs a secret key in KDM_CONTEXT_HASH_KEY (at least ${MIN_CONTEXT_HASH_KEY_LENGTH} characters, e.g. from \`openssl rand -hex 32\`): without one, hashed values could be confirmed by guessing`);
  }
  if (key.length < MIN_CONTEXT_HASH_KEY_LENGTH) throw new ConfigError(`KDM_CONTEXT_HASH_KEY is ${key.length} characters; it needs at least ${MIN_CONTEXT_HASH_KEY_LENGTH} (e.g. from \`openssl rand -hex 32\`)`);
  return (value) => `hmac-sha256:${createHmac('sha256', key).update(value).digest('hex').slice(0, 24)}`;
};
