import { obj, str, type JsonObject } from './fields.ts';
import type { Principal, PrincipalType } from './types.ts';

export const PRINCIPAL_TYPES: ReadonlySet<string> = new Set<PrincipalType>([
  'Root',
  'IAMUser',
  'AssumedRole',
  'FederatedUser',
  'AWSService',
  'AWSAccount',
  'IdentityCenterUser',
  'Unknown',
]);

/**
 * The prefixes of the principal ids made here when a record has no ARN to name its caller, each followed by the
 * caller's account (`iam-user:<account>:<name>`): with an ARN's own account field, they let a store that keeps
 * only the principal id (the ledger's object records) select a caller's account exactly.
 */
export const ACCOUNT_SCOPED_PRINCIPAL_PREFIXES = ['iam-user', 'assumed-role', 'aws-account'] as const;

/** `<prefix>:<account>:<name>`: the id of a caller a record names by its account and a name, not by an ARN. */
const accountScopedId = (prefix: (typeof ACCOUNT_SCOPED_PRINCIPAL_PREFIXES)[number], accountId: string | undefined, name: string): string =>
  `${prefix}:${accountId ?? 'unknown'}:${name}`;

const UNKNOWN: Principal = { type: 'Unknown', id: 'unknown', isAwsService: false, arn: undefined, sessionName: undefined, accountId: undefined, accessKeyId: undefined };

const ASSUMED_ROLE_ARN = /^arn:([^:]+):sts::(\d{12}):assumed-role\/(.+)$/;
const ASSUMED_ROLE = ':assumed-role/';

/** `arn:aws:sts::123456789012:assumed-role/RoleName/session` → role ARN and session name. */
export const foldAssumedRoleArn = (
  arn: string,
): { roleArn: string; sessionName: string | undefined } | undefined => {
  const m = ASSUMED_ROLE_ARN.exec(arn);
  if (!m) return undefined;
  const [, partition, account, rest = ''] = m;
  const slash = rest.lastIndexOf('/');
  const roleName = slash === -1 ? rest : rest.slice(0, slash);
  const sessionName = slash === -1 ? undefined : rest.slice(slash + 1);
  return { roleArn: `arn:${partition}:iam::${account}:role/${roleName}`, sessionName };
};

/**
 * `foldAssumedRoleArn(arn)?.sessionName`, without building the role ARN or the match's parts: for a session whose
 * issuer names its role, which is most records, only the session name is needed.
 */
export const assumedRoleSessionName = (arn: string): string | undefined => {
  if (!ASSUMED_ROLE_ARN.test(arn)) return undefined;
  // The first `:assumed-role/`: what comes before it (`arn:<partition>:sts::<account>`) cannot hold one.
  const restStart = arn.indexOf(ASSUMED_ROLE) + ASSUMED_ROLE.length;
  const slash = arn.lastIndexOf('/');
  return slash < restStart ? undefined : arn.slice(slash + 1);
};

/** Service-linked roles live under `/aws-service-role/` or are named `AWSServiceRoleFor…`. */
export const isServiceLinkedRoleArn = (arn: string): boolean =>
  arn.includes(':role/aws-service-role/') || /:role\/(?:.*\/)?AWSServiceRoleFor/.test(arn);

/** The principal with every field set, undefined where absent: one hidden class for all of them (see types.ts). */
const principalOf = (type: PrincipalType, id: string, isAwsService: boolean, arn: string | undefined, sessionName: string | undefined, accountId: string | undefined, accessKeyId: string | undefined): Principal =>
  ({ type, id, isAwsService, arn, sessionName, accountId, accessKeyId });

const sessionIssuerArn = (ui: JsonObject): string | undefined => str(obj(obj(ui['sessionContext'])?.['sessionIssuer'])?.['arn']);

/**
 * The identity of an AWS service event (`eventType` AwsServiceEvent: KMS rotating a key, deleting one at the end of
 * its waiting period, deleting expired key material): no type, no ARN, no principal id, only the account and
 * `invokedBy` ("AWS Internal"). It is AWS acting, and is named so rather than as an unknown caller.
 */
const isServiceEventIdentity = (ui: JsonObject, arn: string | undefined, principalId: string | undefined): boolean =>
  arn === undefined && principalId === undefined && str(ui['invokedBy']) !== undefined;

/**
 * Turns `userIdentity` into a stable principal. Assumed-role sessions fold to the role ARN (the session
 * name is kept apart), so baselines learn roles rather than every session.
 */
export const normalizePrincipal = (userIdentity: unknown): Principal => {
  const ui = obj(userIdentity);
  if (!ui) return UNKNOWN;
  const rawType = str(ui['type']);
  const arn = str(ui['arn']);
  const accountId = str(ui['accountId']);
  const accessKeyId = str(ui['accessKeyId']);
  const principalId = str(ui['principalId']);
  const type: PrincipalType =
    rawType !== undefined ? (PRINCIPAL_TYPES.has(rawType) ? (rawType as PrincipalType) : 'Unknown') : isServiceEventIdentity(ui, arn, principalId) ? 'AWSService' : 'Unknown';

  switch (type) {
    case 'Root':
      return principalOf(type, arn ?? `arn:aws:iam::${accountId ?? 'unknown'}:root`, false, arn, undefined, accountId, accessKeyId);
    case 'IAMUser':
      return principalOf(type, arn ?? accountScopedId('iam-user', accountId, str(ui['userName']) ?? principalId ?? 'unknown'), false, arn, undefined, accountId, accessKeyId);
    case 'AssumedRole': {
      const issuerArn = sessionIssuerArn(ui);
      // The role ARN is folded out of the session ARN only when the session issuer does not name it; the fold
      // gives the session name too, else it is read alone.
      const folded = issuerArn === undefined && arn !== undefined ? foldAssumedRoleArn(arn) : undefined;
      const id = issuerArn ?? folded?.roleArn ?? arn ?? accountScopedId('assumed-role', accountId, principalId?.split(':')[0] ?? 'unknown');
      const sessionFromArn = issuerArn === undefined ? folded?.sessionName : arn !== undefined ? assumedRoleSessionName(arn) : undefined;
      const sessionName = sessionFromArn ?? principalId?.split(':')[1];
      return principalOf(type, id, isServiceLinkedRoleArn(id), arn, sessionName, accountId, accessKeyId);
    }
    case 'FederatedUser':
      return principalOf(type, sessionIssuerArn(ui) ?? arn ?? `federated:${principalId ?? 'unknown'}`, false, arn, undefined, accountId, accessKeyId);
    case 'AWSService':
      return principalOf(type, str(ui['invokedBy']) ?? 'aws-service', true, arn, undefined, accountId, accessKeyId);
    case 'AWSAccount':
      return principalOf(type, accountScopedId('aws-account', accountId, principalId?.split(':')[0] ?? 'unknown'), false, arn, undefined, accountId, accessKeyId);
    case 'IdentityCenterUser': {
      const userId = str(obj(ui['onBehalfOf'])?.['userId']);
      return principalOf(type, `identity-center:${userId ?? principalId ?? 'unknown'}`, false, arn, undefined, accountId, accessKeyId);
    }
    case 'Unknown': {
      const anonymous = principalId === 'anonymous' || accountId === 'ANONYMOUS_PRINCIPAL';
      return principalOf(type, anonymous ? 'anonymous' : `unknown:${principalId ?? arn ?? 'unknown'}`, false, arn, undefined, accountId, accessKeyId);
    }
  }
};

/** Reads `userIdentity.invokedBy` without normalizing the rest. */
export const invokedByOf = (userIdentity: JsonObject | undefined): string | undefined =>
  userIdentity ? str(userIdentity['invokedBy']) : undefined;
