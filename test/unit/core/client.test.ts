import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { clientOf, isWorkloadClient } from '#core/client.ts';
import { allDatasetRecords, hasDatasets } from '../../helpers/datasets.ts';

/**
 * User agents as CloudTrail records them. The ones marked `dataset` are in ../shared/datasets (records nobody here
 * wrote); the SDKs' in Lambda are the forms public CloudTrail records show (`exec-env/` from AWS_EXECUTION_ENV).
 */
const LABELLED: readonly (readonly [userAgent: string, client: string | undefined])[] = [
  // dataset: people's tools
  ['aws-cli/2.13.5 Python/3.11.4 Linux/5.15.0-1040-aws exe/x86_64.ubuntu.22', 'AWS CLI'],
  ['[aws-cli/1.18.136 Python/3.8.5 Darwin/19.6.0 botocore/1.17.59]', 'AWS CLI'],
  ['aws-cli/2.13.0 Python/3.11.4 Linux/4.14.255-311-248.529.amzn2.x86_64 exec-env/CloudShell exe/x86_64.amzn.2 prompt/off command/secretsmanager.get-secret-value', 'AWS CLI on AWS CloudShell'],
  ['Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0', 'AWS Management Console'],
  ['[S3Console/0.4, aws-internal/3 aws-sdk-java/1.12.488 Linux/5.10.184-196.730.amzn2int.x86_64 OpenJDK_64-Bit_Server_VM/25.372-b08 java/1.8.0_372 vendor/Oracle_Corporation cfg/retry-mode/standard]', 'AWS Management Console'],
  ['[AWS Console S3, S3Console/0.4 cfg/retry-mode/legacy]', 'AWS Management Console'],
  ['EC2ConsoleFrontend, aws-internal/3 aws-sdk-java/1.12.488 Linux/5.10.184 OpenJDK_64-Bit_Server_VM/25.372-b08 java/1.8.0_372 vendor/Oracle_Corporation cfg/retry-mode/standard', 'AWS Management Console'],
  ['console.amazonaws.com', 'AWS Management Console'],
  ['signin.amazonaws.com', 'AWS Management Console'],
  ['APN/1.0 HashiCorp/1.0 Terraform/1.5.2 (+https://www.terraform.io) terraform-provider-aws/5.7.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go/1.44.298 (go1.20.5; darwin; arm64) 5f1a2b3c HashiCorp-terraform-exec/0.18.1', 'Terraform'],
  // dataset: SDKs
  ['Boto3/1.26.79', 'AWS SDK for Python'],
  ['aws-sdk-go/1.44.298 (go1.20.5; linux; amd64)', 'AWS SDK for Go'],
  ['aws-sdk-go/1.44.181 (go1.19.4; linux; amd64) exec-env/AWS_Lambda_go1.x', 'AWS SDK for Go on AWS Lambda'],
  ['aws-sdk-go-v2/1.21.0 os/linux lang/go#1.21.1 md/GOOS#linux md/GOARCH#amd64 exec-env/grimoire_5e2b1f0c-1d7a api/sts#1.21.5', 'AWS SDK for Go'],
  // public records: SDKs in Lambda, and each SDK's own token
  ['aws-sdk-js/3.699.0 ua/2.1 os/linux#5.10.245-271.979.amzn2.x86_64 lang/js md/nodejs#22.18.0 api/kms#3.699.0 exec-env/AWS_Lambda_nodejs22.x m/D,e', 'AWS SDK for JavaScript on AWS Lambda'],
  ['aws-sdk-nodejs/2.320.0 linux/v8.10.0 exec-env/AWS_Lambda_nodejs8.10 callback', 'AWS SDK for JavaScript on AWS Lambda'],
  ['Boto3/1.34.34 md/Botocore#1.34.34 ua/2.0 os/linux#5.10.209 md/arch#x86_64 lang/python#3.12.1 md/pyimpl#CPython exec-env/AWS_Lambda_python3.12 cfg/retry-mode/legacy Botocore/1.34.34', 'AWS SDK for Python on AWS Lambda'],
  ['aws-cli/1.16.309 Python/2.7.16 Linux/4.14.138-99.102.amzn2.x86_64 exec-env/AWS_Lambda_nodejs12.x botocore/1.13.45', 'AWS CLI on AWS Lambda'],
  ['aws-sdk-java/2.25.11 Linux/6.1 OpenJDK_64-Bit_Server_VM/17.0.10+7-LTS Java/17.0.10 vendor/Amazon.com_Inc. exec-env/AWS_ECS_FARGATE io/sync http/Apache cfg/retry-mode/legacy', 'AWS SDK for Java on Amazon ECS'],
  ['aws-sdk-java/1.12.600 Linux/5.10 OpenJDK_64-Bit_Server_VM/11.0.21+9-LTS java/11.0.21 vendor/Amazon.com_Inc.', 'AWS SDK for Java'],
  ['aws-sdk-dotnet-coreclr/3.7.300.2 aws-sdk-dotnet-core/3.7.300.2 .NET_Core/6.0.25 OS/Microsoft_Windows_10.0.20348 ClientAsync', 'AWS SDK for .NET'],
  ['aws-sdk-dotnet-coreclr/3.7.300.2 aws-sdk-dotnet-core/3.7.300.2 .NET_Core/6.0.25 OS/Microsoft_Windows PowerShellCore/7.4 ClientSync AWSPowerShell.Common/4.1.500', 'AWS Tools for PowerShell'],
  ['aws-sdk-ruby3/3.190.0 ruby/3.2.2 x86_64-linux aws-sdk-kms/1.72.0', 'AWS SDK for Ruby'],
  ['aws-sdk-php/3.295.0 OS/Linux/5.15 lang/php#8.2.12 GuzzleHttp/7', 'AWS SDK for PHP'],
  ['aws-sdk-rust/1.1.2 os/linux lang/rust#1.74.0', 'AWS SDK for Rust'],
  // dataset: clients no list names, by their first word
  ['python-requests/2.31.0', 'python-requests'],
  ['stratus-red-team_e8a2c4f1-3b5d-4c7e-9f1a-2b3c4d5e6f70', 'stratus-red-team'],
  ['Jersey/${project.version} (HttpUrlConnection 1.8.0_292)', 'Jersey'],
  ['Python-httplib2/0.18.1 (gzip)', 'Python-httplib2'],
  ['ec2-api-tools 1.7.5.1', 'ec2-api-tools'],
  // dataset: AWS services, and records without a client
  ['AWS Internal', undefined],
  ['secretsmanager.amazonaws.com', undefined],
  ['internal.amazonaws.com', undefined],
  ['aws-internal/3 aws-sdk-java/1.12.488 Linux/5.10.184-196.730.amzn2int.x86_64 OpenJDK_64-Bit_Server_VM/25.372-b08 java/1.8.0_372 vendor/Oracle_Corporation cfg/retry-mode/standard', undefined],
  ['[AWSCloudTrail, aws-internal/3 aws-sdk-java/1.12.488 Linux/5.10.184 OpenJDK_64-Bit_Server_VM/25.372-b08 java/1.8.0_372 vendor/Oracle_Corporation cfg/retry-mode/standard]', undefined],
  ['[]', undefined],
  ['', undefined],
];

describe('clientOf', () => {
  it.each(LABELLED)('labels %j as %j', (userAgent, client) => {
    expect(clientOf(userAgent)).toBe(client);
  });

  it('gives nothing for a record without a user agent', () => {
    expect(clientOf(undefined)).toBeUndefined();
  });

  it('keeps one label for an SDK across its versions, and another for the same SDK run elsewhere', () => {
    expect(clientOf('aws-sdk-js/3.523.0 ua/2.0 os/linux lang/js md/nodejs#20.11.0 api/kms#3.523.0 exec-env/AWS_Lambda_nodejs20.x')).toBe(clientOf('aws-sdk-nodejs/2.1490.0 linux/v18.18.2 exec-env/AWS_Lambda_nodejs18.x promise'));
    expect(clientOf('aws-sdk-go-v2/1.30.0')).toBe(clientOf('aws-sdk-go/1.44.0 (go1.20; linux; amd64)'));
    expect(clientOf('aws-sdk-js/3.523.0 ua/2.0 os/macos lang/js md/nodejs#20.11.0 api/kms#3.523.0')).not.toBe(clientOf('aws-sdk-js/3.523.0 exec-env/AWS_Lambda_nodejs20.x'));
  });

  it('keeps a label of the caller\'s own choosing short and free of spaces', () => {
    expect(clientOf(`${'x'.repeat(300)}/1.0`)).toBe('x'.repeat(64));
    expect(clientOf('/odd on AWS Lambda')).toBe('/odd');
    expect(isWorkloadClient(clientOf('/odd on AWS Lambda') ?? '')).toBe(false);
    expect(clientOf(' on AWS CloudShell exec-env/AWS_Lambda_python3.12')).toBe('on on AWS Lambda');
  });

  it('gives any text a label of at least one character, or none, and calls a tool no list names a workload\'s only where it ran in Lambda or ECS', () => {
    const words = fc.constantFrom('aws-cli/2.17.0', 'Boto3/1.34.0', 'aws-sdk-java/2.25.11', 'Mozilla/5.0', 'AWS Internal', 'aws-internal/3', 'exec-env/AWS_Lambda_python3.12', 'exec-env/CloudShell', 'exec-env/AWS_ECS_EC2', ' on ', '[', ']', ', ', '/', 'Terraform/1.5', 'AWSPowerShell.Common/4.1');
    const agents = fc.oneof(fc.string({ maxLength: 80 }), fc.array(fc.oneof(words, fc.string({ maxLength: 12 })), { maxLength: 8 }).map((parts) => parts.join(' ')));
    fc.assert(
      fc.property(agents, (userAgent) => {
        const client = clientOf(userAgent);
        if (client === undefined) return;
        expect(client.length).toBeGreaterThan(0);
        const [tool = '', runsIn] = client.split(' on ');
        expect(tool.length).toBeLessThanOrEqual(64);
        if (!tool.startsWith('AWS SDK for ')) expect(isWorkloadClient(client)).toBe(runsIn === 'AWS Lambda' || runsIn === 'Amazon ECS');
      }),
      { numRuns: 3000 },
    );
  });

  it.runIf(hasDatasets)('labels every user agent of the shared datasets without throwing, in at most 64 characters before where it ran', () => {
    const userAgents = new Set<string>();
    for (const r of allDatasetRecords()) {
      const ua = (r as { userAgent?: unknown }).userAgent;
      if (typeof ua === 'string') userAgents.add(ua);
    }
    expect(userAgents.size).toBeGreaterThan(100);
    for (const ua of userAgents) {
      const client = clientOf(ua);
      if (client !== undefined) expect(client.split(' on ')[0]?.length, ua).toBeLessThanOrEqual(64);
    }
  });
});

describe('isWorkloadClient', () => {
  it('calls an SDK, or anything run in Lambda or ECS, a workload\'s client, and people\'s tools not', () => {
    const workload = ['AWS SDK for Java', 'AWS SDK for Python on AWS Lambda', 'AWS CLI on AWS Lambda', 'AWS SDK for Java on Amazon ECS'];
    const people = ['AWS CLI', 'AWS CLI on AWS CloudShell', 'AWS SDK for Python on AWS CloudShell', 'AWS Management Console', 'AWS Tools for PowerShell', 'Terraform', 'python-requests', ''];
    for (const c of workload) expect(isWorkloadClient(c), c).toBe(true);
    for (const c of people) expect(isWorkloadClient(c), c).toBe(false);
  });
});
