import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { stateTableDefinition } from '#adapters/aws/dynamodb-state-store.ts';
import { eventPatternsFor } from '#core/rules/event-patterns.ts';
import { MONITOR_RULE_NAME_PREFIX } from '#core/rules/eventbridge-monitor-rule-tampered.ts';
import { ALL_RULES, ruleById } from '#core/rules/registry.ts';
import { REPO } from '../helpers/cli.ts';

type Resource = { Type: string; Properties: Record<string, unknown>; DependsOn?: string[]; Condition?: string };
let template: { Resources: Record<string, Resource>; Parameters: Record<string, Record<string, unknown>>; Conditions: Record<string, unknown> };
let sizes: Record<string, { bundleBytes: number }>;

const hasCfnLint = spawnSync('cfn-lint', ['--version']).status === 0;
const TEMPLATE = join(REPO, '.serverless', 'cloudformation-template-update-stack.json');

beforeAll(() => {
  // The real packaging path, offline: esbuild bundles, then `osls package`.
  const run = spawnSync(process.execPath, ['scripts/package.mjs'], { cwd: REPO, encoding: 'utf8', env: { ...process.env, KDM_SKIP_CLI_BUILD: '1', KDM_PACKAGE_HOME: mkdtempSync(join(tmpdir(), 'kdm-osls-')) } });
  if (run.status !== 0) throw new Error(`npm run package failed:\n${run.stdout}\n${run.stderr}`);
  template = JSON.parse(readFileSync(TEMPLATE, 'utf8')) as typeof template;
  sizes = JSON.parse(readFileSync(join(REPO, 'dist', 'lambda', 'sizes.json'), 'utf8')) as typeof sizes;
}, 120_000);

const ofType = (type: string) => Object.entries(template.Resources).filter(([, r]) => r.Type === type);
const resource = (id: string): Resource => {
  const r = template.Resources[id];
  if (r === undefined) throw new Error(`no resource ${id}`);
  return r;
};

describe('packaged CloudFormation template (osls package)', () => {
  it.skipIf(!hasCfnLint)('passes cfn-lint', () => {
    // W3005 only: osls always adds a DependsOn on the function role that its Role GetAtt already implies.
    const run = spawnSync('cfn-lint', ['--format', 'parseable', '--ignore-checks', 'W3005', '--', TEMPLATE], { encoding: 'utf8' });

    expect(run.stdout + run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

  it('runs every function on nodejs22.x', () => {
    const functions = ofType('AWS::Lambda::Function');

    expect(functions.length).toBeGreaterThan(0);
    for (const [, f] of functions) expect(f.Properties['Runtime']).toBe('nodejs22.x');
  });

  it('gives the functions the context hash key through a NoEcho parameter, never in the packaged template', () => {
    expect(template.Parameters['ContextHashKey']).toMatchObject({ Type: 'String', NoEcho: true, Default: '' });
    const functions = ofType('AWS::Lambda::Function');
    expect(functions.length).toBeGreaterThan(0);
    for (const [, f] of functions) {
      expect((f.Properties['Environment'] as { Variables: Record<string, unknown> }).Variables['KDM_CONTEXT_HASH_KEY']).toEqual({ Ref: 'ContextHashKey' });
    }
  });

  it('declares the KMS rule with the state that lets it see read-only management events', () => {
    expect(resource('KmsApiCallRule').Properties['State']).toBe('ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS');
  });

  it('subscribes with the patterns derived from the rules\' selections', () => {
    const derived = eventPatternsFor(ALL_RULES);

    expect(resource('KmsApiCallRule').Properties['EventPattern']).toEqual(derived.kms);
    expect(resource('S3DataEventRule').Properties['EventPattern']).toEqual(derived.s3);
    expect(resource('CloudTrailChangeRule').Properties['EventPattern']).toEqual(derived.cloudtrail);
    // Changes to the monitor's own EventBridge rules ride on two rules, so that disabling either is seen through the other.
    const tampering = ruleById('eventbridge-monitor-rule-tampered')?.selection[0]?.eventNames ?? [];
    expect(tampering).toContain('DisableRule');
    for (const id of ['S3DataEventRule', 'CloudTrailChangeRule']) {
      const { source, detail } = resource(id).Properties['EventPattern'] as { source: string[]; detail: { eventSource: string[]; eventName: string[] } };
      expect(source).toContain('aws.events');
      expect(detail.eventSource).toContain('events.amazonaws.com');
      expect(detail.eventName).toEqual(expect.arrayContaining([...tampering]));
    }
    for (const [id, r] of ofType('AWS::Events::Rule').filter(([, rule]) => rule.Properties['EventPattern'] !== undefined)) {
      expect(r.Properties['Name'], id).toMatch(new RegExp(`^${MONITOR_RULE_NAME_PREFIX}dev-`));
    }
    const kmsNames = (derived.kms.detail.$or?.[0].eventName ?? derived.kms.detail.eventName ?? []) as readonly string[];
    const s3Names = derived.s3.detail.eventName ?? [];
    for (const rule of ALL_RULES) {
      for (const sel of rule.selection) {
        // Network activity events are not subscribed to (event-patterns.ts says why).
        if (sel.onlyFailed === true || sel.networkActivity === true) continue;
        const subscribed = sel.eventSource === 'kms.amazonaws.com' ? kmsNames : sel.eventSource === 's3.amazonaws.com' ? s3Names : undefined;
        for (const name of subscribed === undefined ? [] : sel.eventNames) expect(subscribed, `${rule.id} selects ${name}`).toContain(name);
      }
    }
    // Correlation needs S3's object operations whether or not a rule names them; a bucket's default encryption is named by one.
    expect(s3Names).toEqual(expect.arrayContaining(['GetObject', 'PutObject', 'CompleteMultipartUpload', 'PutBucketEncryption', 'DeleteBucketEncryption']));
  });

  it('routes every CloudTrail rule to the encrypted queue, keeping what it cannot deliver in the dead-letter queue, and both queues admit only those rules', () => {
    const rules = ofType('AWS::Events::Rule').filter(([, r]) => r.Properties['EventPattern'] !== undefined);
    for (const [, r] of rules) {
      expect(r.Properties['Targets']).toEqual([{ Id: 'event-queue', Arn: { 'Fn::GetAtt': ['EventQueue', 'Arn'] }, DeadLetterConfig: { Arn: { 'Fn::GetAtt': ['EventDeadLetterQueue', 'Arn'] } } }]);
    }
    for (const [policy, queue] of [['EventQueuePolicy', 'EventQueue'], ['EventDeadLetterQueuePolicy', 'EventDeadLetterQueue']] as const) {
      const { Statement } = resource(policy).Properties['PolicyDocument'] as { Statement: Record<string, unknown>[] };

      expect(resource(policy).Properties['Queues']).toEqual([{ Ref: queue }]);
      expect(Statement).toHaveLength(1);
      expect(Statement[0]?.['Principal']).toEqual({ Service: 'events.amazonaws.com' });
      expect(Statement[0]?.['Action']).toBe('sqs:SendMessage');
      expect(Statement[0]?.['Resource']).toEqual({ 'Fn::GetAtt': [queue, 'Arn'] });
      expect((Statement[0]?.['Condition'] as { ArnEquals: Record<string, unknown> }).ArnEquals['aws:SourceArn']).toEqual(rules.map(([id]) => ({ 'Fn::GetAtt': [id, 'Arn'] })));
    }
  });

  it('alarms when events go unevaluated, detection runs late, a function fails or findings do not reach Security Hub, notifying alarmTopicArn when given', () => {
    const alarms = Object.fromEntries(ofType('AWS::CloudWatch::Alarm').map(([id, r]) => [id, r.Properties]));
    const watched = Object.fromEntries(Object.entries(alarms).map(([id, a]) => [id, [a['Namespace'], a['MetricName'], a['Dimensions']]]));

    expect(watched).toEqual({
      EventsNotProcessedAlarm: ['AWS/SQS', 'ApproximateNumberOfMessagesVisible', [{ Name: 'QueueName', Value: { 'Fn::GetAtt': ['EventDeadLetterQueue', 'QueueName'] } }]],
      LogFilesNotReadAlarm: ['AWS/SQS', 'ApproximateNumberOfMessagesVisible', [{ Name: 'QueueName', Value: { 'Fn::GetAtt': ['TrailObjectDeadLetterQueue', 'QueueName'] } }]],
      EventBacklogAlarm: ['AWS/SQS', 'ApproximateAgeOfOldestMessage', [{ Name: 'QueueName', Value: { 'Fn::GetAtt': ['EventQueue', 'QueueName'] } }]],
      LogFileBacklogAlarm: ['AWS/SQS', 'ApproximateAgeOfOldestMessage', [{ Name: 'QueueName', Value: { 'Fn::GetAtt': ['TrailObjectQueue', 'QueueName'] } }]],
      OnCloudTrailEventErrorsAlarm: ['AWS/Lambda', 'Errors', [{ Name: 'FunctionName', Value: { Ref: 'OnCloudTrailEventLambdaFunction' } }]],
      OnTrailLogObjectErrorsAlarm: ['AWS/Lambda', 'Errors', [{ Name: 'FunctionName', Value: { Ref: 'OnTrailLogObjectLambdaFunction' } }]],
      FlushPendingErrorsAlarm: ['AWS/Lambda', 'Errors', [{ Name: 'FunctionName', Value: { Ref: 'FlushPendingLambdaFunction' } }]],
      // The metrics the handlers emit as EMF (namespace and service dimension checked in lambda-handler.test.ts).
      FindingsNotPublishedAlarm: ['KmsDecryptMonitor', 'FindingPublishFailures', [{ Name: 'service', Value: 'kms-decrypt-monitor' }]],
      FindingsRefusedAlarm: ['KmsDecryptMonitor', 'FindingsRefused', [{ Name: 'service', Value: 'kms-decrypt-monitor' }]],
    });
    for (const a of Object.values(alarms)) {
      expect(a['AlarmDescription']).toMatch(/^kms-decrypt-monitor: /);
      expect(a['TreatMissingData']).toBe('notBreaching');
      expect(a['AlarmActions']).toEqual({ 'Fn::If': ['NotifiesAlarmTopic', [{ Ref: 'AlarmTopicArn' }], { Ref: 'AWS::NoValue' }] });
    }
    // A dead letter is worth a look at once; the outbox retries by itself, so only 15 minutes of failures alarm.
    expect(alarms['EventsNotProcessedAlarm']).toMatchObject({ Threshold: 1, EvaluationPeriods: 1 });
    expect(alarms['FindingsNotPublishedAlarm']).toMatchObject({ Threshold: 1, EvaluationPeriods: 3, Period: 300 });
    for (const backlog of ['EventBacklogAlarm', 'LogFileBacklogAlarm']) expect(alarms[backlog]).toMatchObject({ Threshold: 900, EvaluationPeriods: 3, Period: 300, Statistic: 'Maximum' });
    expect(template.Parameters['AlarmTopicArn']).toMatchObject({ Type: 'String', Default: '' });
    expect(template.Conditions['NotifiesAlarmTopic']).toEqual({ 'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'AlarmTopicArn' }, ''] }] });
  });

  it.each([
    ['EventQueue', 'EventDeadLetterQueue', 'OnCloudTrailEventLambdaFunction'],
    ['TrailObjectQueue', 'TrailObjectDeadLetterQueue', 'OnTrailLogObjectLambdaFunction'],
  ])('encrypts %s, gives it a dead-letter queue and a visibility timeout of at least 6 function timeouts', (queueId, dlqId, functionId) => {
    const queue = resource(queueId).Properties;
    const fn = resource(functionId).Properties;

    expect(queue['SqsManagedSseEnabled']).toBe(true);
    expect(resource(dlqId).Properties['SqsManagedSseEnabled']).toBe(true);
    expect(queue['RedrivePolicy']).toMatchObject({ deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] } });
    expect(queue['VisibilityTimeout'] as number).toBeGreaterThanOrEqual(6 * (fn['Timeout'] as number));
  });

  it('admits only the trail bucket of this account to the log-object queue', () => {
    const statement = ((resource('TrailObjectQueuePolicy').Properties['PolicyDocument'] as { Statement: Record<string, unknown>[] }).Statement)[0]!;

    expect(statement['Principal']).toEqual({ Service: 's3.amazonaws.com' });
    expect(statement['Condition']).toEqual({
      ArnEquals: { 'aws:SourceArn': { 'Fn::Sub': 'arn:${AWS::Partition}:s3:::${TrailBucketName}' } },
      StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
    });
  });

  it('lets the log-object function read the trail\'s log files, with or without the trail\'s S3 key prefix, and nothing else of the bucket', () => {
    const role = resource('OnTrailLogObjectRole').Properties['Policies'] as { PolicyDocument: { Statement: { Sid?: string; Action: unknown; Resource: unknown }[] } }[];
    const statements = role.flatMap((p) => p.PolicyDocument.Statement).filter((st) => st.Action === 's3:GetObject');

    expect(statements).toEqual([expect.objectContaining({ Sid: 'TrailLogFiles', Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:s3:::${TrailBucketName}/*AWSLogs/*' } })]);
  });

  it('admits and subscribes an SNS topic that announces the log files only when trailTopicArn is given', () => {
    const pattern = new RegExp((template.Parameters['TrailTopicArn'] as { AllowedPattern: string }).AllowedPattern);
    for (const ok of ['', 'arn:aws:sns:us-east-1:111122223333:trail-files', 'arn:aws-us-gov:sns:us-gov-west-1:111122223333:org_trail']) expect(pattern.test(ok), ok).toBe(true);
    for (const bad of ['org-trail-logs', 'arn:aws:s3:::org-trail-logs', 'arn:aws:sns:us-east-1:1111:t']) expect(pattern.test(bad), bad).toBe(false);
    expect(template.Conditions['HearsOfLogFilesThroughSns']).toEqual({ 'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'TrailTopicArn' }, ''] }] });

    const statement = ((resource('TrailObjectQueuePolicy').Properties['PolicyDocument'] as { Statement: unknown[] }).Statement)[1];
    expect(statement).toEqual({
      'Fn::If': [
        'HearsOfLogFilesThroughSns',
        { Sid: 'OnlyTheTrailTopic', Effect: 'Allow', Principal: { Service: 'sns.amazonaws.com' }, Action: 'sqs:SendMessage', Resource: { 'Fn::GetAtt': ['TrailObjectQueue', 'Arn'] }, Condition: { ArnEquals: { 'aws:SourceArn': { Ref: 'TrailTopicArn' } } } },
        { Ref: 'AWS::NoValue' },
      ],
    });
    expect(template.Resources['TrailTopicSubscription']).toMatchObject({
      Type: 'AWS::SNS::Subscription',
      Condition: 'HearsOfLogFilesThroughSns',
      Properties: { TopicArn: { Ref: 'TrailTopicArn' }, Protocol: 'sqs', Endpoint: { 'Fn::GetAtt': ['TrailObjectQueue', 'Arn'] }, RawMessageDelivery: true },
    });
  });

  it('consumes each queue in batches, at most two at once, and reports partial batch failures', () => {
    const mappings = ofType('AWS::Lambda::EventSourceMapping').map(([, m]) => m.Properties);

    expect(mappings).toEqual(expect.arrayContaining([
      expect.objectContaining({ BatchSize: 1000, MaximumBatchingWindowInSeconds: 20, ScalingConfig: { MaximumConcurrency: 2 }, FunctionResponseTypes: ['ReportBatchItemFailures'], EventSourceArn: { 'Fn::GetAtt': ['EventQueue', 'Arn'] } }),
      expect.objectContaining({ BatchSize: 10, ScalingConfig: { MaximumConcurrency: 2 }, FunctionResponseTypes: ['ReportBatchItemFailures'], EventSourceArn: { 'Fn::GetAtt': ['TrailObjectQueue', 'Arn'] } }),
    ]));
    expect(mappings).toHaveLength(2);
  });

  it('keeps state in one on-demand table with TTL, KMS encryption, point-in-time recovery and the index the store queries', () => {
    const table = resource('StateTable') as Resource & { DeletionPolicy?: string };
    const definition = stateTableDefinition('unused');

    expect(table.Properties).toMatchObject({
      BillingMode: definition.BillingMode,
      AttributeDefinitions: definition.AttributeDefinitions,
      KeySchema: definition.KeySchema,
      GlobalSecondaryIndexes: definition.GlobalSecondaryIndexes,
      TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS' },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
    expect(table.DeletionPolicy).toBe('Retain');
    for (const [, f] of ofType('AWS::Lambda::Function')) expect((f.Properties['Environment'] as { Variables: Record<string, unknown> }).Variables['STATE_TABLE']).toEqual({ Ref: 'StateTable' });
  });

  it('flushes waiting correlation halves and the findings outbox on a schedule', () => {
    const schedules = ofType('AWS::Events::Rule').filter(([, r]) => r.Properties['ScheduleExpression'] !== undefined);

    expect(schedules.map(([, r]) => r.Properties['ScheduleExpression'])).toEqual(['rate(5 minutes)']);
    expect(schedules[0]?.[1].Properties['Targets']).toEqual([expect.objectContaining({ Arn: { 'Fn::GetAtt': ['FlushPendingLambdaFunction', 'Arn'] } })]);
  });

  const STATE_ACTIONS = ['dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem', 'dynamodb:ConditionCheckItem', 'dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem', 'kms:DescribeKey', 'kms:ListAliases', 'kms:ListResourceTags'];
  const PUBLISH_ACTIONS = ['securityhub:BatchImportFindings', 'sts:AssumeRole'];
  const QUEUE_ACTIONS = ['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ReceiveMessage'];
  const LOG_ACTIONS = ['logs:CreateLogStream', 'logs:PutLogEvents'];
  it.each([
    ['OnCloudTrailEventRole', 'OnCloudTrailEventLambdaFunction', [...LOG_ACTIONS, ...QUEUE_ACTIONS, ...STATE_ACTIONS, ...PUBLISH_ACTIONS].sort()],
    ['OnTrailLogObjectRole', 'OnTrailLogObjectLambdaFunction', [...LOG_ACTIONS, ...QUEUE_ACTIONS, ...STATE_ACTIONS, ...PUBLISH_ACTIONS, 's3:GetObject'].sort()],
    ['FlushPendingRole', 'FlushPendingLambdaFunction', [...LOG_ACTIONS, ...STATE_ACTIONS, ...PUBLISH_ACTIONS].sort()],
  ])('gives %s exactly the actions its function needs, on its own resources', (roleId, functionId, expected) => {
    const role = resource(roleId).Properties;
    const statements = (role['Policies'] as { PolicyDocument: { Statement: { Action: string | string[]; Resource: unknown }[] } }[]).flatMap((p) => p.PolicyDocument.Statement);
    const actions = statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action])).sort();

    expect(actions).toEqual(expected);
    for (const a of actions) expect(a).not.toContain('*');
    // kms:ListAliases is the one action AWS authorizes only on Resource "*".
    for (const s of statements) if (JSON.stringify(s.Action) !== '"kms:ListAliases"') expect(JSON.stringify(s.Resource)).not.toBe('"*"');
    const dynamo = statements.find((s) => JSON.stringify(s.Action).includes('dynamodb:'));
    expect(dynamo?.Resource).toEqual([{ 'Fn::GetAtt': ['StateTable', 'Arn'] }, { 'Fn::Sub': '${StateTable.Arn}/index/pending' }]);
    expect(resource(functionId).Properties['Role']).toEqual({ 'Fn::GetAtt': [roleId, 'Arn'] });
  });

  it('has one role per function', () => {
    const functions = ofType('AWS::Lambda::Function').map(([, f]) => JSON.stringify(f.Properties['Role']));

    expect(new Set(functions).size).toBe(functions.length);
  });

  it('lets only the organization put events on the central bus, and only when an organization id is given', () => {
    const policy = template.Resources['OrganizationEventBusPolicy'] as Resource & { Condition?: string };
    const statement = policy.Properties['Statement'] as Record<string, unknown>;

    expect(policy.Condition).toBe('ForwardsFromOrganization');
    expect(statement['Action']).toBe('events:PutEvents');
    expect(statement['Condition']).toEqual({ StringEquals: { 'aws:PrincipalOrgID': { Ref: 'OrganizationId' } } });
  });

  it('keeps each function bundle under 400 KB', () => {
    for (const [name, s] of Object.entries(sizes)) expect(s.bundleBytes, name).toBeLessThanOrEqual(400 * 1024);
  });

  it('leaves the rules\' test cases and their record builders out of the function bundles', () => {
    // The builders' example role principal: present only if a rule's `cases` were bundled (and built at cold start).
    for (const name of Object.keys(sizes)) {
      const dir = join(REPO, 'dist', 'lambda', name);
      const withCases = readdirSync(dir).filter((f) => f.endsWith('.mjs') && readFileSync(join(dir, f), 'utf8').includes('AROAEXAMPLE'));

      expect(withCases, name).toEqual([]);
    }
  });
});
