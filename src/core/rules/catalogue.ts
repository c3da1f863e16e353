import * as cloudtrailKmsBlindSpot from './cloudtrail-kms-blind-spot.ts';
import type { Rule, RuleCase } from './define-rule.ts';
import * as eventbridgeMonitorRuleTampered from './eventbridge-monitor-rule-tampered.ts';
import * as kmsAccessDeniedBurst from './kms-access-denied-burst.ts';
import * as kmsCrossAccount from './kms-cross-account.ts';
import * as kmsDataUnderForeignKey from './kms-data-under-foreign-key.ts';
import * as kmsKeyLifecycle from './kms-key-lifecycle.ts';
import * as kmsMassDecrypt from './kms-mass-decrypt.ts';
import * as kmsMissingEncryptionContext from './kms-missing-encryption-context.ts';
import * as kmsPrincipalSeveralAnomalies from './kms-principal-several-anomalies.ts';
import * as kmsRootUsage from './kms-root-usage.ts';
import * as kmsS3DataKeyDirectDecrypt from './kms-s3-data-key-direct-decrypt.ts';
import * as kmsS3UnusualBucket from './kms-s3-unusual-bucket.ts';
import * as kmsThrottled from './kms-throttled.ts';
import * as kmsUnusualClient from './kms-unusual-client.ts';
import * as kmsUnusualNetwork from './kms-unusual-network.ts';
import * as kmsUnusualPrincipal from './kms-unusual-principal.ts';
import * as kmsUnusualRegion from './kms-unusual-region.ts';
import * as s3BucketDefaultKeyChanged from './s3-bucket-default-key-changed.ts';
import * as s3DecryptWithoutObjectAccess from './s3-decrypt-without-object-access.ts';
import * as s3PutWithoutRequiredKms from './s3-put-without-required-kms.ts';
import * as vpceAccessDenied from './vpce-access-denied.ts';
import * as vpceOutsideCredentials from './vpce-outside-credentials.ts';

/**
 * Each rule with its test cases, for `kdm rules test` and the rule-case suite (not for Lambda bundles). A rule
 * file's cases are a function, built when this catalogue is imported: a bundle that imports only `rule` never
 * builds them.
 */
export const RULE_MODULES: readonly { readonly rule: Rule; readonly cases: readonly RuleCase[] }[] = [
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
].map((m) => ({ rule: m.rule, cases: m.cases() }));
