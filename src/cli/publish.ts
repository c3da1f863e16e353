import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { validateFindings } from '#adapters/aws/asff-validator.ts';
import { createEventBridgeFindingSink, EVENTBRIDGE_LIMITS } from '#adapters/aws/eventbridge-finding-sink.ts';
import { createMemberAccountClients } from '#adapters/aws/member-account-clients.ts';
import { batchFindings, createSecurityHubFindingSink, groupByImportTarget } from '#adapters/aws/securityhub-finding-sink.ts';
import { counted } from '#core/counted.ts';
import { FindingPublishError, MonitorError } from '#core/errors.ts';
import { toAsff, type AsffFinding } from '#core/findings/asff.ts';
import type { FindingRecord } from '#core/findings/finding.ts';
import type { Rule } from '#core/rules/define-rule.ts';
import { renderFinding, type FindingsFormat } from './render-finding.ts';
import { safeText } from './terminal.ts';
import { awsSetupProblem, resolveAwsSetup, unreachableProblem, type ResolvableClient } from './aws-setup.ts';

export type PublishTarget = 'securityhub' | 'eventbridge';

export interface PublishOptions {
  readonly target: PublishTarget;
  readonly dryRun: boolean;
  readonly format: FindingsFormat;
  readonly eventBus: string;
  readonly importRoleArnTemplate?: string;
  readonly region?: string;
  readonly fallbackAccountId?: string;
  readonly version: string;
}

/**
 * A client's region and credentials (through its import role, when there is one), resolved before any finding is
 * sent: a machine without them is told once, not once per finding as a rejection.
 */
const resolvedOrTold = async (client: ResolvableClient): Promise<void> => {
  try {
    await resolveAwsSetup(client);
  } catch (error) {
    const problem = awsSetupProblem(error);
    if (problem === undefined) throw error;
    throw new MonitorError('FINDING_IMPORT_FAILED', `cannot publish: ${problem}; nothing was sent`, { cause: error });
  }
};

/**
 * A destination's failures told once when they are all one and the same failure of the calls, no finding refused
 * for itself: AWS not reached at all (a line per finding naming "getaddrinfo ENOTFOUND" read as if the destination
 * had rejected them), or, before anything was sent, the same error for every finding (credentials AWS refuses, say).
 * Any other error as it is: each finding named with its error code.
 */
const toldOnce = (error: unknown, destination: string, delivered: number): unknown => {
  if (!(error instanceof FindingPublishError)) return error;
  const [first] = error.failures;
  if (first === undefined || error.failures.some((f) => f.refused === true || f.code !== first.code || f.message !== first.message)) return error;
  const unreachable = first.message === undefined ? undefined : unreachableProblem(first.message);
  if (unreachable === undefined && delivered > 0) return error;
  const why = unreachable ?? `${error.failures.length === 1 ? 'the finding' : `all ${counted(error.failures.length, 'finding')}`} failed with ${first.code}${first.message === undefined ? '' : `: ${first.message.replace(/\.$/, '')}`}`;
  const sent = delivered === 0 ? 'nothing was sent' : `${counted(delivered, 'finding')} sent before it failed, ${counted(error.failures.length, 'finding')} not`;
  return new MonitorError('FINDING_IMPORT_FAILED', `cannot publish to ${destination}: ${why}; ${sent}`, { cause: error });
};

/** `--publish`: validates every finding, then sends (or, with --dry-run, only counts what would be sent). */
export const publishFindings = async (findings: readonly FindingRecord[], rules: ReadonlyMap<string, Rule>, options: PublishOptions, stderr: NodeJS.WritableStream): Promise<void> => {
  const ruleOf = (f: FindingRecord): Rule => {
    const rule = rules.get(f.ruleId);
    if (rule === undefined) throw new MonitorError('RULE_INVALID', `finding ${f.id} names unknown rule ${f.ruleId}`);
    return rule;
  };
  const asff = (f: FindingRecord): AsffFinding => toAsff(f, ruleOf(f), options.fallbackAccountId !== undefined ? { fallbackAccountId: options.fallbackAccountId } : {});
  const rendered = findings.map(asff);
  const problems = validateFindings(rendered);
  if (problems.length > 0) {
    for (const p of problems.slice(0, 50)) stderr.write(`kdm: invalid finding ${safeText(p.findingId)}: ${p.path}: ${safeText(p.message)}\n`);
    throw new MonitorError('FINDING_IMPORT_FAILED', `${counted(problems.length, 'problem')} in ${counted(new Set(problems.map((p) => p.findingId)).size, 'finding')} against the Security Hub model; nothing was sent`);
  }
  if (options.target === 'securityhub') {
    const groups = groupByImportTarget(rendered);
    const calls = [...groups.values()].reduce((n, g) => n + batchFindings(g).length, 0);
    if (options.dryRun) {
      stderr.write(`kdm: dry run: ${counted(findings.length, 'finding')} valid for BatchImportFindings; would make ${counted(calls, 'call')} to Security Hub in ${counted(groups.size, 'account and region', 'accounts and regions')}\n`);
      return;
    }
    const clientFor = createMemberAccountClients(options.importRoleArnTemplate !== undefined ? { importRoleArnTemplate: options.importRoleArnTemplate } : {});
    for (const target of groups.keys()) {
      const [accountId = '', region = ''] = target.split('|');
      await resolvedOrTold(clientFor(accountId, region));
    }
    const sink = createSecurityHubFindingSink({ render: asff, clientFor });
    await sink.put(findings).catch((error: unknown) => {
      throw toldOnce(error, 'Security Hub', sink.stats.imported);
    });
    stderr.write(`kdm: imported ${counted(sink.stats.imported, 'finding')} into Security Hub in ${counted(sink.stats.calls, 'call')}\n`);
    return;
  }
  const calls = Math.ceil(findings.length / EVENTBRIDGE_LIMITS.entriesPerCall);
  if (options.dryRun) {
    stderr.write(`kdm: dry run: ${counted(findings.length, 'finding')} valid; would make ${counted(calls, 'PutEvents call')} to bus ${safeText(options.eventBus)} (${options.format})\n`);
    return;
  }
  const client = new EventBridgeClient(options.region !== undefined ? { region: options.region } : {});
  await resolvedOrTold(client);
  const sink = createEventBridgeFindingSink({
    client,
    busName: options.eventBus,
    render: (f) => ({ id: f.id, detail: renderFinding(f, ruleOf(f), options.format, options.version, options.fallbackAccountId), resources: [f.key?.arn, f.s3?.objectArn ?? f.s3?.bucketArn].filter((r): r is string => r !== undefined) }),
  });
  await sink.put(findings).catch((error: unknown) => {
    throw toldOnce(error, 'EventBridge', sink.stats.published);
  });
  stderr.write(`kdm: published ${counted(sink.stats.published, 'finding')} to EventBridge bus ${safeText(options.eventBus)} in ${counted(sink.stats.calls, 'call')}\n`);
};
