/** What the rules on network activity events read of one: the endpoint, its owner, the caller, and how to say the call. */
import { partitionOfRegion } from '../events/normalize.ts';
import type { VpcEndpointCall } from '../events/types.ts';
import type { AffectedResource } from './define-rule.ts';

/** The selection of the rules on network activity events: every call through an endpoint, of KMS and of S3. */
export const KMS_AND_S3_NETWORK_ACTIVITY = [
  { eventSource: 'kms.amazonaws.com', eventNames: ['*'], networkActivity: true },
  { eventSource: 's3.amazonaws.com', eventNames: ['*'], networkActivity: true },
] as const;

/** The account that owns the endpoint: `vpcEndpointAccountId`, else the account whose trail recorded the event (its owner, in AWS's examples). */
export const endpointAccountOf = (e: VpcEndpointCall): string | undefined => e.vpcEndpointAccountId ?? e.recipientAccountId;

/** The caller's account when it is not the endpoint owner's (undefined when either is unknown). */
export const outsideAccountOf = (e: VpcEndpointCall): string | undefined => {
  const caller = e.principal.accountId;
  const owner = endpointAccountOf(e);
  return caller !== undefined && owner !== undefined && caller !== owner ? caller : undefined;
};

/** The endpoint as a finding names it: its ARN, made from its id, owner and Region. */
export const vpcEndpointResource = (e: VpcEndpointCall): AffectedResource | undefined => {
  const owner = endpointAccountOf(e);
  if (e.vpcEndpointId === undefined || owner === undefined) return undefined;
  return { type: 'AwsEc2VpcEndpoint', arn: `arn:${partitionOfRegion(e.region)}:ec2:${e.region}:${owner}:vpc-endpoint/${e.vpcEndpointId}`, name: e.vpcEndpointId };
};

/** "KMS Decrypt through VPC endpoint vpce-… of account 1111…, from 10.0.12.34 in us-east-1", for reasons. */
export const callThroughEndpoint = (e: VpcEndpointCall): string => {
  const service = e.eventSource === 'kms.amazonaws.com' ? 'KMS' : e.eventSource === 's3.amazonaws.com' ? 'S3' : e.eventSource;
  const owner = endpointAccountOf(e);
  const endpoint = `VPC endpoint ${e.vpcEndpointId ?? '(its id not logged)'}${owner !== undefined ? ` of account ${owner}` : ''}`;
  return `${service} ${e.eventName} through ${endpoint}${e.sourceIp !== undefined ? `, from ${e.sourceIp}` : ''} in ${e.region}`;
};

/**
 * "arn:aws:sts::…:assumed-role/App/s of account 1111…"; a caller of another account, which the record names by its
 * account and an access key or principal id alone (userIdentity of type AWSAccount), "aws-account:4444…:AKIA… of
 * account 4444…".
 */
export const callerOf = (e: VpcEndpointCall): string => {
  const p = e.principal;
  return `${p.arn ?? p.id}${p.accountId !== undefined ? ` of account ${p.accountId}` : ''}`;
};
