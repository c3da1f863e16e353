import { counted } from '../counted.ts';
import { DAY_MS } from '../engine-config.ts';
import { BASE_TIME_MS, days, hours, kmsEvent, type Identity } from '../testing/builders.ts';
import { defineFindingsRule, type RuleCase } from './define-rule.ts';
import { listFew } from './wording.ts';

export const rule = defineFindingsRule({
  id: 'kms-principal-several-anomalies',
  title: 'One Principal Raised Findings Of Several Rules Within A Day',
  description:
    'One principal raised findings of several other rules within a day, by event time: in one UTC day, or across a midnight in the 24 hours from noon to noon (UTC); by default three. Each of those rules sees one anomaly, and each alone may be a new job or a misconfiguration; a stolen credential shows several at once (a new network, a new client, then a bulk decrypt or a key swap). This rule reads the other rules\' findings, not events, and names them all, so the story reaches the analyst as one HIGH finding.',
  severity: 'HIGH',
  status: 'experimental',
  references: ['https://attack.mitre.org/techniques/T1078/004/', 'https://docs.aws.amazon.com/securityhub/latest/userguide/asff-top-level-attributes.html#asff-relatedfindings'],
  falsePositives: [
    'A migration or a new deployment that changes a role\'s network, client and keys at once',
    'A noisy rule not yet tuned for this principal: suppress that rule for it, and this one follows',
  ],
  tags: ['attack.initial-access', 'attack.t1078.004', 'attack.collection'],
  runbook:
    'Open the related findings, earliest first: they are one identity\'s day. Ask the principal\'s owner whether the changes were planned. If not, treat the credentials as stolen: revoke the role\'s sessions or the user\'s keys, look for what else they touched, and check which objects were decrypted.',
  findingTypes: ['TTPs/Initial Access', 'Unusual Behaviors/User'],
  defaults: { threshold: 3, windowMinutes: 24 * 60 },
  judgeStory: (story, settings) => {
    // Each rule with its count and first finding: the rules are told in the order the day brought them.
    const byRule = new Map<string, { count: number; firstMs: number }>();
    for (const f of story.findings) {
      const seen = byRule.get(f.ruleId);
      if (seen === undefined) byRule.set(f.ruleId, { count: 1, firstMs: f.firstSeenMs });
      else {
        seen.count++;
        seen.firstMs = Math.min(seen.firstMs, f.firstSeenMs);
      }
    }
    if (byRule.size < settings.threshold) return undefined;
    const rules = [...byRule]
      .sort(([a, x], [b, y]) => x.firstMs - y.firstMs || (a < b ? -1 : 1))
      .map(([ruleId, { count }]) => (count === 1 ? ruleId : `${ruleId} (${counted(count, 'finding')})`));
    // A story of a day is a UTC day, or the 24 hours from noon to noon, across a midnight.
    const day = story.windowMs === DAY_MS;
    const span =
      day && story.windowStartMs % DAY_MS === 0
        ? `on ${new Date(story.windowStartMs).toISOString().slice(0, 10)} (UTC)`
        : `between ${new Date(story.windowStartMs).toISOString()} and ${new Date(story.windowStartMs + story.windowMs).toISOString()}`;
    return {
      reason: `${story.principal.id} raised findings of ${byRule.size} rules ${span} (threshold ${settings.threshold}): ${listFew(rules, 6)}. Each is one anomaly; one identity showing several ${day ? 'in a day' : 'so close together'} is more likely stolen or misused than any of them alone.`,
    };
  },
});

/**
 * One principal's day: a decrypt, a throttled call and a burst of denied calls, each an hour (or `stepMs`) apart, from
 * 09:00 UTC (or `startMs`).
 */
const dayOf = (who: Identity, stepMs = hours(1), startMs = BASE_TIME_MS) => [
  kmsEvent({ who, atMs: startMs }),
  kmsEvent({ who, errorCode: 'ThrottlingException', atMs: startMs + stepMs }),
  ...Array.from({ length: 12 }, (_, i) => kmsEvent({ who, errorCode: 'AccessDeniedException', atMs: startMs + 2 * stepMs + i * 10_000 })),
];
const rootDay = (stepMs?: number) => dayOf({ root: true }, stepMs);

export const cases = (): readonly RuleCase[] => [
  {
    name: 'fires when one principal raises findings of three rules in a day (root use, throttling, a burst of denials)',
    events: rootDay(),
    expectFindings: 1,
    expectSeverity: 'HIGH',
    expectReasonIncludes: '3 rules on 2026-10-01 (UTC) (threshold 3): kms-root-usage (3 findings), kms-throttled, kms-access-denied-burst.',
  },
  {
    // The decrypt at 22:00 and the throttled call at 23:30 raise two rules on 2026-10-01, the denials at 01:00 two on
    // 2026-10-02 (each root call is kms-root-usage's too): neither UTC day holds three, the night does.
    name: 'fires when the three come across a midnight (22:00 to 01:00), in the 24 hours from noon to noon',
    events: dayOf({ root: true }, hours(1.5), BASE_TIME_MS + hours(13)),
    expectFindings: 1,
    expectReasonIncludes: '3 rules between 2026-10-01T12:00:00.000Z and 2026-10-02T12:00:00.000Z (threshold 3): kms-root-usage (3 findings), kms-throttled, kms-access-denied-burst. Each is one anomaly; one identity showing several in a day',
  },
  {
    name: 'tells an afternoon once, as its UTC day: the noon-to-noon window holds it too, but it does not cross the midnight',
    events: dayOf({ root: true }, hours(1), BASE_TIME_MS + hours(4)),
    expectFindings: 1,
    expectReasonIncludes: '3 rules on 2026-10-01 (UTC) (threshold 3)',
  },
  { name: 'stays silent for two rules', events: rootDay().slice(0, 2), expectFindings: 0 },
  { name: 'stays silent when the three come a day apart each', events: rootDay(days(1)), expectFindings: 0 },
  {
    name: 'stays silent when the three are different principals\' findings',
    events: [...rootDay().slice(0, 1), ...dayOf({ role: 'Busy' }).slice(1, 2), ...dayOf({ role: 'Prober' }).slice(2)],
    expectFindings: 0,
  },
  {
    name: 'tells a window other than a day by its bounds (window 6h)',
    events: rootDay(),
    config: { rules: { 'kms-principal-several-anomalies': { window: '6h' } } },
    expectFindings: 1,
    expectReasonIncludes: 'between 2026-10-01T06:00:00.000Z and 2026-10-01T12:00:00.000Z (threshold 3): kms-root-usage (3 findings), kms-throttled, kms-access-denied-burst. Each is one anomaly; one identity showing several so close together',
  },
  { name: 'fires for two rules with threshold 2', events: rootDay().slice(0, 2), config: { rules: { 'kms-principal-several-anomalies': { threshold: 2 } } }, expectFindings: 1 },
  {
    name: 'stays silent when one of the three is suppressed',
    events: rootDay(),
    config: { suppressions: [{ id: 'load-test', rule: 'kms-throttled', reason: 'the load test throttles root on purpose', expires: '2031-01-01' }] },
    expectFindings: 0,
  },
];
