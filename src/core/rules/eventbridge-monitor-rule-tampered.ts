import { otherEvent } from '../testing/builders.ts';
import { defineRule, type RuleCase } from './define-rule.ts';
import { principalLabel } from './wording.ts';

/**
 * Every EventBridge rule the monitor deploys is named with this prefix (serverless.yml in the monitor's account,
 * infra/member-event-forwarding.json in each member account), so a change to one can be told from any other.
 */
export const MONITOR_RULE_NAME_PREFIX = 'kms-decrypt-monitor-';

/** The monitor's stacks change its rules through CloudFormation, which CloudTrail shows as the caller's address. */
const CLOUDFORMATION = 'cloudformation.amazonaws.com';

/** The calls that stop a rule forwarding, as the reason words them. */
const STOPS_FORWARDING: ReadonlyMap<string, string> = new Map([['DisableRule', 'disabled'], ['DeleteRule', 'deleted'], ['RemoveTargets', 'removed the targets of']]);

export const rule = defineRule({
  id: 'eventbridge-monitor-rule-tampered',
  title: 'The Monitor\'s EventBridge Rule Disabled Or Changed',
  description:
    'One of the EventBridge rules that carry CloudTrail events to this monitor was disabled, deleted, stripped of its target, or rewritten outside its CloudFormation stack. The monitor then stops seeing KMS calls, S3 data events or trail changes of that account and Region; an attacker blinds it that way before using a key.',
  severity: 'HIGH',
  status: 'experimental',
  references: ['https://attack.mitre.org/techniques/T1562/001/', 'https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rules.html'],
  falsePositives: [
    'An operator disabling a forwarding rule by hand during maintenance (re-enable it, or make the change through the stack)',
    'Tooling other than CloudFormation that manages the monitor\'s rules (such changes are MEDIUM when they keep the rule forwarding)',
  ],
  tags: ['attack.defense-evasion', 'attack.t1562.001'],
  runbook:
    'Re-enable the rule (aws events enable-rule --name <rule>) or redeploy the monitor\'s stack or StackSet instance for that account and Region, then replay the trail\'s log files for the gap (kdm replay, or the log-file queue). Find out who changed the rule and look for what they did while the monitor was blind: key policy changes, key deletions, trail changes and decrypts in that account.',
  findingTypes: ['TTPs/Defense Evasion', 'Software and Configuration Checks/AWS Security Best Practices'],
  selection: [{ eventSource: 'events.amazonaws.com', eventNames: ['DisableRule', 'DeleteRule', 'RemoveTargets', 'PutRule', 'PutTargets'] }],
  detect: (e) => {
    if (e.errorCode !== undefined || e.sourceIp === CLOUDFORMATION) return undefined;
    const rp = e.requestParameters;
    // DisableRule, DeleteRule and PutRule name the rule `name`; RemoveTargets and PutTargets `rule`.
    const named = rp?.['name'] ?? rp?.['rule'];
    if (typeof named !== 'string' || !named.startsWith(MONITOR_RULE_NAME_PREFIX)) return undefined;
    const bus = typeof rp?.['eventBusName'] === 'string' ? rp['eventBusName'] : 'default';
    const account = e.recipientAccountId ?? e.principal.accountId ?? 'unknown';
    const subject = `${account}|${e.region}|${bus}|${named}|${e.eventName}`;
    const where = `rule ${named} on event bus ${bus} in ${e.region} of account ${account}`;
    const did = STOPS_FORWARDING.get(e.eventName);
    if (did !== undefined) {
      return { subject, reason: `${principalLabel(e)} ${did} the monitor's EventBridge ${where}, outside its CloudFormation stack: the CloudTrail events it carried no longer reach the monitor.` };
    }
    if (e.eventName === 'PutRule' && rp?.['state'] === 'DISABLED') {
      return { subject, reason: `${principalLabel(e)} rewrote the monitor's EventBridge ${where} as DISABLED, outside its CloudFormation stack: the CloudTrail events it carried no longer reach the monitor.` };
    }
    return {
      subject,
      severity: 'MEDIUM',
      reason: `${principalLabel(e)} changed the monitor's EventBridge ${where} with ${e.eventName}, outside its CloudFormation stack: its pattern or targets may no longer carry what the monitor needs.`,
    };
  },
});

const call = (eventName: string, requestParameters: Record<string, unknown>, sourceIp?: string) => {
  const event = otherEvent('events.amazonaws.com', eventName, { requestParameters });
  return sourceIp === undefined ? event : { ...event, sourceIp };
};
const forwarding = `${MONITOR_RULE_NAME_PREFIX}kms-calls`;

export const cases = (): readonly RuleCase[] => [
  { name: 'fires HIGH when the monitor\'s rule is disabled', events: [call('DisableRule', { name: forwarding, eventBusName: 'default' })], expectFindings: 1, expectSeverity: 'HIGH' },
  { name: 'fires HIGH when the monitor\'s rule is deleted', events: [call('DeleteRule', { name: forwarding })], expectFindings: 1, expectSeverity: 'HIGH' },
  { name: 'fires HIGH when the monitor\'s rule loses its target', events: [call('RemoveTargets', { rule: forwarding, ids: ['central-bus'] })], expectFindings: 1, expectSeverity: 'HIGH' },
  { name: 'fires HIGH when PutRule rewrites the monitor\'s rule as DISABLED', events: [call('PutRule', { name: forwarding, state: 'DISABLED', eventPattern: '{}' })], expectFindings: 1, expectSeverity: 'HIGH' },
  { name: 'raises MEDIUM when the monitor\'s rule gets another pattern by hand', events: [call('PutRule', { name: forwarding, state: 'ENABLED', eventPattern: '{"source":["aws.ec2"]}' })], expectFindings: 1, expectSeverity: 'MEDIUM' },
  { name: 'stays silent for the monitor\'s own stack updating its rules', events: [call('PutRule', { name: forwarding, state: 'DISABLED' }, CLOUDFORMATION), call('DeleteRule', { name: forwarding }, CLOUDFORMATION)], expectFindings: 0 },
  { name: 'stays silent for other rules', events: [call('DisableRule', { name: 'nightly-report' }), call('RemoveTargets', { rule: 'kms-decrypt-monitoring-team-rule', ids: ['a'] })], expectFindings: 0 },
  { name: 'stays silent for a call that failed', events: [{ ...call('DisableRule', { name: forwarding }), errorCode: 'AccessDeniedException' }], expectFindings: 0 },
];
