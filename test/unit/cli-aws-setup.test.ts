import { describe, expect, it } from 'vitest';
import { awsSetupProblem, unreachableProblem } from '../../src/cli/aws-setup.ts';

describe('what the AWS SDK says, told as the user\'s to set up', () => {
  it('tells a connection that never reached AWS, in Node\'s words for it', () => {
    for (const message of ['getaddrinfo ENOTFOUND securityhub.us-east-1.amazonaws.com', 'getaddrinfo EAI_AGAIN events.eu-west-1.amazonaws.com', 'connect ECONNREFUSED 127.0.0.1:9', 'read ECONNRESET', 'connect ETIMEDOUT 52.94.0.1:443', 'connect EHOSTUNREACH 10.0.0.1:443', 'connect ENETUNREACH 10.0.0.1:443']) {
      expect(unreachableProblem(message)).toBe(`cannot reach AWS (${message}): check the network, the region (AWS_REGION) and any endpoint set (AWS_ENDPOINT_URL)`);
      expect(awsSetupProblem(new Error(message))).toBe(unreachableProblem(message));
    }
  });

  it('tells an error AWS answered with by its name and words, and the SDK\'s network errors, which carry $metadata too, as AWS not reached', () => {
    const answered = Object.assign(new Error('The security token included in the request is invalid.'), { name: 'UnrecognizedClientException', $metadata: { httpStatusCode: 400 } });
    const network = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { $metadata: { attempts: 3 } });

    expect(awsSetupProblem(answered)).toBe('AWS answered UnrecognizedClientException: The security token included in the request is invalid');
    expect(awsSetupProblem(network)).toBe(unreachableProblem('connect ECONNREFUSED 127.0.0.1:9'));
    expect(awsSetupProblem(Object.assign(new Error('odd'), { $metadata: {} }))).toBeUndefined();
  });

  it('leaves AWS\'s own answers and anything else to be told as they are', () => {
    expect(unreachableProblem('The security token included in the request is invalid.')).toBeUndefined();
    expect(unreachableProblem('Rate exceeded')).toBeUndefined();
    expect(unreachableProblem('an ECONNREFUSEDx look-alike')).toBeUndefined();
    expect(awsSetupProblem(new Error('Requested resource not found'))).toBeUndefined();
    expect(awsSetupProblem(undefined)).toBeUndefined();
  });
});
