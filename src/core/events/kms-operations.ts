/** KMS operations that use key material on data, and may carry an encryption context (the context rule selects them). */
export const KMS_CRYPTO_OPERATIONS = [
  'Decrypt',
  'Encrypt',
  'ReEncrypt',
  'GenerateDataKey',
  'GenerateDataKeyWithoutPlaintext',
  'GenerateDataKeyPair',
  'GenerateDataKeyPairWithoutPlaintext',
] as const;

export const KMS_CRYPTO_OPERATION_SET: ReadonlySet<string> = new Set(KMS_CRYPTO_OPERATIONS);

/**
 * Every KMS operation that hands its caller something only the key's secret or private material could make: the
 * data operations above, a signature (`Sign`, asymmetric signing keys), an HMAC (`GenerateMac`, HMAC keys) and an
 * ECDH shared secret (`DeriveSharedSecret`, key-agreement keys, from which the caller derives keys that decrypt).
 * Who makes these calls, from where, is what the baselines learn and the principal, region, network, account and
 * root rules watch. `Verify` and `VerifyMac` are left out: they only answer whether a signature or MAC is valid
 * (a signature can be verified without KMS, with the public key). A key serves one of these uses (its `KeyUsage`;
 * KMS refuses the others), so a key's baseline never mixes signing with decrypting: the share of its direct calls
 * that pass an encryption context, which the context rule weighs, is a data key's own.
 */
export const KMS_KEY_USE_OPERATIONS = [...KMS_CRYPTO_OPERATIONS, 'Sign', 'GenerateMac', 'DeriveSharedSecret'] as const;

export const KMS_KEY_USE_OPERATION_SET: ReadonlySet<string> = new Set(KMS_KEY_USE_OPERATIONS);

/** Error codes that mean "you may not" or "that is not yours": the material of a denied burst. */
export const KMS_DENIAL_ERRORS: ReadonlySet<string> = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'InvalidCiphertextException',
  'IncorrectKeyException',
  'KMSInvalidStateException',
  'DisabledException',
  'NotFoundException',
  'InvalidKeyUsageException',
  'InvalidGrantTokenException',
  'KeyUnavailableException',
  'UnauthorizedOperation',
]);

export const KMS_THROTTLING_ERRORS: ReadonlySet<string> = new Set(['ThrottlingException', 'Throttling', 'LimitExceededException', 'RequestLimitExceeded']);
