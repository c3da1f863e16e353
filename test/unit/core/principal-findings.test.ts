import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createMemoryStateStore } from '#adapters/memory/memory-state-store.ts';
import { createRecordProcessor } from '#app/process-records.ts';
import { compileConfig } from '#core/config.ts';
import { createEngine } from '#core/engine.ts';
import { describeFinding, toAsff } from '#core/findings/asff.ts';
import { findingIdOf, MAX_RELATED_FINDINGS, mergeDetection, relatedIdsOf, withRelatedFindings, type FindingRecord } from '#core/findings/finding.ts';
import { toOcsf } from '#core/findings/ocsf.ts';
import {
  MAX_STORY_WINDOWS,
  PRINCIPAL_FINDINGS_LIMIT,
  principalFindingsKeyOf,
  principalFindingsObsoleteAt,
  relateByPrincipal,
  storiesOf,
  withSamePrincipal,
  type PrincipalFindings,
} from '#core/findings/principal-findings.ts';
import { defineRule, type Detection } from '#core/rules/define-rule.ts';
import { ruleById } from '#core/rules/registry.ts';
import { BASE_TIME_MS, days, hours, KEY_ARN, kmsEvent, kmsRecord, type Identity } from '#core/testing/builders.ts';
import { TEST_RULE_METADATA } from '../../helpers/test-rule.ts';

const INTRUDER: Identity = { role: 'Intruder', session: 'evil' };

/** What another finding names of `f`: its id and place. */
const named = (f: FindingRecord) => ({ id: f.id, accountId: f.accountId, region: f.region });

const detected = (ruleId: string, atMs: number, who: Identity = INTRUDER, subject = `${ruleId}|subject`): FindingRecord => {
  const d: Detection = {
    ruleId,
    severity: 'MEDIUM',
    subject,
    aggregationWindowMs: hours(1),
    reason: `${ruleId} fired.`,
    event: kmsEvent({ atMs, who }),
  };
  return mergeDetection(undefined, d, 1_000);
};

/** A store of findings and principal entries, as process-records keeps them, for relating batches in turn. */
const storeOfFindings = () => {
  const findings = new Map<string, FindingRecord>();
  const entries = new Map<string, PrincipalFindings>();
  let nowMs = 10_000;
  const add = (batch: readonly FindingRecord[]): void => {
    nowMs += 1_000;
    // A batch updates the findings it raised again (their spans, a suppression) and keeps what they named.
    const merged = batch.map((f) => {
      const before = findings.get(f.id);
      if (before === undefined) return f;
      const merged = { ...f, firstSeenMs: Math.min(before.firstSeenMs, f.firstSeenMs), lastSeenMs: Math.max(before.lastSeenMs, f.lastSeenMs) };
      return before.samePrincipal !== undefined ? { ...merged, samePrincipal: before.samePrincipal, ...(before.samePrincipalElsewhere !== undefined ? { samePrincipalElsewhere: before.samePrincipalElsewhere } : {}) } : merged;
    });
    for (const f of merged) findings.set(f.id, f);
    const update = relateByPrincipal(merged, (key) => entries.get(key), nowMs);
    for (const f of update.findings.values()) findings.set(f.id, f);
    for (const [key, entry] of update.entries) {
      if (entry === undefined) entries.delete(key);
      else entries.set(key, entry);
    }
    for (const [id, naming] of update.namedBack) {
      const f = findings.get(id);
      if (f !== undefined) findings.set(id, withSamePrincipal(f, naming, nowMs));
    }
  };
  return { findings, entries, add };
};

describe('findings of one principal within a day of each other', () => {
  it('keys a principal by its stable identity (a role, not its session), and no one for AWS services or callers without a name', () => {
    const morning = detected('kms-unusual-network', BASE_TIME_MS, { role: 'Intruder', session: 'a' });
    const night = detected('kms-mass-decrypt', BASE_TIME_MS + hours(12), { role: 'Intruder', session: 'b' });

    expect(principalFindingsKeyOf(morning.principal)).toBe('pfind#arn:aws:iam::111122223333:role/Intruder');
    expect(principalFindingsKeyOf(night.principal)).toBe(principalFindingsKeyOf(morning.principal));
    expect(principalFindingsKeyOf(detected('kms-throttled', BASE_TIME_MS, { service: 's3.amazonaws.com' }).principal)).toBeUndefined();
    expect(principalFindingsKeyOf({ id: 'unknown', type: 'Unknown' })).toBeUndefined();
  });

  it('names each other within one batch, and the later batch\'s finding names the earlier one, which is named back', () => {
    const network = detected('kms-unusual-network', BASE_TIME_MS);
    const client = detected('kms-unusual-client', BASE_TIME_MS + hours(1));
    const mass = detected('kms-mass-decrypt', BASE_TIME_MS + hours(20));
    const store = storeOfFindings();

    store.add([network, client]);
    expect(store.findings.get(network.id)?.samePrincipal).toEqual([client.id]);
    expect(store.findings.get(client.id)?.samePrincipal).toEqual([network.id]);

    const later = relateByPrincipal([mass], (key) => store.entries.get(key), 20_000);
    expect(later.findings.get(mass.id)?.samePrincipal).toEqual([mass.id, network.id, client.id].filter((id) => id !== mass.id).sort());
    expect(later.namedBack).toEqual(new Map([[network.id, [named(mass)]], [client.id, [named(mass)]]]));
    expect(later.findings.get(mass.id)?.updatedAtMs).toBe(20_000);

    store.add([mass]);
    expect(store.findings.get(network.id)?.samePrincipal).toEqual([client.id, mass.id].sort());
  });

  it('leaves apart findings more than a day apart, other principals\' findings, and suppressed findings', () => {
    const first = detected('kms-unusual-network', BASE_TIME_MS);
    const store = storeOfFindings();
    store.add([first]);
    store.add([detected('kms-mass-decrypt', BASE_TIME_MS + days(1) + 1)]);
    store.add([detected('kms-unusual-region', BASE_TIME_MS, { role: 'Someone' })]);
    store.add([{ ...detected('kms-unusual-client', BASE_TIME_MS), suppressedBy: { id: 'etl', reason: 'the ETL job' } }]);

    for (const f of store.findings.values()) expect(f.samePrincipal).toBeUndefined();
    // A day between the first's last event and the other's first is still near.
    const edge = relateByPrincipal([detected('kms-unusual-region', BASE_TIME_MS - days(1))], (key) => store.entries.get(key), 30_000);
    expect([...edge.findings.values()][0]?.samePrincipal).toEqual([first.id]);
  });

  it('takes a finding out of its principal\'s entry once a suppression matches it, so that later ones do not name it', () => {
    const region = detected('kms-unusual-region', BASE_TIME_MS);
    const store = storeOfFindings();
    store.add([region]);
    store.add([{ ...region, suppressedBy: { id: 'dr-drill', reason: 'the disaster recovery drill' } }]);
    store.add([detected('kms-mass-decrypt', BASE_TIME_MS + hours(2))]);

    expect([...store.entries.values()].map((e) => Object.keys(e.findings).length)).toEqual([1]);
    for (const f of store.findings.values()) expect(f.samePrincipal).toBeUndefined();
    // An entry left with no finding is deleted, not kept empty (DynamoDB could give it no TTL).
    const alone = detected('kms-unusual-region', BASE_TIME_MS, { role: 'Alone' });
    const emptied = relateByPrincipal([{ ...alone, suppressedBy: { id: 'dr-drill', reason: 'r' } }], () => ({ kind: 'principal-findings', findings: { [alone.id]: [BASE_TIME_MS, BASE_TIME_MS, '111122223333', 'us-east-1'] } }), 9_000);
    expect(emptied.entries).toEqual(new Map([['pfind#arn:aws:iam::111122223333:role/Alone', undefined]]));
    expect(principalFindingsObsoleteAt({ kind: 'principal-findings', findings: {} })).toBe(0);
  });

  it('does not name again a finding another rule raised on the same event', () => {
    const client = detected('kms-unusual-client', BASE_TIME_MS);
    const network = detected('kms-unusual-network', BASE_TIME_MS);
    const withRelated = withRelatedFindings(client, [network.id], 2_000);

    const update = relateByPrincipal([withRelated, withRelatedFindings(network, [client.id], 2_000)], () => undefined, 3_000);

    expect(update.findings.size).toBe(0);
    expect(update.entries.size).toBe(1);
  });

  it('names the first ten by id, whatever order they came in, and moves UpdatedAt only when that changes', () => {
    const many = Array.from({ length: 13 }, (_, i) => detected(`rule-${String(i).padStart(2, '0')}`, BASE_TIME_MS + i * 60_000));
    const last = many[12] as FindingRecord;
    const naming = withSamePrincipal(last, many.map(named).reverse(), 5_000);

    expect(naming.samePrincipal).toEqual(many.slice(0, MAX_RELATED_FINDINGS).map((f) => f.id));
    expect(withSamePrincipal(naming, [named(many[11] as FindingRecord)], 6_000)).toBe(naming);
    // One that sorts first takes the place of the last.
    const earlier = detected('kms-aaa', BASE_TIME_MS);
    const again = withSamePrincipal(naming, [named(earlier)], 7_000);
    expect(again.samePrincipal).toEqual([earlier.id, ...many.slice(0, MAX_RELATED_FINDINGS - 1).map((f) => f.id)]);
    expect(again.updatedAtMs).toBe(7_000);
  });

  it('names the principal\'s stories before its other findings, so that past ten they are the ones kept', () => {
    const many = Array.from({ length: 12 }, (_, i) => detected(`rule-${String(i).padStart(2, '0')}`, BASE_TIME_MS + i * 60_000));
    const story = detected('zz-story', BASE_TIME_MS + hours(1));
    const isStory = (id: string) => id.split('/')[1] === 'zz-story';

    const update = relateByPrincipal([...many, story], () => undefined, 5_000, isStory);

    for (const f of many) expect(update.findings.get(f.id)?.samePrincipal?.[0]).toBe(story.id);
    expect(update.findings.get(story.id)?.samePrincipal).toEqual(many.slice(0, MAX_RELATED_FINDINGS).map((f) => f.id));
    // Without it, ids alone decide, and the story sorts last.
    expect(relateByPrincipal([...many, story], () => undefined, 5_000).findings.get(many[0]?.id as string)?.samePrincipal).not.toContain(story.id);
  });

  it('names the same findings whatever the batches and their order (a replay of Event history reads days newest first)', () => {
    const rules = ['kms-unusual-network', 'kms-unusual-client', 'kms-mass-decrypt', 'kms-unusual-region', 'kms-s3-unusual-bucket', 's3-decrypt-without-object-access'];
    const events = fc.array(fc.record({ rule: fc.constantFrom(...rules), hour: fc.integer({ min: 0, max: 80 }), minute: fc.integer({ min: 0, max: 59 }), subject: fc.constantFrom('a', 'b', 'c'), who: fc.constantFrom('Intruder', 'Other') }), { minLength: 1, maxLength: 30 });
    fc.assert(
      fc.property(events, fc.integer({ min: 1, max: 6 }), fc.integer(), (list, batchSize, seed) => {
        // Events of one rule, principal, subject and hour are one finding, whose span grows as they come.
        const asFindings = list.map((e) => detected(e.rule, BASE_TIME_MS + hours(e.hour) + e.minute * 60_000, { role: e.who }, `${e.rule}|${e.who}|${e.subject}`));
        const inOrder = storeOfFindings();
        for (let i = 0; i < asFindings.length; i += batchSize) inOrder.add(asFindings.slice(i, i + batchSize));
        const shuffled = fc.sample(fc.shuffledSubarray(asFindings, { minLength: asFindings.length, maxLength: asFindings.length }), { seed, numRuns: 1 })[0] as FindingRecord[];
        const otherOrder = storeOfFindings();
        for (const f of shuffled) otherOrder.add([f]);

        const names = (s: ReturnType<typeof storeOfFindings>) => new Map([...s.findings].map(([id, f]) => [id, f.samePrincipal ?? []]));
        expect(names(otherOrder)).toEqual(names(inOrder));
      }),
      { numRuns: 200 },
    );
  });

  it('keeps the fifty last seen in a principal\'s entry, and says when event time makes it obsolete', () => {
    const findings = Array.from({ length: PRINCIPAL_FINDINGS_LIMIT + 5 }, (_, i) => detected('kms-unusual-principal', BASE_TIME_MS + i * 60_000, INTRUDER, `key-${i}`));

    const update = relateByPrincipal(findings, () => undefined, 5_000);
    const entry = [...update.entries.values()][0] as PrincipalFindings;

    expect(Object.keys(entry.findings)).toHaveLength(PRINCIPAL_FINDINGS_LIMIT);
    expect(Object.keys(entry.findings)).not.toContain(findings[0]?.id);
    const newest = findings.at(-1) as FindingRecord;
    expect(entry.findings[newest.id]).toEqual([newest.firstSeenMs, newest.lastSeenMs, '111122223333', 'us-east-1', 1]);
    expect(principalFindingsObsoleteAt(entry)).toBe(newest.lastSeenMs + days(1));
  });
});

describe('findings of one principal, as Security Hub and OCSF get them', () => {
  const rule = ruleById('kms-unusual-network');
  if (rule === undefined) throw new Error('kms-unusual-network is not registered');
  const network = detected('kms-unusual-network', BASE_TIME_MS);
  const sameCall = detected('kms-unusual-client', BASE_TIME_MS);
  const mass = detected('kms-mass-decrypt', BASE_TIME_MS + hours(3));
  const mass2 = detected('kms-mass-decrypt', BASE_TIME_MS + hours(5), INTRUDER, 'another key');
  const f = withSamePrincipal(withRelatedFindings(network, [sameCall.id], 2_000), [sameCall, mass, mass2].map(named), 3_000);

  it('says in the description which rules the principal raised within a day, apart from those on the same call', () => {
    expect(f.samePrincipal).toEqual([mass.id, mass2.id].sort());
    expect(describeFinding(f)).toContain('The same call also raised kms-unusual-client (see its related findings).');
    expect(describeFinding(f)).toContain('Within a day of it, the same principal also raised kms-mass-decrypt (2 findings) (see its related findings).');
  });

  it('names both kinds in ASFF RelatedFindings and OCSF related events, the same call\'s first, at most ten', () => {
    const asff = toAsff(f, rule, { fallbackAccountId: '111122223333' });
    expect((asff.RelatedFindings as { Id: string }[] | undefined)?.map((r) => r.Id)).toEqual([sameCall.id, ...[mass.id, mass2.id].sort()]);
    // Also where Security Hub keeps the provider's own after a customer edits the top-level ones.
    expect((asff['FindingProviderFields'] as { RelatedFindings?: unknown }).RelatedFindings).toEqual(asff.RelatedFindings);
    expect((toAsff(network, rule, {})['FindingProviderFields'] as Record<string, unknown>)['RelatedFindings']).toBeUndefined();
    const ocsf = toOcsf(f, rule, '0.1.0')['finding_info'] as { related_events: { uid: string; product_uid: string }[] };
    expect(ocsf.related_events.filter((e) => e.product_uid === 'kms-decrypt-monitor').map((e) => e.uid)).toEqual(relatedIdsOf(f));
    const crowded = { ...f, related: Array.from({ length: 8 }, (_, i) => `kms-decrypt-monitor/r${i}/0/0`), samePrincipal: Array.from({ length: 8 }, (_, i) => `kms-decrypt-monitor/s${i}/0/0`) };
    expect(relatedIdsOf(crowded)).toHaveLength(MAX_RELATED_FINDINGS);
    expect(relatedIdsOf(crowded).slice(0, 8)).toEqual(crowded.related);
  });

  it('names a finding of another Region or account under the product Security Hub keeps it in', () => {
    const abroad = mergeDetection(undefined, { ruleId: 'kms-unusual-region', severity: 'MEDIUM', subject: 'abroad', aggregationWindowMs: hours(1), reason: 'r', event: kmsEvent({ atMs: BASE_TIME_MS + hours(1), who: INTRUDER, region: 'eu-west-1' }) }, 1_000);
    const elsewhere = { id: 'kms-decrypt-monitor/kms-cross-account/0/0', accountId: '444455556666', region: 'us-east-1' };
    const naming = withSamePrincipal(f, [named(abroad), elsewhere], 4_000);

    expect(naming.samePrincipalElsewhere).toEqual({ [abroad.id]: { accountId: '111122223333', region: 'eu-west-1' }, [elsewhere.id]: { accountId: '444455556666', region: 'us-east-1' } });
    const products = new Map(((toAsff(naming, rule, {}).RelatedFindings ?? []) as { Id: string; ProductArn: string }[]).map((r) => [r.Id, r.ProductArn]));
    expect(products.get(abroad.id)).toBe('arn:aws:securityhub:eu-west-1:111122223333:product/111122223333/default');
    expect(products.get(elsewhere.id)).toBe('arn:aws:securityhub:us-east-1:444455556666:product/444455556666/default');
    expect(products.get(mass.id)).toBe('arn:aws:securityhub:us-east-1:111122223333:product/111122223333/default');
    // The places it names stay as it names more, and go with a name the first ten no longer hold.
    const crowdedOut = withSamePrincipal(naming, Array.from({ length: 10 }, (_, i) => ({ id: `kms-decrypt-monitor/a${i}/0/0`, accountId: '111122223333', region: 'us-east-1' })), 5_000);
    expect(crowdedOut.samePrincipal).toHaveLength(MAX_RELATED_FINDINGS);
    expect(crowdedOut.samePrincipalElsewhere).toBeUndefined();
    // Through relateByPrincipal: the entry keeps where each finding is.
    const update = relateByPrincipal([abroad], () => ({ kind: 'principal-findings', findings: { [mass.id]: [mass.firstSeenMs, mass.lastSeenMs, '111122223333', 'us-east-1'] } }), 6_000);
    expect(update.findings.get(abroad.id)?.samePrincipalElsewhere).toEqual({ [mass.id]: { accountId: '111122223333', region: 'us-east-1' } });
    expect(update.namedBack.get(mass.id)).toEqual([{ id: abroad.id, accountId: '111122223333', region: 'eu-west-1' }]);
  });

  it('ids are the findings\' own', () => {
    expect(mass.id).toBe(findingIdOf({ ruleId: 'kms-mass-decrypt', severity: 'MEDIUM', subject: 'kms-mass-decrypt|subject', aggregationWindowMs: hours(1), reason: '', event: kmsEvent({ atMs: BASE_TIME_MS + hours(3) }) }));
  });
});

describe('findings of one principal, through the record processor and its store', () => {
  // One finding per key a day, whoever decrypts (it keeps its first principal), and one per principal for an Encrypt.
  const perKey = defineRule({ ...TEST_RULE_METADATA, id: 'per-key-rule', selection: [{ eventSource: 'kms.amazonaws.com', eventNames: ['Decrypt'] }], detect: (e) => ({ subject: e.keyArn ?? 'no key', reason: 'Decrypt.', aggregationWindowMs: days(1) }) });
  const perPrincipal = defineRule({ ...TEST_RULE_METADATA, id: 'per-principal-rule', selection: [{ eventSource: 'kms.amazonaws.com', eventNames: ['Encrypt'] }], detect: (e) => ({ subject: e.principal.id, reason: 'Encrypt.' }) });

  it('keeps a principal\'s entry whole when a later batch updates one of its findings through another principal\'s detection', async () => {
    const store = createMemoryStateStore();
    const processor = createRecordProcessor({ engine: createEngine({ rules: [perKey, perPrincipal] }), store, clock: { nowMs: () => 1_000 } });
    const alice = { role: 'Alice' } as const;

    await processor.processBatch({ file: 'a.json', records: [kmsRecord({ who: alice, eventName: 'Encrypt', eventId: 'a-1' }), kmsRecord({ who: alice, atMs: BASE_TIME_MS + 60_000, eventId: 'a-2' })], firstIndex: 0 });
    // Bob's Decrypt updates the key's finding, which stays Alice's: her entry is loaded though no detection is hers.
    const { findings } = await processor.processBatch({ file: 'b.json', records: [kmsRecord({ who: { role: 'Bob' }, atMs: BASE_TIME_MS + 120_000, eventId: 'b-1' })], firstIndex: 0 });

    expect(findings.map((f) => [f.ruleId, f.principal.id, f.subject])).toEqual([['per-key-rule', 'arn:aws:iam::111122223333:role/Alice', KEY_ARN]]);
    const entry = (await store.load(['pfind#arn:aws:iam::111122223333:role/Alice'])).get('pfind#arn:aws:iam::111122223333:role/Alice') as PrincipalFindings;
    expect(Object.keys(entry.findings).map((id) => id.split('/')[1]).sort()).toEqual(['per-key-rule', 'per-principal-rule']);
    // Its span and count grown by Bob's event.
    expect(entry.findings[findings[0]?.id as string]).toEqual([BASE_TIME_MS + 60_000, BASE_TIME_MS + 120_000, '111122223333', 'us-east-1', 2]);
  });
});

describe('a principal\'s story, judged by a rule over findings (kms-principal-several-anomalies)', () => {
  const several = ruleById('kms-principal-several-anomalies');
  if (several === undefined) throw new Error('kms-principal-several-anomalies is not registered');
  // One finding per principal and Region an hour for each of four operations: four rules a test can make fire at
  // will. A finding keeps the Region of its first event, so one finding of calls in two Regions would be of either,
  // by their order: a Region of its own each keeps the findings themselves the same in any order.
  const ruleFor = (id: string, eventName: string) =>
    defineRule({ ...TEST_RULE_METADATA, id, selection: [{ eventSource: 'kms.amazonaws.com', eventNames: [eventName] }], detect: (e) => ({ subject: `${e.principal.id}|${e.region}`, reason: `${eventName}.`, aggregationWindowMs: hours(1) }) });
  const rules = [ruleFor('rule-decrypt', 'Decrypt'), ruleFor('rule-encrypt', 'Encrypt'), ruleFor('rule-sign', 'Sign'), ruleFor('rule-mac', 'GenerateMac'), several];
  const OPERATIONS = ['Decrypt', 'Encrypt', 'Sign', 'GenerateMac'] as const;

  const processorOf = (config?: Parameters<typeof compileConfig>[0]) => {
    const store = createMemoryStateStore();
    let nowMs = 1_000;
    const processor = createRecordProcessor({ engine: createEngine({ rules, ...(config !== undefined ? { config: compileConfig(config) } : {}) }), store, clock: { nowMs: () => (nowMs += 1_000) } });
    return { store, processor };
  };
  const storiesIn = async (store: ReturnType<typeof createMemoryStateStore>) =>
    [...(store.entries?.values() ?? [])].filter((e): e is FindingRecord => e.kind === 'finding' && e.ruleId === several.id);

  it('raises one HIGH finding when a principal\'s findings of three rules fall in one day, across batches, naming them', async () => {
    const { store, processor } = processorOf();
    await processor.processBatch({ file: 'morning.json', records: [kmsRecord({ who: INTRUDER, eventId: 'm-1' })], firstIndex: 0 });
    await processor.processBatch({ file: 'noon.json', records: [kmsRecord({ who: INTRUDER, eventName: 'Encrypt', atMs: BASE_TIME_MS + hours(3), eventId: 'n-1' })], firstIndex: 0 });
    expect(await storiesIn(store)).toEqual([]);
    const { findings } = await processor.processBatch({ file: 'night.json', records: [kmsRecord({ who: INTRUDER, eventName: 'Sign', atMs: BASE_TIME_MS + hours(12), eventId: 'x-1' })], firstIndex: 0 });

    const [story] = await storiesIn(store);
    expect(story).toMatchObject({ severity: 'HIGH', subject: 'arn:aws:iam::111122223333:role/Intruder', eventCount: 3, eventIds: [], firstSeenMs: BASE_TIME_MS, lastSeenMs: BASE_TIME_MS + hours(12), accountId: '111122223333', region: 'us-east-1' });
    expect(story?.reason).toBe('arn:aws:iam::111122223333:role/Intruder raised findings of 3 rules on 2026-10-01 (UTC) (threshold 3): rule-decrypt, rule-encrypt, rule-sign. Each is one anomaly; one identity showing several in a day is more likely stolen or misused than any of them alone.');
    // It names the three, and each of them names it: the batch's own finding at once, the earlier two named back.
    const others = findings.filter((f) => f.ruleId !== several.id);
    expect(story?.samePrincipal).toHaveLength(3);
    expect(findings.map((f) => f.ruleId).sort()).toEqual(['kms-principal-several-anomalies', 'rule-decrypt', 'rule-encrypt', 'rule-sign']);
    for (const f of others) expect(f.samePrincipal).toContain(story?.id);
    // In ASFF: the principal's role as its resource, no API call, the three as its related findings.
    const asff = toAsff(story as FindingRecord, several, {});
    expect(asff.Resources).toEqual([expect.objectContaining({ Type: 'AwsIamRole', Id: 'arn:aws:iam::111122223333:role/Intruder' })]);
    expect(asff['Action']).toBeUndefined();
    expect((asff.RelatedFindings as { Id: string }[]).map((r) => r.Id).sort()).toEqual(story?.samePrincipal);
    // A fourth rule later the same day updates it, with a later UpdatedAt; the same events again change nothing.
    await processor.processBatch({ file: 'late.json', records: [kmsRecord({ who: INTRUDER, eventName: 'GenerateMac', atMs: BASE_TIME_MS + hours(13), eventId: 'l-1' })], firstIndex: 0 });
    const [updated] = await storiesIn(store);
    expect(updated?.reason).toContain('raised findings of 4 rules on 2026-10-01 (UTC)');
    expect(updated?.updatedAtMs).toBeGreaterThan(story?.updatedAtMs ?? Infinity);
    const again = await processor.processBatch({ file: 'late.json', records: [kmsRecord({ who: INTRUDER, eventName: 'GenerateMac', atMs: BASE_TIME_MS + hours(13), eventId: 'l-1' })], firstIndex: 0 });
    expect(again.findings).toEqual([]);
  });

  it('is kept under the configured home Region, however late the findings of another Region come', async () => {
    // The day's first finding, in eu-west-1, is delivered last: without a home Region the story moves to it.
    const day = [
      kmsRecord({ who: INTRUDER, eventName: 'Encrypt', atMs: BASE_TIME_MS + hours(1), eventId: 'h-2' }),
      kmsRecord({ who: INTRUDER, eventName: 'Sign', atMs: BASE_TIME_MS + hours(2), eventId: 'h-3' }),
      kmsRecord({ who: INTRUDER, eventName: 'GenerateMac', atMs: BASE_TIME_MS + hours(3), eventId: 'h-4' }),
      kmsRecord({ who: INTRUDER, region: 'eu-west-1', atMs: BASE_TIME_MS, eventId: 'h-1' }),
    ];
    const regionsOfTheStory = async (config?: Parameters<typeof compileConfig>[0]): Promise<string[]> => {
      const { store, processor } = processorOf(config);
      const regions: string[] = [];
      for (const record of day) {
        await processor.processBatch({ file: `${String(record['eventID'])}.json`, records: [record], firstIndex: 0 });
        for (const story of await storiesIn(store)) regions.push(story.region);
      }
      return [...new Set(regions)];
    };

    expect(await regionsOfTheStory()).toEqual(['us-east-1', 'eu-west-1']);
    expect(await regionsOfTheStory({ homeRegion: 'eu-central-1' })).toEqual(['eu-central-1']);
  });

  it('follows its configuration: off, another severity or threshold, and a suppression of it or of one of the three', async () => {
    const day = [kmsRecord({ who: INTRUDER, eventId: 'd-1' }), kmsRecord({ who: INTRUDER, eventName: 'Encrypt', atMs: BASE_TIME_MS + hours(1), eventId: 'd-2' }), kmsRecord({ who: INTRUDER, eventName: 'Sign', atMs: BASE_TIME_MS + hours(2), eventId: 'd-3' })];
    const storiesWith = async (config: Parameters<typeof compileConfig>[0]) => {
      const { store, processor } = processorOf(config);
      await processor.processBatch({ file: 'day.json', records: day, firstIndex: 0 });
      return storiesIn(store);
    };
    const expires = '2099-12-31';

    expect(await storiesWith({ rules: { [several.id]: { enabled: false } } })).toEqual([]);
    expect((await storiesWith({ rules: { [several.id]: { severity: 'CRITICAL' } } }))[0]?.severity).toBe('CRITICAL');
    expect(await storiesWith({ rules: { [several.id]: { threshold: 4 } } })).toEqual([]);
    expect(await storiesWith({ suppressions: [{ id: 'drill', rule: 'rule-sign', reason: 'the signing drill', expires }] })).toEqual([]);
    const suppressed = await storiesWith({ suppressions: [{ id: 'red-team', rule: several.id, reason: 'the red team\'s week', expires, principal: '*Intruder' }] });
    expect(suppressed.map((f) => f.suppressedBy?.id)).toEqual(['red-team']);
  });

  it('judges every window a finding was seen in, however short the windows (up to MAX_STORY_WINDOWS)', () => {
    // A finding seen from 09:00 to 18:59, judged in stories of an hour: ten of them, each with the finding.
    const long = { ...detected('kms-throttled', BASE_TIME_MS), lastSeenMs: BASE_TIME_MS + hours(10) - 60_000 };
    const stories = storiesOf([long], () => undefined, hours(1), new Set());

    expect(stories.map((s) => s.story.windowStartMs)).toEqual(Array.from({ length: 10 }, (_, i) => BASE_TIME_MS + hours(i)));
    for (const s of stories) expect(s.story.findings.map((f) => f.id)).toEqual([long.id]);
    const endless = { ...long, lastSeenMs: BASE_TIME_MS + days(90) };
    expect(storiesOf([endless], () => undefined, 60_000, new Set())).toHaveLength(MAX_STORY_WINDOWS);
  });

  it('tells a night across a midnight as the noon-to-noon story, and an afternoon only as its day', () => {
    // 2026-10-01 22:00 and 2026-10-02 01:00: each UTC day holds one, the 24 hours from noon to noon both.
    const evening = detected('kms-throttled', BASE_TIME_MS + hours(13));
    const night = detected('kms-unusual-region', BASE_TIME_MS + hours(16));
    const noon = Date.UTC(2026, 9, 1, 12);
    const told = storiesOf([evening, night], () => undefined, days(1), new Set());

    expect(told.map((s) => [new Date(s.story.windowStartMs).toISOString(), s.story.findings.map((f) => f.id)])).toEqual([
      ['2026-10-01T00:00:00.000Z', [evening.id]],
      ['2026-10-02T00:00:00.000Z', [night.id]],
      ['2026-10-01T12:00:00.000Z', [evening.id, night.id].sort()],
    ]);
    // An afternoon's findings are in the noon-to-noon window too, but do not join across its midnight.
    const afternoon = [detected('kms-throttled', noon + hours(1)), detected('kms-unusual-region', noon + hours(3))];
    expect(storiesOf(afternoon, () => undefined, days(1), new Set()).map((s) => s.story.windowStartMs)).toEqual([Date.UTC(2026, 9, 1)]);
    // Nor does one finding seen on both sides of it (an aggregation window longer than the story's half).
    const acrossMidnight = { ...evening, lastSeenMs: BASE_TIME_MS + hours(16) };
    expect(storiesOf([acrossMidnight], () => undefined, days(1), new Set()).map((s) => new Date(s.story.windowStartMs).toISOString())).toEqual(['2026-10-01T00:00:00.000Z', '2026-10-02T00:00:00.000Z']);
  });

  it('holds the same whatever the batches and their order: its id, reason, span, count and place', async () => {
    const events = fc.array(fc.record({ op: fc.constantFrom(...OPERATIONS), hour: fc.integer({ min: 0, max: 60 }), who: fc.constantFrom('Intruder', 'Other'), region: fc.constantFrom('us-east-1', 'eu-west-1') }), { minLength: 1, maxLength: 16 });
    await fc.assert(
      fc.asyncProperty(events, fc.integer({ min: 1, max: 5 }), fc.integer(), async (list, batchSize, seed) => {
        const records = list.map((e, i) => kmsRecord({ who: { role: e.who }, eventName: e.op, atMs: BASE_TIME_MS + hours(e.hour) + i * 1_000, region: e.region, eventId: `p-${i}` }));
        const told = async (batches: readonly (readonly Record<string, unknown>[])[]) => {
          const { store, processor } = processorOf();
          for (const [i, batch] of batches.entries()) await processor.processBatch({ file: `b${i}.json`, records: [...batch], firstIndex: 0 });
          return new Map((await storiesIn(store)).map((f) => [f.id, [f.reason, f.firstSeenMs, f.lastSeenMs, f.eventCount, f.accountId, f.region, [...(f.samePrincipal ?? [])]]]));
        };
        const inOrder: Record<string, unknown>[][] = [];
        for (let i = 0; i < records.length; i += batchSize) inOrder.push(records.slice(i, i + batchSize));
        const shuffled = fc.sample(fc.shuffledSubarray(records, { minLength: records.length, maxLength: records.length }), { seed, numRuns: 1 })[0] as Record<string, unknown>[];

        expect(await told(shuffled.map((r) => [r]))).toEqual(await told(inOrder));
      }),
      { numRuns: 60 },
    );
  });
});
