// What the first batch naming a key loads (see live-deps.ts): the KMS client and the lookups sent through it, as
// one lazy file, so that the client and its commands come from one copy of the SDK.
export { KMSClient } from '@aws-sdk/client-kms';
export { createKmsKeyFactsSource } from '#adapters/aws/kms-key-facts.ts';
