import type { KmsCall } from './types.ts';

/** What the engine fills in on a KMS call after normalizing: the key behind an alias, and how correlation matched it. */
export type KmsCallChanges = Partial<Pick<KmsCall, 'keyArn' | 'keyAccountId' | 'keyAlias' | 'correlation' | 's3Request'>>;

/** Every field of a KMS call, present even when undefined: what the copy's literal must list. */
type EveryField<T> = { readonly [K in keyof T]-?: T[K] };

/**
 * `e` with `changes` made (a change that is undefined leaves the field as it was), as one literal that lists every
 * field in `normalizeRecord`'s order. On Node.js 20's V8, a copy made by spreading (`{ ...e, keyAlias }`) gets a
 * hidden class of its own, and a spread of that copy another: the engine's calls then came in five classes, and
 * every property read that met them all (the ledger's, the rules', the baselines') fell to V8's megamorphic lookup.
 * This copy shares the normalized call's class there too (V8 12.4, in Node.js 22 and later, keeps it for a spread as
 * well). The type makes the literal list every field, so a field added to `KmsCall` must be
 * added here too.
 */
export const kmsCallWith = (e: KmsCall, changes: KmsCallChanges): KmsCall => {
  const copy: EveryField<KmsCall> = {
    eventId: e.eventId,
    sharedEventId: e.sharedEventId,
    eventTimeMs: e.eventTimeMs,
    eventName: e.eventName,
    region: e.region,
    principal: e.principal,
    recipientAccountId: e.recipientAccountId,
    sourceIp: e.sourceIp,
    userAgent: e.userAgent,
    vpcEndpointId: e.vpcEndpointId,
    errorCode: e.errorCode,
    errorMessage: e.errorMessage,
    readOnly: e.readOnly,
    kind: 'kms',
    keyArn: changes.keyArn ?? e.keyArn,
    keyAccountId: changes.keyAccountId ?? e.keyAccountId,
    keyAlias: changes.keyAlias ?? e.keyAlias,
    keyIdParameter: e.keyIdParameter,
    encryptionContext: e.encryptionContext,
    s3Arn: e.s3Arn,
    invokedBy: e.invokedBy,
    madeByAwsService: e.madeByAwsService,
    madeByS3: e.madeByS3,
    request: e.request,
    correlation: changes.correlation ?? e.correlation,
    s3Request: changes.s3Request ?? e.s3Request,
  };
  return copy;
};
