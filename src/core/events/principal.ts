import { obj, str, type JsonObject } from './fields.ts';
import type { Principal, PrincipalType } from './types.ts';

const PRINCIPAL_TYPES: ReadonlySet<string> = new Set<PrincipalType>([
  'Root',
  'IAMUser',
  'AssumedRole',
  'FederatedUser',
  'AWSService',
  'AWSAccount',
  'IdentityCenterUser',
  'Unknown',
]);

const UNKNOWN: Principal = { type: 'Unknown', id: 'unknown', isAwsService: false };

/** `arn:aws:sts::123456789012:assumed-role/RoleName/session` → role ARN and session name. */
export const foldAssumedRoleArn = (
  arn: string,
): { roleArn: string; sessionName: string | undefined } | undefined => {
  const m = /^arn:([^:]+):sts::(\d{12}):assumed-role\/(.+)$/.exec(arn);
  if (!m) return undefined;
  const [, partition, account, rest = ''] = m;
  const slash = rest.lastIndexOf('/');
  const roleName = slash === -1 ? rest : rest.slice(0, slash);
  const sessionName = slash === -1 ? undefined : rest.slice(slash + 1);
  return { roleArn: `arn:${partition}:iam::${account}:role/${roleName}`, sessionName };
};

/** Service-linked roles live under `/aws-service-role/` or are named `AWSServiceRoleFor…`. */
export const isServiceLinkedRoleArn = (arn: string): boolean =>
  arn.includes(':role/aws-service-role/') || /:role\/(?:.*\/)?AWSServiceRoleFor/.test(arn);

const withOptional = (base: Principal, extra: Partial<Record<'arn' | 'sessionName' | 'accountId' | 'accessKeyId', string | undefined>>): Principal => {
  const out: Record<string, unknown> = { type: base.type, id: base.id, isAwsService: base.isAwsService };
  if (extra.arn !== undefined) out['arn'] = extra.arn;
  if (extra.sessionName !== undefined) out['sessionName'] = extra.sessionName;
  if (extra.accountId !== undefined) out['accountId'] = extra.accountId;
  if (extra.accessKeyId !== undefined) out['accessKeyId'] = extra.accessKeyId;
  return out as unknown as Principal;
};

/**
 * Turns `userIdentity` into a stable principal. Assumed-role sessions fold to the role ARN (the session
 * name is kept apart), so baselines learn roles rather than every session.
 */
export const normalizePrincipal = (userIdentity: unknown): Principal => {
  const ui = obj(userIdentity);
  if (!ui) return UNKNOWN;
  const rawType = str(ui['type']);
  const type: PrincipalType = rawType !== undefined && PRINCIPAL_TYPES.has(rawType) ? (rawType as PrincipalType) : 'Unknown';
  const arn = str(ui['arn']);
  const accountId = str(ui['accountId']);
  const accessKeyId = str(ui['accessKeyId']);
  const principalId = str(ui['principalId']);
  const common = { arn, accountId, accessKeyId };

  switch (type) {
    case 'Root':
      return withOptional({ type, id: arn ?? `arn:aws:iam::${accountId ?? 'unknown'}:root`, isAwsService: false }, common);
    case 'IAMUser':
      return withOptional({ type, id: arn ?? `iam-user:${accountId ?? 'unknown'}:${str(ui['userName']) ?? principalId ?? 'unknown'}`, isAwsService: false }, common);
    case 'AssumedRole': {
      const issuerArn = str(obj(obj(ui['sessionContext'])?.['sessionIssuer'])?.['arn']);
      const folded = arn !== undefined ? foldAssumedRoleArn(arn) : undefined;
      const id = issuerArn ?? folded?.roleArn ?? arn ?? `assumed-role:${accountId ?? 'unknown'}:${principalId?.split(':')[0] ?? 'unknown'}`;
      const sessionName = folded?.sessionName ?? principalId?.split(':')[1];
      return withOptional({ type, id, isAwsService: isServiceLinkedRoleArn(id) }, { ...common, sessionName });
    }
    case 'FederatedUser': {
      const issuerArn = str(obj(obj(ui['sessionContext'])?.['sessionIssuer'])?.['arn']);
      return withOptional({ type, id: issuerArn ?? arn ?? `federated:${principalId ?? 'unknown'}`, isAwsService: false }, common);
    }
    case 'AWSService':
      return withOptional({ type, id: str(ui['invokedBy']) ?? 'aws-service', isAwsService: true }, common);
    case 'AWSAccount':
      return withOptional(
        { type, id: `aws-account:${accountId ?? 'unknown'}:${principalId?.split(':')[0] ?? 'unknown'}`, isAwsService: false },
        common,
      );
    case 'IdentityCenterUser': {
      const userId = str(obj(ui['onBehalfOf'])?.['userId']);
      return withOptional({ type, id: `identity-center:${userId ?? principalId ?? 'unknown'}`, isAwsService: false }, common);
    }
    case 'Unknown': {
      const anonymous = principalId === 'anonymous' || accountId === 'ANONYMOUS_PRINCIPAL';
      return withOptional({ type, id: anonymous ? 'anonymous' : `unknown:${principalId ?? arn ?? 'unknown'}`, isAwsService: false }, common);
    }
  }
};

/** Reads `userIdentity.invokedBy` without normalizing the rest. */
export const invokedByOf = (userIdentity: JsonObject | undefined): string | undefined =>
  userIdentity ? str(userIdentity['invokedBy']) : undefined;
