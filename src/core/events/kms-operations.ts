/** KMS operations that use key material on data: the calls baselines learn from and most rules select. */
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
