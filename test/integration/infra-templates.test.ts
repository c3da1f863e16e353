import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { REPO } from '../helpers/cli.ts';

const cfnLint = spawnSync('cfn-lint', ['--version'], { encoding: 'utf8' });
const hasCfnLint = cfnLint.status === 0;
const templates = readdirSync(join(REPO, 'infra')).filter((f) => /\.ya?ml$|\.json$/.test(f));

describe('infra/ templates', () => {
  it('has templates to check', () => {
    expect(templates.length).toBeGreaterThan(0);
  });

  it.skipIf(!hasCfnLint).each(templates)('%s passes cfn-lint', (file) => {
    const run = spawnSync('cfn-lint', ['--format', 'parseable', join(REPO, 'infra', file)], { encoding: 'utf8' });

    expect(run.stdout + run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

  it.runIf(!hasCfnLint)('says clearly that cfn-lint is missing (only this check is skipped)', () => {
    console.warn('cfn-lint is not installed on this machine: the cfn-lint checks of infra/ were skipped');
  });
});

describe('infra/member-event-forwarding.json', () => {
  const file = join(REPO, 'infra', 'member-event-forwarding.json');
  const checkedIn = readFileSync(file, 'utf8');
  const template = JSON.parse(checkedIn) as { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };

  it('is what the rules generate today (regenerate: node scripts/generate-infra.mjs)', () => {
    const generated = spawnSync(process.execPath, [join(REPO, 'dist', 'kdm.js'), 'rules', 'member-template'], { cwd: REPO, encoding: 'utf8' });

    expect(generated.status).toBe(0);
    expect(checkedIn).toBe(generated.stdout);
  });

  it('forwards with the state that sees read-only management events, to the central bus only, one hop', () => {
    const rules = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Events::Rule');

    expect(rules).toHaveLength(3);
    for (const r of rules) {
      // The name the eventbridge-monitor-rule-tampered rule recognises.
      expect(r.Properties['Name']).toMatch(/^kms-decrypt-monitor-[a-z0-9-]+$/);
      expect(r.Properties['State']).toBe('ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS');
      expect(r.Properties['Targets']).toEqual([expect.objectContaining({ Id: 'central-bus', RoleArn: { 'Fn::GetAtt': ['ForwardingRole', 'Arn'] } })]);
    }
    const role = template.Resources['ForwardingRole']!.Properties as { Policies: { PolicyDocument: { Statement: { Action: string }[] } }[] };
    expect(role.Policies.flatMap((p) => p.PolicyDocument.Statement.map((s) => s.Action))).toEqual(['events:PutEvents']);
  });

  it('keeps what the central bus does not take in a queue of the member account, only the forwarding rules may fill it, and an alarm says so', () => {
    const ruleIds = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::Events::Rule').map(([id]) => id);
    const policy = template.Resources['UndeliveredEventsQueuePolicy']!.Properties as { PolicyDocument: { Statement: Record<string, unknown>[] } };
    const alarm = template.Resources['UndeliveredEventsAlarm']!.Properties;

    for (const id of ruleIds) {
      expect((template.Resources[id]!.Properties['Targets'] as Record<string, unknown>[])[0]?.['DeadLetterConfig']).toEqual({ Arn: { 'Fn::GetAtt': ['UndeliveredEventsQueue', 'Arn'] } });
    }
    expect(template.Resources['UndeliveredEventsQueue']!.Properties).toMatchObject({ SqsManagedSseEnabled: true });
    expect(policy.PolicyDocument.Statement).toEqual([expect.objectContaining({
      Principal: { Service: 'events.amazonaws.com' },
      Action: 'sqs:SendMessage',
      Condition: { ArnEquals: { 'aws:SourceArn': ruleIds.map((id) => ({ 'Fn::GetAtt': [id, 'Arn'] })) } },
    })]);
    expect(alarm).toMatchObject({ Namespace: 'AWS/SQS', MetricName: 'ApproximateNumberOfMessagesVisible', Threshold: 1, Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': ['UndeliveredEventsQueue', 'QueueName'] } }] });
    expect(alarm['AlarmActions']).toEqual({ 'Fn::If': ['NotifiesAlarmTopic', [{ Ref: 'AlarmTopicArn' }], { Ref: 'AWS::NoValue' }] });
  });
});

describe('infra/cloudtrail-prerequisites.yaml', () => {
  // CloudFormation short tags (!Ref, !Sub, ...) parse as plain values here; only the structure is checked.
  const doc = parseDocument(readFileSync(join(REPO, 'infra', 'cloudtrail-prerequisites.yaml'), 'utf8'), { logLevel: 'silent' }).toJS() as {
    Resources: { Trail: { Properties: { IsMultiRegionTrail: boolean; EventSelectors?: unknown; AdvancedEventSelectors: { FieldSelectors: { Field: string; Equals?: string[]; NotEquals?: string[] }[] }[] } } };
  };
  const trail = doc.Resources.Trail.Properties;

  it('logs every management event (KMS is never excluded) and S3 object data events through advanced selectors', () => {
    const selectors = trail.AdvancedEventSelectors.map((s) => s.FieldSelectors);
    const management = selectors.find((f) => f.some((x) => x.Field === 'eventCategory' && x.Equals?.includes('Management')));
    const data = selectors.find((f) => f.some((x) => x.Field === 'eventCategory' && x.Equals?.includes('Data')));

    expect(trail.EventSelectors).toBeUndefined();
    expect(management).toEqual([{ Field: 'eventCategory', Equals: ['Management'] }]);
    expect(data?.find((x) => x.Field === 'resources.type')?.Equals).toEqual(['AWS::S3::Object']);
    expect(trail.IsMultiRegionTrail).toBe(true);
  });
});
