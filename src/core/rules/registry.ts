import { rule as cloudtrailKmsBlindSpot } from './cloudtrail-kms-blind-spot.ts';
import type { Rule } from './define-rule.ts';
import { rule as eventbridgeMonitorRuleTampered } from './eventbridge-monitor-rule-tampered.ts';
import { rule as kmsAccessDeniedBurst } from './kms-access-denied-burst.ts';
import { rule as kmsCrossAccount } from './kms-cross-account.ts';
import { rule as kmsDataUnderForeignKey } from './kms-data-under-foreign-key.ts';
import { rule as kmsKeyLifecycle } from './kms-key-lifecycle.ts';
import { rule as kmsMassDecrypt } from './kms-mass-decrypt.ts';
import { rule as kmsMissingEncryptionContext } from './kms-missing-encryption-context.ts';
import { rule as kmsPrincipalSeveralAnomalies } from './kms-principal-several-anomalies.ts';
import { rule as kmsRootUsage } from './kms-root-usage.ts';
import { rule as kmsS3DataKeyDirectDecrypt } from './kms-s3-data-key-direct-decrypt.ts';
import { rule as kmsS3UnusualBucket } from './kms-s3-unusual-bucket.ts';
import { rule as kmsThrottled } from './kms-throttled.ts';
import { rule as kmsUnusualClient } from './kms-unusual-client.ts';
import { rule as kmsUnusualNetwork } from './kms-unusual-network.ts';
import { rule as kmsUnusualPrincipal } from './kms-unusual-principal.ts';
import { rule as kmsUnusualRegion } from './kms-unusual-region.ts';
import { rule as s3BucketDefaultKeyChanged } from './s3-bucket-default-key-changed.ts';
import { rule as s3DecryptWithoutObjectAccess } from './s3-decrypt-without-object-access.ts';
import { rule as s3PutWithoutRequiredKms } from './s3-put-without-required-kms.ts';
import { rule as vpceAccessDenied } from './vpce-access-denied.ts';
import { rule as vpceOutsideCredentials } from './vpce-outside-credentials.ts';

/**
 * Every rule shipped with the monitor, in catalogue order. Rule ids are a public contract.
 * This list imports only `rule` from each file, and a rule file's cases are a function, so Lambda bundles
 * leave the test cases out (the packaging test checks it); catalogue.ts pairs rules with their cases, and
 * test/rules/rule-cases.test.ts keeps the two lists identical.
 */
export const ALL_RULES: readonly Rule[] = [
  kmsUnusualPrincipal,
  kmsUnusualRegion,
  kmsMissingEncryptionContext,
  kmsS3DataKeyDirectDecrypt,
  kmsMassDecrypt,
  kmsAccessDeniedBurst,
  kmsCrossAccount,
  kmsRootUsage,
  kmsThrottled,
  kmsKeyLifecycle,
  cloudtrailKmsBlindSpot,
  eventbridgeMonitorRuleTampered,
  s3DecryptWithoutObjectAccess,
  s3PutWithoutRequiredKms,
  s3BucketDefaultKeyChanged,
  kmsDataUnderForeignKey,
  kmsUnusualNetwork,
  kmsS3UnusualBucket,
  kmsUnusualClient,
  vpceAccessDenied,
  vpceOutsideCredentials,
  kmsPrincipalSeveralAnomalies,
];

export const ruleById = (id: string): Rule | undefined => ALL_RULES.find((r) => r.id === id);
