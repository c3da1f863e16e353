import { toAsff } from '#core/findings/asff.ts';
import type { FindingRecord } from '#core/findings/finding.ts';
import { toOcsf } from '#core/findings/ocsf.ts';
import type { Rule } from '#core/rules/define-rule.ts';

// Apart from publish.ts: writing findings to a file needs neither the AWS SDK nor the Security Hub model.

export type FindingsFormat = 'asff' | 'ocsf';

/** A finding as `--findings` writes it and `--publish` sends it: ASFF (Security Hub) or OCSF (EventBridge). */
export const renderFinding = (f: FindingRecord, rule: Rule, format: FindingsFormat, version: string, fallbackAccountId?: string): unknown =>
  format === 'ocsf' ? toOcsf(f, rule, version) : toAsff(f, rule, fallbackAccountId !== undefined ? { fallbackAccountId } : {});
