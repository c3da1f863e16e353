/**
 * Which client made a call, as its `userAgent` tells it: the AWS SDK, tool or browser that signed the request, and
 * the AWS compute service it ran in when the SDK says so (`exec-env/…`, from `AWS_EXECUTION_ENV`). A client is a
 * label such as `AWS SDK for JavaScript on AWS Lambda`, `AWS CLI` or `python-requests`: versions, operating
 * systems and the API called are left out, so an SDK upgrade is the same client and a different tool is not.
 *
 * The labels are stored in principal baselines (`PrincipalBaseline.clients`): changing how a user agent is
 * labelled makes every stored principal meet a "new" client once. Add tools; do not rename them.
 */

import { principalsS3RequestOf } from './events/s3-request.ts';
import type { KmsCall } from './events/types.ts';
import { memoized } from './memoize.ts';

/** The AWS SDKs, by the product token their user agents begin with, in any case (each SDK's versions one client). */
const SDK_TOKENS: readonly (readonly [token: string, name: string])[] = [
  ['aws-sdk-js', 'JavaScript'],
  ['aws-sdk-nodejs', 'JavaScript'],
  ['aws-sdk-java', 'Java'],
  ['aws-sdk-go-v2', 'Go'],
  ['aws-sdk-go', 'Go'],
  ['aws-sdk-dotnet-coreclr', '.NET'],
  ['aws-sdk-dotnet-core', '.NET'],
  ['aws-sdk-dotnet-45', '.NET'],
  ['aws-sdk-dotnet', '.NET'],
  ['aws-sdk-ruby3', 'Ruby'],
  ['aws-sdk-ruby2', 'Ruby'],
  ['aws-sdk-ruby', 'Ruby'],
  ['aws-sdk-php', 'PHP'],
  ['aws-sdk-rust', 'Rust'],
  ['aws-sdk-cpp', 'C++'],
  ['aws-sdk-kotlin', 'Kotlin'],
  ['aws-sdk-swift', 'Swift'],
  ['aws-sdk-iOS', 'iOS'],
  ['aws-sdk-android', 'Android'],
  ['Boto3', 'Python'],
  ['Botocore', 'Python'],
  ['aiobotocore', 'Python'],
];

const SDK_BY_TOKEN = new Map(SDK_TOKENS.map(([token, name]) => [token.toLowerCase(), name]));
const SDK_PREFIX = 'AWS SDK for ';
const RUNS_IN_SEPARATOR = ' on ';

const CLOUDSHELL = 'AWS CloudShell';

/** AWS compute services that set `AWS_EXECUTION_ENV` for the code they run, by the value's beginning. */
const EXECUTION_ENVIRONMENTS: readonly (readonly [prefix: string, name: string])[] = [
  ['AWS_Lambda_', 'AWS Lambda'],
  ['AWS_ECS_', 'Amazon ECS'],
  ['CloudShell', CLOUDSHELL],
];

/** Clients labelled as themselves, not as the SDK they sign with. */
const CLIENT_AWS_CLI = 'AWS CLI';
const CLIENT_CONSOLE = 'AWS Management Console';
const CLIENT_POWERSHELL = 'AWS Tools for PowerShell';
const CLIENT_TERRAFORM = 'Terraform';

/** The longest label kept for a client no list here names: its user agent's first word, which a caller chooses. */
const MAX_OTHER_LABEL_LENGTH = 64;

/** The user agent's first element, without the brackets and the list some services' records put around it. */
const firstElementOf = (userAgent: string): string => {
  let text = userAgent.trim();
  if (text.startsWith('[')) text = text.slice(1, text.endsWith(']') ? -1 : undefined).trim();
  const comma = text.indexOf(', ');
  return comma === -1 ? text : text.slice(0, comma);
};

/** The first word of a user agent: up to its first `/`, space, `(`, `_`, `#` or `;`. */
const productTokenOf = (text: string): string => {
  const end = text.search(/[/ (_#;]/);
  return end === -1 ? text : text.slice(0, end);
};

/** Where `exec-env/…` says the SDK ran, when it is an AWS compute service this list knows. */
const runsInOf = (userAgent: string): string | undefined => {
  const at = userAgent.indexOf('exec-env/');
  if (at === -1) return undefined;
  const value = userAgent.slice(at + 'exec-env/'.length);
  for (const [prefix, name] of EXECUTION_ENVIRONMENTS) if (value.startsWith(prefix)) return name;
  return undefined;
};

/**
 * True for the user agent of a call an AWS service made, its own or on a caller's behalf: no client the caller chose.
 * (Its console's back end, `S3Console/0.4, aws-internal/3 …`, is the console, which `isConsoleAgent` tells first.)
 */
const isAwsServiceAgent = (userAgent: string, text: string): boolean =>
  text === 'AWS Internal' || text.endsWith('.amazonaws.com') || userAgent.includes('aws-internal/');

/** The console's and its sign-in's own names, which some records give as the user agent. */
const CONSOLE_AGENTS = new Set(['console', 'signin'].map((service) => `${service}.amazonaws.com`));

const isConsoleAgent = (token: string, text: string): boolean =>
  token === 'Mozilla' || token.endsWith('Console') || token.endsWith('ConsoleFrontend') || text.startsWith('AWS Console') || CONSOLE_AGENTS.has(text);

const toolOf = (userAgent: string, text: string, token: string): string => {
  if (token === 'aws-cli') return CLIENT_AWS_CLI;
  // The PowerShell tools sign with the .NET SDK (AWSPowerShell.Common/…), and Terraform with the Go SDK: the tool,
  // not the SDK under it.
  if (userAgent.includes('AWSPowerShell')) return CLIENT_POWERSHELL;
  if (userAgent.includes('Terraform/')) return CLIENT_TERRAFORM;
  const sdk = SDK_BY_TOKEN.get(token.toLowerCase());
  if (sdk !== undefined) return `${SDK_PREFIX}${sdk}`;
  // A word of the caller's choosing, without spaces, so that it never reads as a client on a compute service.
  return (token !== '' ? token : (text.split(' ')[0] ?? '')).slice(0, MAX_OTHER_LABEL_LENGTH);
};

/** What `labelOf` gives for an AWS service's call, which no label is (every label has a character). */
const NO_CLIENT = '';

const labelOf = (userAgent: string): string => {
  const text = firstElementOf(userAgent);
  const token = productTokenOf(text);
  if (isConsoleAgent(token, text)) return CLIENT_CONSOLE;
  if (text === '' || isAwsServiceAgent(userAgent, text)) return NO_CLIENT;
  const tool = toolOf(userAgent, text, token);
  const runsIn = runsInOf(userAgent);
  return runsIn === undefined ? tool : `${tool}${RUNS_IN_SEPARATOR}${runsIn}`;
};

/** A workload's calls repeat a few user agents: each is labelled once. */
const labelOfRepeated = memoized(labelOf);

/**
 * The client a call's user agent names, with where it ran (`AWS SDK for Python on AWS Lambda`), or undefined for a
 * call an AWS service made (`AWS Internal`, `*.amazonaws.com`, `aws-internal/…`) and for a record without one.
 */
export const clientOf = (userAgent: string | undefined): string | undefined => {
  if (userAgent === undefined) return undefined;
  const label = labelOfRepeated(userAgent);
  return label === NO_CLIENT ? undefined : label;
};

/**
 * The client behind a KMS call: its own user agent's for a call the principal made; for a call S3 made for it, the
 * user agent of the S3 request the principal sent (`principalsS3RequestOf`: not a presigned URL's or a POST form's).
 * Undefined for other services' calls, calls of AWS service principals, and S3's calls with no request matched.
 */
export const clientOfCall = (e: KmsCall): string | undefined => {
  if (e.principal.isAwsService) return undefined;
  if (!e.madeByAwsService) return clientOf(e.userAgent);
  const request = principalsS3RequestOf(e);
  return request === undefined ? undefined : clientOf(request.userAgent);
};

/**
 * True for a client a workload uses: an AWS SDK, or any client running in an AWS compute service (not CloudShell,
 * which is a person's shell). A principal whose calls all came from such clients is a workload, whose credentials
 * used from anything else were most likely taken from it.
 */
export const isWorkloadClient = (client: string): boolean => {
  const separator = client.indexOf(RUNS_IN_SEPARATOR);
  if (separator === -1) return client.startsWith(SDK_PREFIX);
  return client.slice(separator + RUNS_IN_SEPARATOR.length) !== CLOUDSHELL;
};
