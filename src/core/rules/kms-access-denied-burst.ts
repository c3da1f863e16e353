import { KMS_DENIAL_ERRORS } from '../events/kms-operations.ts';
import { BASE_TIME_MS, kmsEvent } from '../testing/builders.ts';
import { defineRule, type RuleCase } from './define-rule.ts';
import { principalLabel } from './wording.ts';

export const rule = defineRule({
  id: 'kms-access-denied-burst',
  title: 'Burst Of Failed KMS Calls',
  description:
    'One principal made repeated KMS calls that failed for lack of access or with the wrong key or ciphertext (AccessDenied*, InvalidCiphertext, IncorrectKey, KMSInvalidState, ...): by default 10 in 5 minutes. Stolen credentials probing which keys they can use look like this.',
  severity: 'MEDIUM',
  status: 'test',
  references: ['https://attack.mitre.org/techniques/T1580/', 'https://docs.aws.amazon.com/kms/latest/developerguide/logging-using-cloudtrail.html'],
  falsePositives: ['A misconfigured application retrying after a key-policy change', 'A key disabled or scheduled for deletion while clients still use it'],
  tags: ['attack.discovery', 'attack.t1580', 'attack.credential-access'],
  runbook:
    'Look at the error messages and keys named in the evidence. A deployment that broke access needs its policy fixed; an unknown principal or source IP probing several keys needs its credentials revoked.',
  findingTypes: ['Unusual Behaviors/User', 'TTPs/Discovery'],
  selection: [{ eventSource: 'kms.amazonaws.com', eventNames: ['*'], onlyFailed: true }],
  defaults: { threshold: 10, windowMinutes: 5 },
  windowGroup: (e) => (e.errorCode !== undefined && KMS_DENIAL_ERRORS.has(e.errorCode) ? e.principal.id : undefined),
  detect: (e, ctx) => {
    const counter = ctx.countInWindow();
    if (counter === undefined || counter.fired || counter.count < ctx.settings.threshold) return undefined;
    ctx.markWindowFired();
    return {
      subject: e.principal.id,
      eventCount: counter.count,
      aggregationWindowMs: ctx.settings.windowMs,
      reason: `${principalLabel(e)} had ${counter.count} failed KMS calls within ${Math.round(ctx.settings.windowMs / 60_000)} minutes (threshold ${ctx.settings.threshold}), the latest ${e.eventName} failing with ${e.errorCode ?? 'an error'}${e.sourceIp !== undefined ? ` from ${e.sourceIp}` : ''}.`,
    };
  },
});

const denied = (n: number, errorCode = 'AccessDeniedException', stepMs = 10_000) =>
  Array.from({ length: n }, (_, i) => kmsEvent({ who: { role: 'Prober' }, errorCode, atMs: BASE_TIME_MS + i * stepMs }));

export const cases = (): readonly RuleCase[] => [
  { name: 'fires once for 12 denied calls within 5 minutes', events: denied(12), expectFindings: 1 },
  { name: 'counts the S3 spelling AccessDenied and wrong-key errors too', events: [...denied(5, 'AccessDenied'), ...denied(5, 'IncorrectKeyException')], expectFindings: 1 },
  { name: 'stays silent below the threshold', events: denied(9), expectFindings: 0 },
  {
    name: 'fires once for a burst that straddles a window boundary (6 before, 6 after)',
    events: Array.from({ length: 12 }, (_, i) => kmsEvent({ who: { role: 'Prober' }, errorCode: 'AccessDeniedException', atMs: BASE_TIME_MS + 5 * 60_000 - 60_000 + i * 10_000 })),
    expectFindings: 1,
  },
  { name: 'stays silent when the failures are spread out over hours', events: denied(12, 'AccessDeniedException', 30 * 60_000), expectFindings: 0 },
  { name: 'ignores throttling, which is not a denial', events: denied(20, 'ThrottlingException'), expectFindings: 0 },
];
