import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { UsageError } from '#core/errors.ts';
import { RULE_MODULES } from '#core/rules/catalogue.ts';
import { eventPatternsFor } from '#core/rules/event-patterns.ts';
import { memberForwardingTemplate } from '#core/rules/member-template.ts';
import { renderRulesMarkdown } from '#core/rules/rules-docs.ts';
import { runAllRuleCases } from '#core/rules/run-cases.ts';
import { parseCommandArgs } from './arguments.ts';
import { renderTable, safeText } from './terminal.ts';

export const RULES_DOC_PATH = 'docs/rules.md';

export const RULES_HELP = `kdm rules — the detection rules, as code (src/core/rules/, one file a rule with its test cases)

Usage:
  kdm rules list [--format table|json]   Each rule's id, title, severity and status
  kdm rules test                         Run every rule's test cases; exit 1 on any failure
  kdm rules docs [--out <file>] [--check]
                                         Write ${RULES_DOC_PATH} from the rules' metadata
                                         (--check: write nothing, exit 1 if the file is stale)
  kdm rules patterns                     The EventBridge event patterns the rules need (JSON)
  kdm rules member-template              CloudFormation that forwards those events from a member
                                         account to the monitoring account's bus (JSON)

Rules are tuned (on or off, severity, thresholds) and findings suppressed in kdm.config.yaml: see the README's
Configuration section and kdm.config.example.yaml.`;

/** `kdm rules list|test|docs|patterns|member-template`: the detection engineer's view of the rules. */
export const rulesCommand = (argv: readonly string[]): number => {
  const [sub, ...rest] = argv;
  if (sub === '--help' || sub === '-h' || rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${RULES_HELP}\n`);
    return 0;
  }
  switch (sub) {
    case 'list': {
      const { values } = parseCommandArgs('rules list', rest, { options: { format: { type: 'string', default: 'table' } } });
      const rows = RULE_MODULES.map(({ rule }) => ({ id: rule.id, title: rule.title, severity: rule.severity, status: rule.status }));
      if (values.format === 'json') process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
      else if (values.format === 'table') process.stdout.write(`${renderTable(['ID', 'TITLE', 'SEVERITY', 'STATUS'], rows.map((r) => [r.id, r.title, r.severity, r.status]))}\n`);
      else throw new UsageError(`--format must be table or json (got "${values.format}")`);
      return 0;
    }
    case 'test': {
      parseCommandArgs('rules test', rest, { options: {} });
      const results = runAllRuleCases(RULE_MODULES);
      for (const r of results) process.stdout.write(`${r.passed ? 'ok  ' : 'FAIL'} ${r.ruleId}: ${safeText(r.name)}${r.passed ? '' : `\n     ${safeText(r.message ?? '')}`}\n`);
      const failed = results.filter((r) => !r.passed).length;
      process.stdout.write(`${results.length - failed} passed, ${failed} failed\n`);
      return failed === 0 ? 0 : 1;
    }
    case 'docs': {
      const { values } = parseCommandArgs('rules docs', rest, { options: { out: { type: 'string', default: RULES_DOC_PATH }, check: { type: 'boolean' } } });
      const markdown = renderRulesMarkdown(RULE_MODULES);
      if (values.check === true) {
        let current = '';
        try {
          current = readFileSync(values.out, 'utf8');
        } catch {
          /* missing counts as stale */
        }
        if (current !== markdown) {
          process.stderr.write(`kdm: ${values.out} is stale; run: npx kdm rules docs\n`);
          return 1;
        }
        return 0;
      }
      mkdirSync(dirname(values.out), { recursive: true });
      writeFileSync(values.out, markdown);
      process.stdout.write(`wrote ${values.out} (${RULE_MODULES.length} rules)\n`);
      return 0;
    }
    case 'patterns': {
      parseCommandArgs('rules patterns', rest, { options: {} });
      process.stdout.write(`${JSON.stringify(eventPatternsFor(RULE_MODULES.map((m) => m.rule)), null, 2)}\n`);
      return 0;
    }
    case 'member-template': {
      parseCommandArgs('rules member-template', rest, { options: {} });
      process.stdout.write(`${JSON.stringify(memberForwardingTemplate(eventPatternsFor(RULE_MODULES.map((m) => m.rule))), null, 2)}\n`);
      return 0;
    }
    default:
      throw new UsageError(`kdm rules needs list, test, docs, patterns or member-template (got ${sub === undefined ? 'nothing' : `"${sub}"`}; kdm rules --help)`);
  }
};
