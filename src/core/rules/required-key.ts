import { BARE_KEY_ID, KMS_KEY_OR_ALIAS_ARN } from '../events/normalize.ts';

/**
 * A bucket's required key as the configuration names it (`buckets[].requiredKmsKey`: a key ARN, a key id, an alias
 * name with or without `alias/`, or an alias ARN), as the key or the alias name it stands for. Both S3 rules read
 * it so, the one that weighs writes and the one that weighs a bucket's default.
 */
export const requiredKeyOf = (required: string): { readonly key: string } | { readonly alias: string } => {
  const arn = KMS_KEY_OR_ALIAS_ARN.exec(required);
  if (arn !== null) return arn[2] === 'key' ? { key: required } : { alias: `alias/${arn[3] ?? ''}` };
  if (BARE_KEY_ID.test(required)) return { key: required };
  return { alias: required.startsWith('alias/') ? required : `alias/${required}` };
};

/** Does the required key name this key (by its ARN, or by its alias where that is known)? */
export const keyMatchesRequired = (required: string, keyArn: string | undefined, alias: string | undefined): boolean => {
  const wanted = requiredKeyOf(required);
  if ('alias' in wanted) return alias === wanted.alias;
  return keyArn !== undefined && (keyArn === wanted.key || keyArn.endsWith(`/${wanted.key}`));
};
