/**
 * What the AWS SDK says when the machine has no region or no credentials, AWS answers with an error, or AWS cannot
 * be reached, told as the user's to set up rather than as an unexpected error, and once rather than once per finding.
 */
export const awsSetupProblem = (error: unknown): string | undefined => {
  const e = error as { readonly name?: unknown; readonly message?: unknown } | null | undefined;
  if (e?.name === 'CredentialsProviderError') return 'no AWS credentials found: set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), or run where a role provides them';
  if (e?.message === 'Region is missing') return 'no AWS region is configured: set AWS_REGION (kdm history also takes --region)';
  if (typeof e?.message !== 'string') return undefined;
  const unreachable = unreachableProblem(e.message);
  if (unreachable !== undefined) return unreachable;
  // An error the service answered with: the SDK's exceptions carry $metadata (as do its network errors, named Error).
  if (typeof e.name === 'string' && e.name !== 'Error' && (error as { $metadata?: unknown }).$metadata !== undefined) return `AWS answered ${e.name}: ${e.message.replace(/\.$/, '')}`;
  return undefined;
};

/** Node's words for a connection that never reached an answer: no DNS name, refused, reset, timed out, no route. */
const UNREACHABLE = /\b(?:getaddrinfo (?:ENOTFOUND|EAI_AGAIN)|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH)\b/;

/**
 * A failure to reach AWS at all, told as the user's to look into (the network, the region, an endpoint set for
 * tests) rather than as AWS refusing anything; undefined for any other message.
 */
export const unreachableProblem = (message: string): string | undefined =>
  UNREACHABLE.test(message) ? `cannot reach AWS (${message}): check the network, the region (AWS_REGION) and any endpoint set (AWS_ENDPOINT_URL)` : undefined;

/** A client's region and credentials, resolved before any call: a machine without them fails here, in one line. */
export interface ResolvableClient {
  readonly config: { readonly region: () => Promise<string>; readonly credentials: () => Promise<unknown> };
}

export const resolveAwsSetup = async (client: ResolvableClient): Promise<void> => {
  await client.config.region();
  await client.config.credentials();
};
