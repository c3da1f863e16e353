import { describe, expect, it } from 'vitest';
import { createRecordProcessor } from '#app/process-records.ts';
import { createMemoryStateStore } from '#adapters/memory/memory-state-store.ts';
import { createEngine } from '#core/engine.ts';
import { DEFAULT_ENGINE_CONFIG } from '#core/engine-config.ts';
import { ALL_RULES } from '#core/rules/registry.ts';
import { defineRule } from '#core/rules/define-rule.ts';
import { createWorkingState, getEntry, putEntry, stateKey } from '#core/state.ts';
import { kmsEvent, kmsRecord, KEY_ARN, BASE_TIME_MS, minutes, OTHER_ACCOUNT, otherEvent, s3Event } from '#core/testing/builders.ts';
import { TEST_RULE_METADATA } from '../../helpers/test-rule.ts';

const META = TEST_RULE_METADATA;

const clock = { nowMs: () => Date.UTC(2026, 10, 22) };

describe('engine', () => {
  it('drops a record delivered twice and counts it as a duplicate', () => {
    const engine = createEngine({ rules: [] });
    const e = kmsEvent({ eventId: 'dup' });
    const state = createWorkingState(new Map());

    const result = engine.evaluate([e, e], state);

    expect(result.accepted).toHaveLength(1);
    expect(result.duplicates).toBe(1);
  });

  it('counts the two copies of a cross-account call (same sharedEventID, different eventID) once', () => {
    const engine = createEngine({ rules: [] });
    const a = kmsEvent({ eventId: 'a', sharedEventId: 'shared-1' });
    const b = kmsEvent({ eventId: 'b', sharedEventId: 'shared-1', recipientAccountId: OTHER_ACCOUNT });

    const result = engine.evaluate([a, b], createWorkingState(new Map()));

    expect(result.accepted.map((e) => e.eventId)).toEqual(['a']);
    expect(result.duplicates).toBe(1);
  });

  it('counts as late an event that comes more than the lateness allowance behind its stream (account and Region), across batches, but not a duplicate, nor one of another stream', () => {
    const engine = createEngine({ rules: [] });
    const state = createWorkingState(new Map());
    const lateness = DEFAULT_ENGINE_CONFIG.correlation.latenessMs;
    const at = (eventId: string, ms: number, o = {}) => kmsEvent({ eventId, atMs: BASE_TIME_MS + ms, ...o });

    expect(engine.evaluate([at('newest', lateness + minutes(30))], state).late).toBe(0);
    const result = engine.evaluate([
      at('within', minutes(30)),
      at('behind', minutes(30) - 1),
      at('newest', lateness + minutes(30)),
      at('other region', 0, { region: 'eu-west-1' }),
      at('other account', 0, { recipientAccountId: OTHER_ACCOUNT }),
    ], state);

    expect(result.late).toBe(1);
    expect(result.duplicates).toBe(1);
    expect(result.accepted.map((e) => e.eventId)).toEqual(['other region', 'other account', 'behind', 'within']);
  });

  it('orders a batch by event time', () => {
    const engine = createEngine({ rules: [] });
    const late = kmsEvent({ eventId: 'late', atMs: BASE_TIME_MS + minutes(5) });
    const early = kmsEvent({ eventId: 'early', atMs: BASE_TIME_MS });

    expect(engine.evaluate([late, early], createWorkingState(new Map())).accepted.map((e) => e.eventId)).toEqual(['early', 'late']);
  });

  it('plans the state a batch needs: dedupe entries, key and principal baselines, alias mappings and rule windows', () => {
    const engine = createEngine({ rules: ALL_RULES });
    const e = kmsEvent({ eventId: 'x', keyId: 'alias/app', who: { role: 'Reader' }, s3Arn: 'arn:aws:s3:::b/k' });

    expect(engine.planStateKeys([e]).sort()).toEqual([
      stateKey.correlation('decrypt', 'arn:aws:iam::111122223333:role/Reader#session-1', 'arn:aws:s3:::b/k'),
      stateKey.bucket('b'),
      stateKey.watermark('111122223333|us-east-1'),
      stateKey.alias('111122223333', 'alias/app'),
      stateKey.keyBaseline(KEY_ARN),
      stateKey.principalBaseline('arn:aws:iam::111122223333:role/Reader'),
      stateKey.seen('e:x', BASE_TIME_MS),
      stateKey.window('kms-mass-decrypt', 'arn:aws:iam::111122223333:role/Reader', BASE_TIME_MS - (BASE_TIME_MS % minutes(5))),
      stateKey.window('kms-mass-decrypt', 'arn:aws:iam::111122223333:role/Reader', BASE_TIME_MS - (BASE_TIME_MS % minutes(5)) - minutes(5)),
    ].sort());
  });

  it('plans the baseline of the key an S3 write names, as S3\'s response or the request names it by ARN', () => {
    const engine = createEngine({ rules: ALL_RULES });
    const baselines = (o: Parameters<typeof s3Event>[0]) => engine.planStateKeys([s3Event({ eventName: 'PutObject', ...o })]).filter((k) => k.startsWith(stateKey.keyBaseline('')));

    expect(baselines({ kmsKeyId: 'alias/app', appliedKmsKeyId: KEY_ARN })).toEqual([stateKey.keyBaseline(KEY_ARN)]);
    expect(baselines({ kmsKeyId: KEY_ARN })).toEqual([stateKey.keyBaseline(KEY_ARN)]);
    expect(baselines({ kmsKeyId: 'alias/app' })).toEqual([]);
    expect(baselines({})).toEqual([]);
  });

  it('plans the baseline of the key a bucket\'s new default names by ARN or by id, which s3-bucket-default-key-changed weighs', () => {
    const engine = createEngine({ rules: ALL_RULES });
    const foreignKey = 'arn:aws:kms:us-east-1:999988887777:key/3f1c0000-0000-4000-8000-0000000000ff';
    const setDefault = (byDefault: Record<string, unknown>, o: { errorCode?: string } = {}) =>
      otherEvent('s3.amazonaws.com', 'PutBucketEncryption', { ...o, requestParameters: { bucketName: 'finance', ServerSideEncryptionConfiguration: { Rule: { ApplyServerSideEncryptionByDefault: byDefault } } } });
    const baselines = (e: ReturnType<typeof otherEvent>) => engine.planStateKeys([e]).filter((k) => k.startsWith(stateKey.keyBaseline('')));

    expect(baselines(setDefault({ SSEAlgorithm: 'aws:kms', KMSMasterKeyID: foreignKey }))).toEqual([stateKey.keyBaseline(foreignKey)]);
    expect(baselines(setDefault({ SSEAlgorithm: 'aws:kms', KMSMasterKeyID: KEY_ARN.split('/')[1] }))).toEqual([stateKey.keyBaseline(KEY_ARN)]);
    expect(baselines(setDefault({ SSEAlgorithm: 'aws:kms', KMSMasterKeyID: 'alias/finance' }))).toEqual([]);
    expect(baselines(setDefault({ SSEAlgorithm: 'AES256' }))).toEqual([]);
    expect(baselines(setDefault({ SSEAlgorithm: 'aws:kms', KMSMasterKeyID: foreignKey }, { errorCode: 'AccessDenied' }))).toEqual([]);
  });

  it('plans the baseline of the key a ReEncrypt names as its destination by ARN, which the call uses too (kms-data-under-foreign-key weighs it)', () => {
    const engine = createEngine({ rules: ALL_RULES });
    const foreignKey = 'arn:aws:kms:us-east-1:999988887777:key/3f1c0000-0000-4000-8000-0000000000ff';
    const reEncryptTo = (destinationKeyId: string) => kmsEvent({ eventName: 'ReEncrypt', requestParameters: { sourceKeyId: KEY_ARN, destinationKeyId } });
    const baselines = (e: ReturnType<typeof kmsEvent>) => engine.planStateKeys([e]).filter((k) => k.startsWith(stateKey.keyBaseline(''))).sort();

    expect(baselines(reEncryptTo(foreignKey))).toEqual([stateKey.keyBaseline(KEY_ARN), stateKey.keyBaseline(foreignKey)].sort());
    expect(baselines(reEncryptTo('arn:aws:kms:us-east-1:999988887777:alias/locker'))).toEqual([stateKey.keyBaseline(KEY_ARN)]);
    // A key id names a key of the caller's account and region; an alias the record resolves in its resources, as KMS records it.
    const ownKey = 'arn:aws:kms:us-east-1:111122223333:key/0987dcba-09fe-87dc-65ba-ab0987654321';
    expect(baselines(reEncryptTo('0987dcba-09fe-87dc-65ba-ab0987654321'))).toEqual([stateKey.keyBaseline(KEY_ARN), stateKey.keyBaseline(ownKey)].sort());
    const resolved = kmsEvent({ eventName: 'ReEncrypt', requestParameters: { destinationKeyId: 'arn:aws:kms:us-east-1:999988887777:alias/locker' } });
    const withResources = { ...resolved, request: { ...resolved.request, destinationKeyArn: foreignKey } };
    expect(baselines(withResources)).toEqual([stateKey.keyBaseline(KEY_ARN), stateKey.keyBaseline(foreignKey)].sort());
  });

  it('runs a rule selecting every event name of a source alongside rules that name the event', () => {
    const seen: string[] = [];
    const named = defineRule({ ...META, id: 'named-rule', selection: [{ eventSource: 'kms.amazonaws.com', eventNames: ['Decrypt'] }], detect: () => void seen.push('named') });
    const wildcard = defineRule({ ...META, id: 'wildcard-rule', selection: [{ eventSource: 'kms.amazonaws.com', eventNames: ['*'] }], detect: () => void seen.push('wildcard') });

    createEngine({ rules: [named, wildcard] }).evaluate([kmsEvent()], createWorkingState(new Map()));

    expect(seen).toEqual(['named', 'wildcard']);
  });

  it("shares one event's baselines among its rules: one state read each, and a peak one rule notes is what the next reads", () => {
    const seenPeaks: (number | undefined)[] = [];
    const selection = [{ eventSource: 'kms.amazonaws.com' as const, eventNames: ['Decrypt'] }];
    const noting = defineRule({ ...META, id: 'noting-rule', selection, detect: (_e, ctx) => void (ctx.keyBaseline(KEY_ARN), ctx.notePeak(7)) });
    const reading = defineRule({ ...META, id: 'reading-rule', selection, detect: (_e, ctx) => void (ctx.keyBaseline(KEY_ARN), seenPeaks.push(ctx.principalBaseline()?.peaks['noting-rule'])) });
    const inner = createWorkingState(new Map());
    const reads = new Map<string, number>();
    const state = { ...inner, get: (key: string) => (reads.set(key.split('#')[0] as string, (reads.get(key.split('#')[0] as string) ?? 0) + 1), inner.get(key)) };

    createEngine({ rules: [noting, reading] }).evaluate([kmsEvent()], state);

    expect(seenPeaks).toEqual([7]);
    expect(reads.get('key')).toBe(1);
    expect(reads.get('principal')).toBe(1);
    expect(state.get(stateKey.principalBaseline('arn:aws:iam::111122223333:role/AppRole'))).toMatchObject({ peaks: { 'noting-rule': 7 } });
  });

  it('gives Multi-Region replicas one baseline', () => {
    expect(stateKey.keyBaseline('arn:aws:kms:eu-west-1:111122223333:key/mrk-abc')).toBe(stateKey.keyBaseline('arn:aws:kms:us-east-1:111122223333:key/mrk-abc'));
    expect(stateKey.keyBaseline('arn:aws:kms:eu-west-1:111122223333:key/1234')).not.toBe(stateKey.keyBaseline('arn:aws:kms:us-east-1:111122223333:key/1234'));
  });

  it('learns a key baseline from successful cryptographic calls only', () => {
    const engine = createEngine({ rules: [] });
    const state = createWorkingState(new Map());

    engine.evaluate([kmsEvent({ who: { role: 'Reader' }, context: { app: 'x' } }), kmsEvent({ who: { role: 'Denied' }, errorCode: 'AccessDeniedException' })], state);

    const baseline = state.get(stateKey.keyBaseline(KEY_ARN));
    expect(baseline).toMatchObject({ kind: 'key-baseline', firstSeenMs: BASE_TIME_MS, directCalls: 1, directCallsWithContext: 1 });
    expect(Object.keys((baseline as { principals: object }).principals)).toEqual(['arn:aws:iam::111122223333:role/Reader']);
  });

  it("learns the networks of a principal's own successful calls, not those of calls a service made for it", () => {
    const engine = createEngine({ rules: [] });
    const state = createWorkingState(new Map());
    const app = { role: 'App' };

    engine.evaluate(
      [
        kmsEvent({ who: app, sourceIp: '10.0.0.5', vpcEndpointId: 'vpce-0a1b2c3d4e5f60718' }),
        kmsEvent({ who: app, atMs: BASE_TIME_MS + minutes(1), sourceIp: '198.51.100.23' }),
        kmsEvent({ who: app, atMs: BASE_TIME_MS + minutes(2), s3Arn: 'arn:aws:s3:::reports/a.pdf' }),
        kmsEvent({ who: app, atMs: BASE_TIME_MS + minutes(3), viaService: 'secretsmanager.amazonaws.com' }),
        kmsEvent({ who: app, atMs: BASE_TIME_MS + minutes(4), sourceIp: '192.0.2.1', vpcEndpointId: 'vpce-0badc0ffee0badc0f', errorCode: 'AccessDeniedException' }),
      ],
      state,
    );

    const baseline = state.get(stateKey.principalBaseline('arn:aws:iam::111122223333:role/App')) as { networks: Record<string, number> };
    expect({ ...baseline.networks }).toEqual({ 'vpce-0a1b2c3d4e5f60718': BASE_TIME_MS, public: BASE_TIME_MS + minutes(1) });
  });

  it('remembers at most 100 networks of a principal, however many endpoints its credentials are used through', () => {
    const engine = createEngine({ rules: [] });
    const state = createWorkingState(new Map());
    const endpoint = (i: number) => `vpce-${i.toString(16).padStart(17, '0')}`;

    engine.evaluate(Array.from({ length: 150 }, (_, i) => kmsEvent({ who: { role: 'App' }, atMs: BASE_TIME_MS + i, sourceIp: '10.0.0.5', vpcEndpointId: endpoint(i) })), state);

    const baseline = state.get(stateKey.principalBaseline('arn:aws:iam::111122223333:role/App')) as { networks: Record<string, number> };
    expect(Object.keys(baseline.networks)).toEqual(Array.from({ length: 100 }, (_, i) => endpoint(i)));
  });

  it("learns a principal's networks afresh on a baseline stored before it kept them, and judges them only after a learning period of their own", () => {
    const engine = createEngine({ rules: ALL_RULES.filter((r) => r.id === 'kms-unusual-network'), config: { ...DEFAULT_ENGINE_CONFIG, learningPeriodMs: minutes(60) } });
    const principalId = 'arn:aws:iam::111122223333:role/App';
    // As a baseline was stored before networks: months old, its own learning long over.
    const stored = { kind: 'principal-baseline', firstSeenMs: BASE_TIME_MS - 90 * 86_400_000, lastSeenMs: BASE_TIME_MS - 1, regions: { 'us-east-1': BASE_TIME_MS - 90 * 86_400_000 }, peaks: {} };
    const state = createWorkingState(new Map([[stateKey.principalBaseline(principalId), stored as never]]));
    const call = (offsetMs: number, o: { sourceIp: string; vpcEndpointId?: string }) => kmsEvent({ who: { role: 'App' }, atMs: BASE_TIME_MS + offsetMs, ...o });

    const learning = engine.evaluate([call(0, { sourceIp: '10.0.0.5', vpcEndpointId: 'vpce-0a1b2c3d4e5f60718' }), call(minutes(30), { sourceIp: '198.51.100.23' })], state);
    const judged = engine.evaluate([call(minutes(90), { sourceIp: '203.0.113.99', vpcEndpointId: 'vpce-0badc0ffee0badc0f' })], state);

    // The public call came within the networks' own learning period: learned, not judged; the principal now calls
    // from the internet too, so a new endpoint is not judged either.
    expect(learning.detections).toEqual([]);
    expect(judged.detections).toEqual([]);
    const fresh = createWorkingState(new Map([[stateKey.principalBaseline(principalId), { ...stored, networks: { 'vpce-0a1b2c3d4e5f60718': BASE_TIME_MS - 86_400_000 } } as never]]));
    expect(engine.evaluate([call(0, { sourceIp: '198.51.100.23' })], fresh).detections.map((d) => d.ruleId)).toEqual(['kms-unusual-network']);
  });

  /** A read S3 decrypted for the principal: the KMS call S3 made and its data event, so the two match at once. */
  const readThroughS3 = (bucket: string, atMs: number, o: { readonly role?: string; readonly eventName?: string; readonly s3Arn?: string; readonly errorCode?: string } = {}) => {
    const who = { role: o.role ?? 'Analyst', session: 'alice' };
    const key = `k-${atMs}.pdf`;
    return [
      kmsEvent({ who, atMs, eventName: o.eventName ?? 'Decrypt', s3Arn: o.s3Arn ?? `arn:aws:s3:::${bucket}/${key}`, ...(o.errorCode !== undefined ? { errorCode: o.errorCode } : {}) }),
      s3Event({ who, atMs: atMs + 100, eventName: o.eventName === 'GenerateDataKey' ? 'PutObject' : 'GetObject', bucket, key }),
    ];
  };
  const bucketsOf = (state: ReturnType<typeof createWorkingState>, role = 'Analyst'): Record<string, number> | undefined =>
    (state.get(stateKey.principalBaseline(`arn:aws:iam::111122223333:role/${role}`)) as { buckets?: Record<string, number> } | undefined)?.buckets;

  it('learns the buckets whose objects S3 decrypted or encrypted for a principal, from its successful calls only', () => {
    const engine = createEngine({ rules: [] });
    const state = createWorkingState(new Map());

    const result = engine.evaluate(
      [
        ...readThroughS3('reports', BASE_TIME_MS),
        ...readThroughS3('archive', BASE_TIME_MS + minutes(1), { eventName: 'GenerateDataKey' }),
        // A Bucket Key's decrypt names the bucket alone.
        ...readThroughS3('lake', BASE_TIME_MS + minutes(2), { s3Arn: 'arn:aws:s3:::lake' }),
        ...readThroughS3('denied', BASE_TIME_MS + minutes(3), { errorCode: 'AccessDeniedException' }),
        // A direct Decrypt of an S3 data key: S3 decrypted nothing for it.
        kmsEvent({ who: { role: 'Analyst', session: 'alice' }, atMs: BASE_TIME_MS + minutes(4), context: { 'aws:s3:arn': 'arn:aws:s3:::direct/x.pdf' } }),
      ],
      state,
    );

    expect(result.correlations).toEqual({ object: 3, bucket: 1, none: 0 });
    expect({ ...bucketsOf(state) }).toEqual({ reports: BASE_TIME_MS, archive: BASE_TIME_MS + minutes(1), lake: BASE_TIME_MS + minutes(2) });
  });

  it('remembers at most 100 buckets of a principal, however many its credentials are used to read', () => {
    const engine = createEngine({ rules: [] });
    const state = createWorkingState(new Map());

    engine.evaluate(Array.from({ length: 150 }, (_, i) => readThroughS3(`bucket-${String(i).padStart(3, '0')}`, BASE_TIME_MS + i * 1_000)).flat(), state);

    expect(Object.keys(bucketsOf(state) ?? {})).toEqual(Array.from({ length: 100 }, (_, i) => `bucket-${String(i).padStart(3, '0')}`));
  });

  it("learns a principal's buckets afresh on a baseline stored before it kept them, and judges them only after a learning period of their own", () => {
    const engine = createEngine({ rules: ALL_RULES.filter((r) => r.id === 'kms-s3-unusual-bucket'), config: { ...DEFAULT_ENGINE_CONFIG, learningPeriodMs: minutes(60) } });
    const principalId = 'arn:aws:iam::111122223333:role/Analyst';
    // As a baseline was stored before buckets: months old, its own learning long over.
    const stored = { kind: 'principal-baseline', firstSeenMs: BASE_TIME_MS - 90 * 86_400_000, lastSeenMs: BASE_TIME_MS - 1, regions: { 'us-east-1': BASE_TIME_MS - 90 * 86_400_000 }, peaks: {} };
    const state = createWorkingState(new Map([[stateKey.principalBaseline(principalId), stored as never]]));

    const learning = engine.evaluate([...readThroughS3('reports', BASE_TIME_MS), ...readThroughS3('archive', BASE_TIME_MS + minutes(30))], state);
    const judged = engine.evaluate([...readThroughS3('archive', BASE_TIME_MS + minutes(90)), ...readThroughS3('hr', BASE_TIME_MS + minutes(91))], state);

    expect(learning.detections).toEqual([]);
    expect(judged.detections.map((d) => [d.ruleId, d.subject])).toEqual([['kms-s3-unusual-bucket', `${principalId}|hr`]]);
  });

  const s3NetworksOf = (state: ReturnType<typeof createWorkingState>, role = 'Exporter'): Record<string, number> | undefined =>
    (state.get(stateKey.principalBaseline(`arn:aws:iam::111122223333:role/${role}`)) as { s3Networks?: Record<string, number> } | undefined)?.s3Networks;
  /** A read S3 decrypted for the Exporter role, its data event from `network`. */
  const readFrom = (atMs: number, network: { readonly sourceIp: string; readonly vpcEndpointId?: string; readonly presigned?: boolean }) => [
    kmsEvent({ who: { role: 'Exporter', session: 'i-0b7' }, atMs, s3Arn: `arn:aws:s3:::exports/${atMs}.csv` }),
    s3Event({ who: { role: 'Exporter', session: 'i-0b7' }, atMs: atMs + 100, bucket: 'exports', key: `${atMs}.csv`, ...network }),
  ];

  it('learns the networks of the S3 requests behind the calls S3 made for a principal, apart from its KMS calls\' networks', () => {
    const engine = createEngine({ rules: [] });
    const state = createWorkingState(new Map());

    const result = engine.evaluate(
      [
        ...readFrom(BASE_TIME_MS, { sourceIp: '10.20.31.40', vpcEndpointId: 'vpce-0c1d2e3f4a5b60720' }),
        ...readFrom(BASE_TIME_MS + minutes(1), { sourceIp: '198.51.100.23' }),
        // A presigned URL's request is whoever held it; a private address without its endpoint says no network.
        ...readFrom(BASE_TIME_MS + minutes(2), { sourceIp: '192.0.2.9', vpcEndpointId: 'vpce-0badc0ffee0badc0f', presigned: true }),
        ...readFrom(BASE_TIME_MS + minutes(3), { sourceIp: '10.20.31.41' }),
        // S3's call with no request matched, and the principal's own KMS call: neither is an S3 request's.
        kmsEvent({ who: { role: 'Exporter', session: 'i-0b7' }, atMs: BASE_TIME_MS + minutes(4), s3Arn: 'arn:aws:s3:::exports/unlogged.csv' }),
        kmsEvent({ who: { role: 'Exporter', session: 'i-0b7' }, atMs: BASE_TIME_MS + minutes(5), sourceIp: '10.20.31.40', vpcEndpointId: 'vpce-0a1b2c3d4e5f60718' }),
      ],
      state,
    );

    expect(result.correlations).toEqual({ object: 4, bucket: 0, none: 0 });
    expect({ ...s3NetworksOf(state) }).toEqual({ 'vpce-0c1d2e3f4a5b60720': BASE_TIME_MS, public: BASE_TIME_MS + minutes(1) });
    const baseline = state.get(stateKey.principalBaseline('arn:aws:iam::111122223333:role/Exporter')) as { networks?: Record<string, number> };
    expect({ ...baseline.networks }).toEqual({ 'vpce-0a1b2c3d4e5f60718': BASE_TIME_MS + minutes(5) });
  });

  it('remembers at most 100 networks of a principal\'s S3 requests', () => {
    const engine = createEngine({ rules: [] });
    const state = createWorkingState(new Map());
    const endpoint = (i: number) => `vpce-${i.toString(16).padStart(17, '0')}`;

    engine.evaluate(Array.from({ length: 150 }, (_, i) => readFrom(BASE_TIME_MS + i * 1_000, { sourceIp: '10.20.31.40', vpcEndpointId: endpoint(i) })).flat(), state);

    expect(Object.keys(s3NetworksOf(state) ?? {})).toEqual(Array.from({ length: 100 }, (_, i) => endpoint(i)));
  });

  it("learns a principal's S3 requests' networks afresh on a baseline stored before it kept them, and judges them only after a learning period of their own", () => {
    const engine = createEngine({ rules: ALL_RULES.filter((r) => r.id === 'kms-unusual-network'), config: { ...DEFAULT_ENGINE_CONFIG, learningPeriodMs: minutes(60) } });
    const principalId = 'arn:aws:iam::111122223333:role/Exporter';
    // As a baseline was stored before S3 requests' networks, with the KMS calls' networks of the day before them.
    const stored = { kind: 'principal-baseline', firstSeenMs: BASE_TIME_MS - 90 * 86_400_000, lastSeenMs: BASE_TIME_MS - 1, regions: { 'us-east-1': BASE_TIME_MS - 90 * 86_400_000 }, peaks: {}, networks: { 'vpce-0a1b2c3d4e5f60718': BASE_TIME_MS - 86_400_000 } };
    const state = createWorkingState(new Map([[stateKey.principalBaseline(principalId), stored as never]]));
    const gateway = { sourceIp: '10.20.31.40', vpcEndpointId: 'vpce-0c1d2e3f4a5b60720' };

    const learning = engine.evaluate([...readFrom(BASE_TIME_MS, gateway), ...readFrom(BASE_TIME_MS + minutes(30), { ...gateway, vpcEndpointId: 'vpce-0d2e3f4a5b6c70821' })], state);
    const judged = engine.evaluate([...readFrom(BASE_TIME_MS + minutes(90), gateway), ...readFrom(BASE_TIME_MS + minutes(91), { sourceIp: '198.51.100.23' })], state);

    expect(learning.detections).toEqual([]);
    expect(judged.detections.map((d) => [d.ruleId, d.subject])).toEqual([['kms-unusual-network', `s3|${principalId}|public`]]);
  });

  const LAMBDA_PYTHON = 'Boto3/1.34.34 md/Botocore#1.34.34 ua/2.0 os/linux#5.10.209 lang/python#3.12.1 exec-env/AWS_Lambda_python3.12 Botocore/1.34.34';
  const clientsOf = (state: ReturnType<typeof createWorkingState>, role = 'Worker'): Record<string, number> | undefined =>
    (state.get(stateKey.principalBaseline(`arn:aws:iam::111122223333:role/${role}`)) as { clients?: Record<string, number> } | undefined)?.clients;

  it('learns the clients of a principal\'s own successful KMS calls, not of the calls services make for it', () => {
    const engine = createEngine({ rules: [] });
    const state = createWorkingState(new Map());
    const who = { role: 'Worker', session: 'fn' };

    engine.evaluate(
      [
        kmsEvent({ who, atMs: BASE_TIME_MS, userAgent: LAMBDA_PYTHON }),
        kmsEvent({ who, atMs: BASE_TIME_MS + minutes(1), userAgent: 'Boto3/1.35.0 md/Botocore#1.35.0 exec-env/AWS_Lambda_python3.13' }),
        kmsEvent({ who, atMs: BASE_TIME_MS + minutes(2), userAgent: 'aws-cli/2.17.0 Python/3.11.8', errorCode: 'AccessDeniedException' }),
        kmsEvent({ who, atMs: BASE_TIME_MS + minutes(3), s3Arn: 'arn:aws:s3:::reports/q3.pdf' }),
        kmsEvent({ who, atMs: BASE_TIME_MS + minutes(4), viaService: 'secretsmanager.amazonaws.com' }),
        kmsEvent({ who, atMs: BASE_TIME_MS + minutes(5), userAgent: 'aws-sdk-java/2.25.11 Linux/6.1' }),
      ],
      state,
    );

    expect({ ...clientsOf(state) }).toEqual({ 'AWS SDK for Python on AWS Lambda': BASE_TIME_MS, 'AWS SDK for Java': BASE_TIME_MS + minutes(5) });
  });

  it('learns the client of the S3 request behind a call S3 made for a principal, not a presigned URL\'s', () => {
    const engine = createEngine({ rules: [] });
    const state = createWorkingState(new Map());
    const who = { role: 'Worker', session: 'fn' };
    const read = (atMs: number, userAgent: string, presigned = false) => [
      kmsEvent({ who, atMs, s3Arn: `arn:aws:s3:::reports/${atMs}.pdf` }),
      s3Event({ who, atMs: atMs + 100, bucket: 'reports', key: `${atMs}.pdf`, userAgent, presigned }),
    ];

    const result = engine.evaluate(
      [
        ...read(BASE_TIME_MS, `[${LAMBDA_PYTHON}]`),
        ...read(BASE_TIME_MS + minutes(1), 'Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/128.0', true),
      ],
      state,
    );

    expect(result.correlations).toEqual({ object: 2, bucket: 0, none: 0 });
    expect({ ...clientsOf(state) }).toEqual({ 'AWS SDK for Python on AWS Lambda': BASE_TIME_MS });
  });

  it('remembers at most 100 clients of a principal, however many its credentials are used from', () => {
    const engine = createEngine({ rules: [] });
    const state = createWorkingState(new Map());

    engine.evaluate(Array.from({ length: 150 }, (_, i) => kmsEvent({ who: { role: 'Worker' }, atMs: BASE_TIME_MS + i * 1_000, userAgent: `tool-${String(i).padStart(3, '0')}/1.0` })), state);

    expect(Object.keys(clientsOf(state) ?? {})).toEqual(Array.from({ length: 100 }, (_, i) => `tool-${String(i).padStart(3, '0')}`));
  });

  it("learns a principal's clients afresh on a baseline stored before it kept them, and judges them only after a learning period of their own", () => {
    const engine = createEngine({ rules: ALL_RULES.filter((r) => r.id === 'kms-unusual-client'), config: { ...DEFAULT_ENGINE_CONFIG, learningPeriodMs: minutes(60) } });
    const principalId = 'arn:aws:iam::111122223333:role/Worker';
    // As a baseline was stored before clients: months old, its own learning long over.
    const stored = { kind: 'principal-baseline', firstSeenMs: BASE_TIME_MS - 90 * 86_400_000, lastSeenMs: BASE_TIME_MS - 1, regions: { 'us-east-1': BASE_TIME_MS - 90 * 86_400_000 }, peaks: {} };
    const state = createWorkingState(new Map([[stateKey.principalBaseline(principalId), stored as never]]));
    const call = (offsetMs: number, userAgent: string) => kmsEvent({ who: { role: 'Worker', session: 'fn' }, atMs: BASE_TIME_MS + offsetMs, userAgent });

    const learning = engine.evaluate([call(0, LAMBDA_PYTHON), call(minutes(30), LAMBDA_PYTHON)], state);
    const judged = engine.evaluate([call(minutes(90), LAMBDA_PYTHON), call(minutes(91), 'aws-cli/2.17.0 Python/3.11.8')], state);

    expect(learning.detections).toEqual([]);
    expect(judged.detections.map((d) => [d.ruleId, d.subject])).toEqual([['kms-unusual-client', `${principalId}|AWS CLI`]]);
  });

  it('resolves an alias-only call to its key once a record named both', () => {
    const engine = createEngine({ rules: [] });
    const state = createWorkingState(new Map());
    engine.evaluate([kmsEvent({ keyId: 'alias/app' })], state);

    const result = engine.evaluate([kmsEvent({ keyArn: null, keyId: 'alias/app' })], state);

    expect(result.accepted[0]).toMatchObject({ keyArn: KEY_ARN, keyAlias: 'alias/app' });
  });

  it('keeps a principal named __proto__ as data in the baseline', () => {
    const engine = createEngine({ rules: [] });
    const state = createWorkingState(new Map());
    const e = { ...kmsEvent(), principal: { type: 'IAMUser' as const, id: '__proto__', isAwsService: false } };

    engine.evaluate([e], state);

    const baseline = state.get(stateKey.keyBaseline(KEY_ARN)) as { principals: Record<string, number> };
    expect(Object.prototype.hasOwnProperty.call(baseline.principals, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(baseline.principals)).toBeNull();
  });

  it('writes any key of a baseline map as its own data, on maps with and without a prototype', () => {
    for (const record of [Object.create(null) as Record<string, number>, JSON.parse('{"a":1}') as Record<string, number>]) {
      const prototype: unknown = Object.getPrototypeOf(record);
      for (const [i, key] of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'a'].entries()) putEntry(record, key, i);

      expect(Object.getPrototypeOf(record)).toBe(prototype);
      expect(Object.keys(record).sort()).toEqual(['__proto__', 'a', 'constructor', 'hasOwnProperty', 'toString']);
      expect(getEntry(record, '__proto__')).toBe(0);
      expect(getEntry(record, 'hasOwnProperty')).toBe(3);
      expect(({} as Record<string, unknown>)['a']).toBeUndefined();
    }
  });
});

describe('record processor', () => {
  it('dedupes across batches through the state store', async () => {
    const store = createMemoryStateStore();
    const processor = createRecordProcessor({ engine: createEngine({ rules: [], config: DEFAULT_ENGINE_CONFIG }), store, clock });
    const record = kmsRecord({ eventId: 'same' });

    await processor.processBatch({ file: 'a.json', records: [record], firstIndex: 0 });
    await processor.processBatch({ file: 'b.json', records: [record], firstIndex: 0 });

    expect(processor.summary.records).toMatchObject({ read: 2, processed: 1, skipped: 1 });
    expect(processor.summary.records.skippedByReason.get('duplicate')).toBe(1);
  });

  it('forgets dedupe entries once event time has passed their retention', async () => {
    const store = createMemoryStateStore();
    const processor = createRecordProcessor({ engine: createEngine({ rules: [], config: { ...DEFAULT_ENGINE_CONFIG, dedupeRetentionMs: minutes(5) } }), store, clock });

    await processor.processBatch({ file: 'a', records: [kmsRecord({ eventId: 'old', atMs: BASE_TIME_MS })], firstIndex: 0 });
    await processor.processBatch({ file: 'b', records: [kmsRecord({ eventId: 'new', atMs: BASE_TIME_MS + minutes(60) })], firstIndex: 0 });

    expect(store.entries.has(stateKey.seen('e:old', BASE_TIME_MS))).toBe(false);
    expect(store.entries.has(stateKey.seen('e:new', BASE_TIME_MS + minutes(60)))).toBe(true);
  });

  it('reports each record that fails with its file and index', async () => {
    const issues: string[] = [];
    const processor = createRecordProcessor({ engine: createEngine({ rules: [] }), store: createMemoryStateStore(), clock, onIssue: (i) => issues.push(`${i.origin.file}#${i.origin.index}: ${i.message}`) });

    await processor.processBatch({ file: 'x.json', records: [kmsRecord(), 42, { eventSource: 'kms.amazonaws.com' }], firstIndex: 10 });

    expect(issues).toEqual(['x.json#11: record is number, not a JSON object', 'x.json#12: missing field eventName']);
    expect(processor.summary.records).toMatchObject({ read: 3, processed: 1, failed: 2 });
  });
});

describe('state planning across batches', () => {
  it('keeps a key baseline when a later batch names the key only by alias', async () => {
    const store = createMemoryStateStore();
    const processor = createRecordProcessor({ engine: createEngine({ rules: ALL_RULES, config: DEFAULT_ENGINE_CONFIG }), store, clock });
    await processor.processBatch({ file: 'a', records: [kmsRecord({ keyId: 'alias/app', who: { role: 'First' } }), kmsRecord({ who: { role: 'Second' } })], firstIndex: 0 });

    await processor.processBatch({ file: 'b', records: [kmsRecord({ keyArn: null, keyId: 'alias/app', who: { role: 'Third' } })], firstIndex: 0 });

    const baseline = store.entries.get(stateKey.keyBaseline(KEY_ARN)) as { principals: Record<string, number> };
    expect(Object.keys(baseline.principals).sort()).toEqual([
      'arn:aws:iam::111122223333:role/First',
      'arn:aws:iam::111122223333:role/Second',
      'arn:aws:iam::111122223333:role/Third',
    ]);
  });
});

describe("a window's distinct members", () => {
  const selection = [{ eventSource: 'kms.amazonaws.com' as const, eventNames: ['Decrypt'] }];
  /** Counts each call's object in one window for everyone, and marks the window fired from its second member on. */
  const countingRule = (counts: number[]) =>
    defineRule({
      ...META,
      id: 'counting-rule',
      selection,
      defaults: { threshold: 2, windowMinutes: 5 },
      windowGroup: () => 'everyone',
      detect: (e, ctx) => {
        const view = ctx.countInWindow(e.kind === 'kms' ? e.encryptionContext?.['object'] : undefined);
        counts.push(view?.count ?? -1);
        if ((view?.count ?? 0) >= 2) ctx.markWindowFired();
        return undefined;
      },
    });
  const call = (i: number, object: string) => kmsEvent({ eventId: `c${i}`, context: { object }, atMs: BASE_TIME_MS + i });

  it('counts a member once however often it comes: in a batch, after the window was fired, saved and loaded again, and kept in memory', () => {
    const counts: number[] = [];
    const engine = createEngine({ rules: [countingRule(counts)] });

    const first = createWorkingState(new Map());
    engine.evaluate([call(0, 'a'), call(1, 'b'), call(2, 'a'), call(3, 'b')], first);
    // What a store hands back: a copy, whose lists are new.
    const loaded = new Map(JSON.parse(JSON.stringify([...first.changes()])) as [string, never][]);
    const second = createWorkingState(loaded);
    engine.evaluate([call(4, 'a'), call(5, 'c')], second);
    // What the replay's in-memory store hands back: the same objects.
    const third = createWorkingState(new Map([...loaded, ...second.changes()] as [string, never][]));
    engine.evaluate([call(6, 'c'), call(7, 'b'), call(8, 'd')], third);

    expect(counts).toEqual([1, 2, 2, 2, 2, 3, 3, 3, 4]);
  });

  it('past the members it remembers, counts every call of a member it could not remember, and none of one it did', () => {
    const counts: number[] = [];
    const engine = createEngine({ rules: [countingRule(counts)] });
    const calls = Array.from({ length: 1_000 }, (_, i) => call(i, `m${i}`));

    engine.evaluate([...calls, call(1_000, 'm0'), call(1_001, 'new'), call(1_002, 'new'), call(1_003, 'm999')], createWorkingState(new Map()));

    expect(counts.slice(998)).toEqual([999, 1_000, 1_000, 1_001, 1_002, 1_002]);
  });
});
