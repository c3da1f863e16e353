import { BASE_TIME_MS, kmsEvent } from '../testing/builders.ts';
import { defineRule, type RuleCase } from './define-rule.ts';
import { principalLabel } from './wording.ts';

/** After learning, the burst must also be this many times the principal's own learned peak. */
const BASELINE_FACTOR = 5;

/**
 * A context as `k1=v1&k2=v2`, its keys in order. On every Decrypt without an S3 ARN: callers usually log a
 * context's keys in order already, so the keys are sorted only when they are not.
 */
const contextMember = (context: Readonly<Record<string, string>>): string | undefined => {
  const keys = Object.keys(context);
  if (keys.length === 0) return undefined;
  for (let i = 1; i < keys.length; i++) {
    if ((keys[i - 1] as string) > (keys[i] as string)) {
      keys.sort();
      break;
    }
  }
  let member = '';
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    member += `${i === 0 ? '' : '&'}${key}=${context[key] ?? ''}`;
  }
  return member;
};

/** What one Decrypt opened: the S3 object (or bucket), else the context, else the call itself. */
const memberOf = (e: { readonly s3Arn?: string | undefined; readonly encryptionContext?: Readonly<Record<string, string>> | undefined; readonly eventId: string }): string =>
  e.s3Arn ?? (e.encryptionContext !== undefined ? contextMember(e.encryptionContext) : undefined) ?? `call:${e.eventId}`;

export const rule = defineRule({
  id: 'kms-mass-decrypt',
  title: 'Mass Decryption By One Principal',
  description:
    'One principal decrypted an unusual number of distinct objects or data keys in a short window: by default 200 distinct in 5 minutes, and far above the principal\'s own learned peak. Bulk decryption is what data theft from SSE-KMS buckets and envelope-encrypted stores looks like in KMS.',
  severity: 'HIGH',
  status: 'test',
  references: ['https://attack.mitre.org/techniques/T1530/', 'https://attack.mitre.org/tactics/TA0010/'],
  falsePositives: [
    'Backfills, re-encryption jobs and analytics scans',
    'A new batch job whose first run is after the learning period',
    'A principal reading the same objects again and again past 1,000 distinct ones in a window: the window remembers 1,000, and past them every Decrypt counts',
  ],
  tags: ['attack.exfiltration', 'attack.collection', 'attack.t1530'],
  runbook:
    'Find what the principal read (the objects listed as evidence, S3 data events for the same session) and where it went (source IP, VPC endpoint). If not a known job: revoke the session, block the principal in the key policy, and assess the data exposed.',
  findingTypes: ['TTPs/Exfiltration', 'Effects/Data Exfiltration', 'Unusual Behaviors/User'],
  selection: [{ eventSource: 'kms.amazonaws.com', eventNames: ['Decrypt'] }],
  defaults: { threshold: 200, windowMinutes: 5 },
  windowGroup: (e) => (e.errorCode === undefined && !e.principal.isAwsService ? e.principal.id : undefined),
  detect: (e, ctx) => {
    const counter = ctx.countInWindow(memberOf(e));
    if (counter === undefined) return undefined;
    ctx.notePeak(counter.count);
    if (counter.fired || counter.count < ctx.settings.threshold) return undefined;
    const peak = ctx.principalBaseline()?.peaks['kms-mass-decrypt'];
    if (!ctx.isPrincipalLearning() && peak !== undefined && counter.count < peak * BASELINE_FACTOR) return undefined;
    ctx.markWindowFired();
    const minutes = Math.round(ctx.settings.windowMs / 60_000);
    const sample = counter.members.slice(0, 3).join(', ');
    return {
      subject: e.principal.id,
      eventCount: counter.count,
      aggregationWindowMs: ctx.settings.windowMs,
      reason: `${principalLabel(e)} decrypted ${counter.count} distinct objects or data keys within ${minutes} minutes (threshold ${ctx.settings.threshold}${peak !== undefined ? `; its learned peak is ${peak}` : ''}), for example ${sample}.`,
    };
  },
});

const burst = (n: number, role: string, start = BASE_TIME_MS) =>
  Array.from({ length: n }, (_, i) => kmsEvent({ who: { role }, s3Arn: `arn:aws:s3:::data/obj-${i}`, atMs: start + i * 500 }));

export const cases = (): readonly RuleCase[] => [
  { name: 'fires once when one principal decrypts 200 distinct objects within 5 minutes', events: burst(250, 'Exfil'), expectFindings: 1 },
  { name: 'stays silent below the threshold', events: burst(150, 'Reader'), expectFindings: 0 },
  {
    name: 'counts distinct objects, not repeated reads of one object',
    events: Array.from({ length: 300 }, (_, i) => kmsEvent({ s3Arn: 'arn:aws:s3:::data/same', atMs: BASE_TIME_MS + i * 500 })),
    expectFindings: 0,
  },
  {
    name: 'counts one context as one data key, whatever order its keys were logged in',
    events: Array.from({ length: 300 }, (_, i) => kmsEvent({ context: i % 2 === 0 ? { tenant: 'acme', app: 'billing' } : { app: 'billing', tenant: 'acme' }, atMs: BASE_TIME_MS + i * 500 })),
    expectFindings: 0,
  },
  {
    name: 'counts distinct contexts as distinct data keys, their keys in any order',
    events: Array.from({ length: 250 }, (_, i) => kmsEvent({ context: i % 2 === 0 ? { tenant: `t${i}`, app: 'billing' } : { app: 'billing', tenant: `t${i}` }, atMs: BASE_TIME_MS + i * 500 })),
    expectFindings: 1,
  },
  {
    name: 'fires on the threshold while the principal learns, then stays silent for bursts near its learned peak',
    learningPeriodMs: 60 * 60_000,
    events: [...burst(220, 'Scanner'), ...burst(230, 'Scanner', BASE_TIME_MS + 2 * 3_600_000)],
    expectFindings: 1,
  },
];
