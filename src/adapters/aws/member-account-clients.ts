import { SecurityHubClient, type SecurityHubClientConfig } from '@aws-sdk/client-securityhub';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity } from '@aws-sdk/types';
import { ConfigError } from '#core/errors.ts';

/** Refresh assumed credentials this long before they expire. */
const REFRESH_MARGIN_MS = 5 * 60_000;

export interface MemberAccountOptions {
  /**
   * `arn:aws:iam::{account}:role/kms-decrypt-monitor-import`: import each finding through this role in the
   * finding's own account. Without it, every finding is imported with the caller's own credentials, which
   * Security Hub accepts only for findings of the caller's account.
   */
  readonly importRoleArnTemplate?: string;
  /** The external id the member role's trust policy requires (infra/member-securityhub-import-role.yaml). */
  readonly externalId?: string;
  readonly sts?: STSClient;
  /** Extra client configuration (tests pass a request handler here). */
  readonly clientConfig?: Partial<SecurityHubClientConfig>;
  readonly nowMs?: () => number;
}

export const roleArnFor = (template: string, accountId: string): string => {
  if (!template.includes('{account}')) throw new ConfigError(`--import-role must contain {account} (got "${template}")`);
  return template.replaceAll('{account}', accountId);
};

/** One Security Hub client per (account, region), importing through the member account's role when configured. */
export const createMemberAccountClients = (options: MemberAccountOptions = {}): ((accountId: string, region: string) => SecurityHubClient) => {
  const clients = new Map<string, SecurityHubClient>();
  const nowMs = options.nowMs ?? Date.now;
  return (accountId, region) => {
    const key = `${accountId}|${region}`;
    let client = clients.get(key);
    if (client !== undefined) return client;
    const template = options.importRoleArnTemplate;
    let credentials: (() => Promise<AwsCredentialIdentity>) | undefined;
    if (template !== undefined) {
      const sts = options.sts ?? new STSClient({ region });
      const roleArn = roleArnFor(template, accountId);
      let cached: AwsCredentialIdentity | undefined;
      credentials = async () => {
        if (cached?.expiration !== undefined && cached.expiration.getTime() - REFRESH_MARGIN_MS > nowMs()) return cached;
        const res = await sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 'kms-decrypt-monitor-import', DurationSeconds: 3600, ExternalId: options.externalId ?? 'kms-decrypt-monitor' }));
        const c = res.Credentials;
        if (c?.AccessKeyId === undefined || c.SecretAccessKey === undefined) throw new Error(`AssumeRole ${roleArn} returned no credentials`);
        cached = { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, ...(c.SessionToken !== undefined ? { sessionToken: c.SessionToken } : {}), ...(c.Expiration !== undefined ? { expiration: c.Expiration } : {}) };
        return cached;
      };
    }
    client = new SecurityHubClient({ region, ...(credentials !== undefined ? { credentials } : {}), ...(options.clientConfig ?? {}) });
    clients.set(key, client);
    return client;
  };
};
