import { createHmac } from 'node:crypto';

/**
 * The keyed hash that replaces encryption context values when `privacy.hashEncryptionContext` is on. Equal
 * values give equal hashes (so analysts can still see "the same tenant id twice"); without the key, a
 * value cannot be confirmed by guessing. Set KDM_CONTEXT_HASH_KEY; without it a fixed key is used and
 * low-entropy values could be guessed.
 */
export const contextValueHasher = (key: string | undefined): ((value: string) => string) => {
  const secret = key !== undefined && key !== '' ? key : 'kms-decrypt-monitor';
  return (value) => `hmac-sha256:${createHmac('sha256', secret).update(value).digest('hex').slice(0, 24)}`;
};
