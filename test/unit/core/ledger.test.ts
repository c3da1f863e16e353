import { describe, expect, it } from 'vitest';
import { createMemoryStateStore } from '#adapters/memory/memory-state-store.ts';
import { createRecordProcessor } from '#app/process-records.ts';
import { createEngine } from '#core/engine.ts';
import { LEDGER_DISTINCT_OBJECTS, LedgerAccumulator, ledgerOf, ledgerRowId, mergeById, mergeLedgerRow, mergeObjectAccess, objectAccessId, type LedgerDelta, type LedgerRow, type ObjectAccess } from '#core/ledger/ledger.ts';
import { ALL_RULES } from '#core/rules/registry.ts';
import { BASE_TIME_MS, days, KEY_ARN, kmsEvent, kmsRecord, minutes, s3Event, s3Record } from '#core/testing/builders.ts';
import { normalizeRecord } from '#core/events/normalize.ts';
import { datasetFiles, datasetRecords, hasDatasets } from '../../helpers/datasets.ts';

const analyst = { role: 'Analyst', session: 'alice' } as const;

/** Runs records through the real processor with the ledger on; returns every batch's ledger delta. */
const ledgerFor = async (batches: readonly (readonly unknown[])[]): Promise<LedgerDelta[]> => {
  const processor = createRecordProcessor({ engine: createEngine({ rules: ALL_RULES }), store: createMemoryStateStore(), clock: { nowMs: () => BASE_TIME_MS }, ledger: 'outcome' });
  const out: LedgerDelta[] = [];
  for (const records of batches) out.push((await processor.processBatch({ file: 'f', records, firstIndex: 0 })).ledger);
  out.push((await processor.flush()).ledger);
  return out;
};

const merged = (deltas: readonly LedgerDelta[]): LedgerRow[] => [...mergeById({ rows: deltas.flatMap((d) => d.rows), accesses: [] }).rows.values()];

describe('decrypt ledger', () => {
  it('aggregates one row per day, key, principal, account, region, bucket, operation, path and network', () => {
    const calls = [
      kmsEvent({ who: analyst, atMs: BASE_TIME_MS }),
      kmsEvent({ who: analyst, atMs: BASE_TIME_MS + minutes(5), errorCode: 'AccessDeniedException' }),
      kmsEvent({ who: analyst, atMs: BASE_TIME_MS + days(1) }),
      kmsEvent({ who: analyst, atMs: BASE_TIME_MS, eventName: 'GenerateDataKey' }),
      kmsEvent({ who: analyst, atMs: BASE_TIME_MS, eventName: 'DescribeKey' }),
    ];

    const { rows, accesses } = ledgerOf(calls, [], []);

    expect(rows.map((r) => [r.day, r.operation, r.path, r.count, r.errors])).toEqual([
      ['2026-10-01', 'Decrypt', 'direct', 2, 1],
      ['2026-10-02', 'Decrypt', 'direct', 1, 0],
      ['2026-10-01', 'GenerateDataKey', 'direct', 1, 0],
    ]);
    expect(rows[0]).toMatchObject({ principal: 'arn:aws:iam::111122223333:role/Analyst', account: '111122223333', region: 'us-east-1', bucket: '', firstSeenMs: BASE_TIME_MS, lastSeenMs: BASE_TIME_MS + minutes(5) });
    expect(accesses).toEqual([]);
  });

  it.runIf(hasDatasets)('records the AWS documentation\'s Sign and GenerateMac calls, and leaves out its Verify and VerifyMac', () => {
    const names = ['Sign', 'Verify', 'GenerateMac', 'VerifyMac'];
    const raw = datasetRecords(datasetFiles().find((f) => f.includes('awsdocs-example-events-kms'))!).filter((r) => names.includes((r as { eventName: string }).eventName));
    const events = raw.flatMap((r) => {
      const n = normalizeRecord(r);
      return n.ok && n.event.kind === 'kms' ? [n.event] : [];
    });
    expect(events.map((e) => e.eventName).sort()).toEqual(['GenerateMac', 'Sign', 'Verify', 'VerifyMac']);

    const { rows } = ledgerOf(events, [], []);

    expect(rows.map((r) => [r.day, r.key, r.principal, r.operation, r.count])).toEqual([
      ['2022-12-23', 'arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab', 'arn:aws:iam::111122223333:user/Alice', 'GenerateMac', 1],
      ['2022-03-07', 'arn:aws:kms:us-west-2:111122223333:key/0987dcba-09fe-87dc-65ba-ab0987654321', 'arn:aws:iam::111122223333:user/Alice', 'Sign', 1],
    ]);
  });

  it('records S3-made calls once decided, with the object, the real source IP and the session from the matched S3 request', async () => {
    const decrypt = kmsRecord({ who: analyst, s3Arn: 'arn:aws:s3:::reports/q3.pdf', atMs: BASE_TIME_MS });
    const get = s3Record({ who: analyst, bucket: 'reports', key: 'q3.pdf', sourceIp: '198.51.100.9', atMs: BASE_TIME_MS });
    const unmatched = kmsRecord({ who: analyst, s3Arn: 'arn:aws:s3:::reports/q4.pdf', atMs: BASE_TIME_MS + minutes(1) });

    const deltas = await ledgerFor([[decrypt, get, unmatched]]);
    const rows = merged(deltas);
    const accesses = deltas.flatMap((d) => d.accesses);

    // A row each: the matched read came from a public address, the unmatched call names no network.
    expect(rows.map((r) => [r.bucket, r.path, r.network, r.count, r.objects])).toEqual([
      ['reports', 's3', 'public', 1, ['q3.pdf']],
      ['reports', 's3', '', 1, ['q4.pdf']],
    ]);
    expect(accesses.map((a) => [a.objectKey, a.operation, a.sourceIps, a.sessions, a.correlation])).toEqual([
      ['q3.pdf', 'GetObject', ['198.51.100.9'], ['alice'], 'object'],
      ['q4.pdf', 'Decrypt', [], ['alice'], 'none'],
    ]);
  });

  it('records a write whose KMS call lands only in other accounts\' trails (a writer of another account, under a key not the bucket owner\'s) from its data event, by its key\'s ARN', async () => {
    const partner = { role: 'Uploader', session: 'up-1', account: '999988887777' } as const;
    const theirKey = 'arn:aws:kms:us-east-1:999988887777:key/3f1c0000-0000-4000-8000-0000000000ff';
    const ownKey = 'arn:aws:kms:us-east-1:111122223333:key/1a2b3c4d-0000-4000-8000-00000000b002';
    const put = (o: Parameters<typeof s3Record>[0]) => s3Record({ eventName: 'PutObject', who: partner, bucket: 'reports', sourceIp: '192.0.2.60', sseApplied: 'SSE_KMS', atMs: BASE_TIME_MS, ...o });
    const records = [
      put({ key: 'in/a.csv', appliedKmsKeyId: theirKey, eventId: 'w1' }),
      put({ key: 'in/a.csv', appliedKmsKeyId: theirKey, eventId: 'w2', atMs: BASE_TIME_MS + minutes(1) }),
      put({ key: 'in/b.csv', kmsKeyId: 'alias/uploads', eventId: 'w3' }), // KMS resolves it in the writer's account
      put({ key: 'in/c.csv', kmsKeyId: '3f1c0000-0000-4000-8000-0000000000ee', eventId: 'w4' }),
      // Not written here: the bucket owner's key (its copy of the call lands here), a writer of the owner's account,
      // a write naming no key, a failed write, and a read.
      put({ key: 'in/d.csv', appliedKmsKeyId: ownKey, eventId: 'n1' }),
      put({ key: 'in/e.csv', appliedKmsKeyId: theirKey, who: analyst, eventId: 'n2' }),
      put({ key: 'in/f.csv', sseApplied: 'SSE_S3', eventId: 'n3' }),
      { ...put({ key: 'in/g.csv', appliedKmsKeyId: theirKey, eventId: 'n4' }), errorCode: 'AccessDenied' },
      s3Record({ who: partner, bucket: 'reports', key: 'in/a.csv', eventId: 'n5' }),
    ];

    const deltas = await ledgerFor([records]);
    const accesses = deltas.flatMap((d) => d.accesses);

    expect(merged(deltas).filter((r) => r.key === theirKey)).toEqual([]); // a row counts KMS calls: none was seen
    expect(accesses.map((a) => [a.key, a.objectKey, a.operation, a.count, a.sourceIps, a.sessions, a.eventIds, a.correlation])).toEqual([
      [theirKey, 'in/a.csv', 'PutObject', 2, ['192.0.2.60'], ['up-1'], ['w1', 'w2'], 'data-event'],
      ['arn:aws:kms:us-east-1:999988887777:alias/uploads', 'in/b.csv', 'PutObject', 1, ['192.0.2.60'], ['up-1'], ['w3'], 'data-event'],
      ['arn:aws:kms:us-east-1:999988887777:key/3f1c0000-0000-4000-8000-0000000000ee', 'in/c.csv', 'PutObject', 1, ['192.0.2.60'], ['up-1'], ['w4'], 'data-event'],
    ]);
    expect(accesses[0]).toMatchObject({ day: '2026-10-01', principal: 'arn:aws:iam::999988887777:role/Uploader', bucket: 'reports', firstSeenMs: BASE_TIME_MS, lastSeenMs: BASE_TIME_MS + minutes(1) });
  });

  it('counts such a write once in a replay that also holds the writer\'s trail, whichever copy and batch come first', async () => {
    const partner = { role: 'Uploader', session: 'up-1', account: '999988887777' } as const;
    const theirKey = 'arn:aws:kms:us-east-1:999988887777:key/3f1c0000-0000-4000-8000-0000000000ff';
    // The write's two copies (the bucket owner's and the writer's, one sharedEventID) and the KMS call S3 made
    // for it, which only the writer's trail (the key's account too) holds.
    const put = (recipient: string, eventId: string) => ({
      ...s3Record({ eventName: 'PutObject', who: partner, bucket: 'reports', key: 'in/a.csv', sourceIp: '192.0.2.60', sseApplied: 'SSE_KMS', appliedKmsKeyId: theirKey, atMs: BASE_TIME_MS, eventId }),
      recipientAccountId: recipient, sharedEventID: 'put-1',
    });
    const ownerCopy = put('111122223333', 'o1');
    const writerCopy = put('999988887777', 'w1');
    const call = kmsRecord({ eventName: 'GenerateDataKey', who: partner, keyArn: theirKey, s3Arn: 'arn:aws:s3:::reports/in/a.csv', atMs: BASE_TIME_MS + 40, recipientAccountId: '999988887777', eventId: 'k1' });
    const orders: Record<string, unknown[][]> = {
      'owner copy, then the rest': [[ownerCopy, writerCopy, call]],
      'writer copy, then the rest': [[writerCopy, ownerCopy, call]],
      'the call first': [[call, ownerCopy, writerCopy]],
      'owner copy in a batch of its own': [[ownerCopy], [writerCopy, call]],
      'the call in a batch of its own, last': [[ownerCopy, writerCopy], [call]],
    };

    for (const [order, batches] of Object.entries(orders)) {
      const deltas = await ledgerFor(batches);
      const accesses = [...mergeById({ rows: [], accesses: deltas.flatMap((d) => d.accesses) }).accesses.values()];

      expect(accesses.map((a) => [a.key, a.objectKey, a.operation, a.count, a.correlation]), order).toEqual([[theirKey, 'in/a.csv', 'PutObject', 1, 'object']]);
      expect(merged(deltas).map((r) => [r.key, r.operation, r.path, r.count]), order).toEqual([[theirKey, 'GenerateDataKey', 's3', 1]]);
    }

    // The write just before midnight (UTC), the KMS call S3 made for it just after: one access, on the write's day.
    const midnight = BASE_TIME_MS - 9 * 3_600_000 + days(1);
    const lateWrite = { ...ownerCopy, eventTime: new Date(midnight - 500).toISOString() };
    const nextDayCall = { ...call, eventTime: new Date(midnight + 500).toISOString() };
    for (const batches of [[[lateWrite, nextDayCall]], [[lateWrite], [nextDayCall]]]) {
      const deltas = await ledgerFor(batches);
      const accesses = [...mergeById({ rows: [], accesses: deltas.flatMap((d) => d.accesses) }).accesses.values()];

      expect(accesses.map((a) => [a.day, a.count, a.correlation])).toEqual([['2026-10-01', 1, 'object']]);
      expect(merged(deltas).map((r) => [r.day, r.operation, r.count])).toEqual([['2026-10-02', 'GenerateDataKey', 1]]);
    }
  });

  it('keeps a ReEncrypt under the key it decrypted with, one row per destination, which its id names; every other row keeps the id it had', () => {
    const locker = 'arn:aws:kms:us-east-1:999988887777:key/3f1c0000-0000-4000-8000-0000000000ff';
    const own = 'arn:aws:kms:us-east-1:111122223333:key/0987dcba-09fe-87dc-65ba-ab0987654321';
    const reEncryptTo = (destinationKeyId: string) => kmsEvent({ who: analyst, eventName: 'ReEncrypt', requestParameters: { destinationKeyId } });

    const { rows } = ledgerOf([reEncryptTo(locker), reEncryptTo(locker), reEncryptTo('0987dcba-09fe-87dc-65ba-ab0987654321'), reEncryptTo('alias/other'), kmsEvent({ who: analyst })], [], []);

    expect(rows.map((r) => [r.key, r.operation, r.destinationKey, r.count])).toEqual([
      [KEY_ARN, 'ReEncrypt', locker, 2],
      [KEY_ARN, 'ReEncrypt', own, 1], // a key id names a key of the caller's account and region
      [KEY_ARN, 'ReEncrypt', 'alias/other', 1], // an alias its resources do not resolve, as named
      [KEY_ARN, 'Decrypt', '', 1],
    ]);
    expect(new Set(rows.map(ledgerRowId)).size).toBe(4);
    // A call of no known network (a private address without the endpoint's id), as rows were before networks were kept.
    const decrypt = ledgerOf([kmsEvent({ who: analyst, sourceIp: '10.0.1.6' })], [], []).rows[0] as LedgerRow;
    expect(decrypt.network).toBe('');
    // The id stores wrote before rows kept a destination (DynamoDB items keep theirs).
    expect(ledgerRowId(decrypt)).toBe(`ledger#${decrypt.day}#${JSON.stringify([decrypt.key, decrypt.principal, decrypt.account, decrypt.region, decrypt.bucket, decrypt.operation, decrypt.path])}`);
    expect(ledgerRowId(rows[0] as LedgerRow)).toContain(JSON.stringify(locker));
  });

  it('counts a call under the network it came through: its VPC endpoint, the public endpoint, or none said; a call S3 made under its S3 request\'s', async () => {
    const endpoint = 'vpce-0a1b2c3d4e5f60718';
    const s3Endpoint = 'vpce-0fedcba987654321a';
    const at = (m: number) => BASE_TIME_MS + minutes(m);
    const records = [
      kmsRecord({ who: analyst, sourceIp: '10.0.1.5', vpcEndpointId: endpoint, atMs: at(0) }),
      kmsRecord({ who: analyst, sourceIp: '10.0.1.5', vpcEndpointId: endpoint, atMs: at(1) }),
      kmsRecord({ who: analyst, sourceIp: '198.51.100.7', atMs: at(2) }),
      // A private address without the endpoint's id says no network (another account's copy may leave it out).
      kmsRecord({ who: analyst, sourceIp: '10.0.1.6', atMs: at(3) }),
      // S3's call for a read through a gateway endpoint: the read's network, not S3's own ("AWS Internal").
      kmsRecord({ who: analyst, s3Arn: 'arn:aws:s3:::reports/q3.pdf', atMs: at(4) }),
      s3Record({ who: analyst, bucket: 'reports', key: 'q3.pdf', sourceIp: '10.0.2.7', vpcEndpointId: s3Endpoint, atMs: at(4) }),
      // A presigned URL's read counts under the network it came through, whoever signed the URL.
      kmsRecord({ who: analyst, s3Arn: 'arn:aws:s3:::reports/q4.pdf', atMs: at(5) }),
      s3Record({ who: analyst, bucket: 'reports', key: 'q4.pdf', sourceIp: '198.51.100.8', presigned: true, atMs: at(5) }),
      // S3's call matched to no read: no network said.
      kmsRecord({ who: analyst, s3Arn: 'arn:aws:s3:::reports/q5.pdf', atMs: at(6) }),
    ];

    const deltas = await ledgerFor([records]);
    const rows = merged(deltas);

    expect(deltas.flatMap((d) => d.accesses).map((a) => [a.objectKey, a.operation, a.network, a.sourceIps])).toEqual([
      ['q3.pdf', 'GetObject', s3Endpoint, ['10.0.2.7']],
      ['q4.pdf', 'GetObject', 'public', ['198.51.100.8']],
      ['q5.pdf', 'Decrypt', '', []],
    ]);
    expect(rows.map((r) => [r.path, r.bucket, r.network, r.count]).sort()).toEqual([
      ['direct', '', '', 1],
      ['direct', '', 'public', 1],
      ['direct', '', endpoint, 2],
      ['s3', 'reports', '', 1],
      ['s3', 'reports', 'public', 1],
      ['s3', 'reports', s3Endpoint, 1],
    ]);
    expect(new Set(rows.map(ledgerRowId)).size).toBe(6);
  });

  it('counts an object opened through two networks on an access for each, which its id names', () => {
    const endpoint = 'vpce-0fedcba987654321a';
    const decrypt = (m: number) => kmsEvent({ who: analyst, s3Arn: 'arn:aws:s3:::reports/q3.pdf', atMs: BASE_TIME_MS + minutes(m) });
    const matched = (call: ReturnType<typeof decrypt>, request: ReturnType<typeof s3Event>) => ({ ...call, correlation: 'object' as const, s3Request: { operation: request.eventName, eventId: request.eventId, eventTimeMs: request.eventTimeMs, bucket: request.bucket, objectKey: request.objectKey, sourceIp: request.sourceIp, vpcEndpointId: request.vpcEndpointId } });
    const inside = s3Event({ who: analyst, bucket: 'reports', key: 'q3.pdf', sourceIp: '10.0.2.7', vpcEndpointId: endpoint });
    const outside = s3Event({ who: analyst, bucket: 'reports', key: 'q3.pdf', sourceIp: '198.51.100.8', atMs: BASE_TIME_MS + minutes(2) });

    const { accesses } = ledgerOf([], [matched(decrypt(0), inside), matched(decrypt(1), inside), matched(decrypt(2), outside)], []);

    expect(accesses.map((a) => [a.network, a.count])).toEqual([[endpoint, 2], ['public', 1]]);
    const [first, second] = accesses as [ObjectAccess, ObjectAccess];
    expect(objectAccessId(first)).toBe(`access#2026-10-01#${JSON.stringify([KEY_ARN, first.principal, 'reports', 'q3.pdf', 'GetObject', endpoint])}`);
    expect(objectAccessId(second)).not.toBe(objectAccessId(first));
    // Accesses stored before networks were kept name none, and keep their ids.
    const { network: _, ...stored } = first;
    expect(objectAccessId(stored)).toBe(`access#2026-10-01#${JSON.stringify([KEY_ARN, first.principal, 'reports', 'q3.pdf', 'GetObject'])}`);
  });

  it('names a row\'s network in its id after its destination, so that neither can stand for the other', () => {
    const row = ledgerOf([kmsEvent({ who: analyst })], [], []).rows[0] as LedgerRow;
    const parts = [row.key, row.principal, row.account, row.region, row.bucket, row.operation, row.path];
    const locker = 'arn:aws:kms:us-east-1:999988887777:key/3f1c0000-0000-4000-8000-0000000000ff';

    expect(row.network).toBe('public');
    expect(ledgerRowId(row)).toBe(`ledger#${row.day}#${JSON.stringify([...parts, '', 'public'])}`);
    expect(ledgerRowId({ ...row, destinationKey: locker })).toBe(`ledger#${row.day}#${JSON.stringify([...parts, locker, 'public'])}`);
    // Rows stored before networks were kept name none, and keep their ids.
    expect(ledgerRowId({ ...row, destinationKey: locker, network: '' })).toBe(`ledger#${row.day}#${JSON.stringify([...parts, locker])}`);
    const { network: _, ...stored } = row;
    expect(ledgerRowId(stored)).toBe(`ledger#${row.day}#${JSON.stringify(parts)}`);
  });

  it('counts an object opened again on the access it made the first time, adding each new address, session and event id once', () => {
    const accumulator = new LedgerAccumulator();
    const opened = (eventId: string, atMs: number, sourceIp: string, session: string) =>
      ({ ...kmsEvent({ who: { role: 'Analyst', session }, s3Arn: 'arn:aws:s3:::reports/q3.pdf', atMs, eventId }), correlation: 'object' as const, s3Request: { ...s3Event({ bucket: 'reports', key: 'q3.pdf', sourceIp, atMs }), operation: 'GetObject' } });
    accumulator.add([], [opened('e1', BASE_TIME_MS, '198.51.100.9', 'alice')], []);
    accumulator.add([], [opened('e2', BASE_TIME_MS + minutes(1), '198.51.100.10', 'alice'), opened('e3', BASE_TIME_MS - minutes(1), '198.51.100.9', 'alice')], []);

    const { accesses } = accumulator.drain();
    expect(accesses).toHaveLength(1);
    expect(accesses[0]).toMatchObject({ objectKey: 'q3.pdf', operation: 'GetObject', count: 3, firstSeenMs: BASE_TIME_MS - minutes(1), lastSeenMs: BASE_TIME_MS + minutes(1), sourceIps: ['198.51.100.9', '198.51.100.10'], sessions: ['alice'], eventIds: ['e1', 'e2', 'e3'], correlation: 'object' });
  });

  it('counts the findings raised on a row’s calls', async () => {
    const deltas = await ledgerFor([[kmsRecord({ who: { root: true }, atMs: BASE_TIME_MS })]]);

    expect(merged(deltas).map((r) => [r.principal, r.findings])).toEqual([['arn:aws:iam::111122223333:root', 1]]);
  });

  it('gives the same ledger however the records are split into batches, and counts a redelivered record once', async () => {
    const records = Array.from({ length: 40 }, (_, i) => kmsRecord({ who: { role: `R${i % 3}` }, atMs: BASE_TIME_MS + minutes(i * 7) }));
    const whole = merged(await ledgerFor([records]));
    const split = merged(await ledgerFor([records.slice(0, 13), records.slice(13, 29), [records[3], ...records.slice(29)]]));

    const comparable = (rows: LedgerRow[]) => rows.map((r) => ({ ...r, eventIds: [...r.eventIds].sort() })).sort((a, b) => `${a.day}${a.principal}`.localeCompare(`${b.day}${b.principal}`));
    expect(comparable(split).map(({ eventIds: _e, ...r }) => r)).toEqual(comparable(whole).map(({ eventIds: _e, ...r }) => r));
    expect(whole.reduce((n, r) => n + r.count, 0)).toBe(40);
  });

  it('merges object samples without duplicates and caps them, marking the overflow', () => {
    const row = (objects: string[]): LedgerRow => ({ kind: 'ledger', day: 'd', key: 'k', principal: 'p', principalType: 'AssumedRole', account: 'a', region: 'r', bucket: 'b', operation: 'Decrypt', path: 's3', count: 1, errors: 0, firstSeenMs: 1, lastSeenMs: 1, objects, objectsOverflow: false, eventIds: [], findings: 0 });
    const many = Array.from({ length: 200 }, (_, i) => `o${i}`);

    const m = mergeLedgerRow(row(many), row(['o1', 'extra']));

    expect(m.objects).toHaveLength(200);
    expect(m.objectsOverflow).toBe(true);
    expect(m.count).toBe(2);
    expect(mergeObjectAccess(undefined, { kind: 'object-access', day: 'd', key: 'k', principal: 'p', bucket: 'b', objectKey: 'o', operation: 'GetObject', count: 1, firstSeenMs: 5, lastSeenMs: 5, sourceIps: ['1.1.1.1'], sessions: [], eventIds: [], correlation: 'object' }).count).toBe(1);
  });

  describe('LedgerAccumulator (the replay keeps one for the run)', () => {
    const call = (atMs: number, extra: Parameters<typeof kmsEvent>[0] = {}) => kmsEvent({ who: analyst, atMs, ...extra });

    it('keeps a row that batches repeat as one row, equal to merging the batches\' own ledgers', () => {
      const batches = [
        [call(BASE_TIME_MS), call(BASE_TIME_MS + minutes(1), { errorCode: 'AccessDeniedException' })],
        [call(BASE_TIME_MS + minutes(2)), call(BASE_TIME_MS + days(1))],
        [call(BASE_TIME_MS - minutes(3))],
      ];
      const accumulator = new LedgerAccumulator();
      for (const b of batches) accumulator.add(b, [], []);

      expect(accumulator.size).toBe(2);
      const drained = accumulator.drain();
      expect(drained.rows).toEqual(merged(batches.map((b) => ledgerOf(b, [], []))));
      expect(drained.rows[0]).toMatchObject({ count: 4, errors: 1, firstSeenMs: BASE_TIME_MS - minutes(3), lastSeenMs: BASE_TIME_MS + minutes(2) });
      expect(accumulator.size).toBe(0);
      expect(accumulator.drain()).toEqual({ rows: [], accesses: [] });
    });

    it('groups calls exactly as the store\'s row and access ids do, whatever characters their parts hold', () => {
      const keyArn = 'arn:aws:kms:us-east-1:111122223333:key/k1';
      // Object keys that would run into their neighbours if ids were joined naively.
      const objects = ['a#b', 'a', 'b', '"a","b"', 'a\u0000b', 'a\\"', 'a#b'];
      const calls = objects.flatMap((o, i) => [
        call(BASE_TIME_MS + i, { keyArn, s3Arn: `arn:aws:s3:::bucket/${o}` }),
        call(BASE_TIME_MS + i, { keyArn, s3Arn: `arn:aws:s3:::bucket#x/${o}`, eventName: 'GenerateDataKey' }),
      ]);
      const accumulator = new LedgerAccumulator();
      accumulator.add([], calls.slice(0, 5), []);
      accumulator.add([], calls.slice(5), []);
      const { rows, accesses } = accumulator.drain();

      const byRowId = new Map<string, number>();
      const byAccessId = new Map<string, number>();
      for (const e of calls) {
        const single = ledgerOf([], [e], []);
        for (const r of single.rows) byRowId.set(ledgerRowId(r), (byRowId.get(ledgerRowId(r)) ?? 0) + 1);
        for (const a of single.accesses) byAccessId.set(objectAccessId(a), (byAccessId.get(objectAccessId(a)) ?? 0) + 1);
      }
      expect(new Map(rows.map((r) => [ledgerRowId(r), r.count]))).toEqual(byRowId);
      expect(new Map(accesses.map((a) => [objectAccessId(a), a.count]))).toEqual(byAccessId);
      expect(accesses).toHaveLength(12);
      expect(accesses.find((a) => a.objectKey === 'a#b' && a.bucket === 'bucket')?.count).toBe(2);
    });

    it('counts a batch\'s detections only on rows that batch added to', () => {
      const accumulator = new LedgerAccumulator();
      const first = call(BASE_TIME_MS);
      accumulator.add([first], [], []);
      // A detection whose call is not among this batch's calls (decided elsewhere) does not count here.
      accumulator.add([], [], [{ ruleId: 'r', event: first } as never]);
      const second = call(BASE_TIME_MS + minutes(1));
      accumulator.add([second], [], [{ ruleId: 'r', event: second } as never]);

      expect(accumulator.drain().rows.map((r) => [r.count, r.findings])).toEqual([[2, 1]]);
    });

    it('hands a write every object access but keeps its few rows aggregating; merged as a store merges them, the pieces are one drain', () => {
      const byArn = { keyArn: 'arn:aws:kms:us-east-1:111122223333:key/k1' };
      // Two rows (a bucket each) of many objects, and an object access for each object.
      const batches = Array.from({ length: 12 }, (_, b) =>
        Array.from({ length: 30 }, (_, i) => call(BASE_TIME_MS + b * 100 + i, { ...byArn, s3Arn: `arn:aws:s3:::${i % 2 === 0 ? 'even' : 'odd'}/o${(b * 7 + i) % 40}` })));
      const once = new LedgerAccumulator();
      const inPieces = new LedgerAccumulator();
      const pieces: LedgerDelta[] = [];
      for (const [b, batch] of batches.entries()) {
        once.add([], batch, []);
        inPieces.add([], batch, []);
        if (b % 3 === 2) {
          const piece = inPieces.drainForWrite();
          pieces.push(piece);
          // Rows are 2 of what is held: they stay, the accesses go.
          expect(piece.rows).toEqual([]);
          expect(piece.accesses.length).toBeGreaterThan(0);
          expect(inPieces.size).toBe(2);
        }
      }
      pieces.push(inPieces.drain());
      expect(inPieces.size).toBe(0);

      const all = once.drain();
      const fromPieces = mergeById({ rows: pieces.flatMap((p) => p.rows), accesses: pieces.flatMap((p) => p.accesses) });
      expect(fromPieces.rows).toEqual(mergeById(all).rows);
      expect(fromPieces.accesses).toEqual(mergeById(all).accesses);
      expect(all.rows.map((r) => r.count)).toEqual([180, 180]);
    });

    it('hands a write the object accesses of the days that are over, and holds the current day\'s up to a bound; merged, the pieces are one drain', () => {
      const byArn = { keyArn: 'arn:aws:kms:us-east-1:111122223333:key/k1' };
      // Objects read again and again over three days (and once more, late, on the first), a write after each batch.
      const read = (atMs: number, i: number) => call(atMs, { ...byArn, s3Arn: `arn:aws:s3:::b/o${i % 25}` });
      const batches = [
        ...[0, 1, 2].flatMap((day) => Array.from({ length: 4 }, (_, b) => Array.from({ length: 30 }, (_, i) => read(BASE_TIME_MS + days(day) + minutes(b * 60 + i), b * 30 + i)))),
        [read(BASE_TIME_MS + minutes(5), 3)],
      ];
      const once = new LedgerAccumulator();
      const inPieces = new LedgerAccumulator();
      const pieces: LedgerDelta[] = [];
      for (const batch of batches) {
        once.add([], batch, []);
        inPieces.add([], batch, []);
        pieces.push(inPieces.drainForWrite(1_000));
      }
      // Nothing while the first day lasts; its 25 accesses when the second begins; the second's when the third does;
      // the late call's access as soon as it comes (its day is over).
      expect(pieces.map((p) => p.accesses.length)).toEqual([0, 0, 0, 0, 25, 0, 0, 0, 25, 0, 0, 0, 1]);
      expect(pieces.flatMap((p) => p.accesses.map((a) => a.day))).toEqual([...Array(25).fill('2026-10-01'), ...Array(25).fill('2026-10-02'), '2026-10-01']);
      expect(pieces.every((p) => p.rows.length === 0)).toBe(true);
      // The third day's accesses are held, and the rows: the late access joined nothing held.
      expect(inPieces.size).toBe(25 + 3);
      pieces.push(inPieces.drain());

      const all = once.drain();
      const fromPieces = mergeById({ rows: pieces.flatMap((p) => p.rows), accesses: pieces.flatMap((p) => p.accesses) });
      expect(fromPieces.rows).toEqual(mergeById(all).rows);
      expect(fromPieces.accesses).toEqual(mergeById(all).accesses);

      // Past the bound, the current day's accesses go too (a day larger than the bound reaches the store in parts).
      const bounded = new LedgerAccumulator();
      const object = (i: number) => call(BASE_TIME_MS + i, { ...byArn, s3Arn: `arn:aws:s3:::b/p${i}` });
      bounded.add([], Array.from({ length: 25 }, (_, i) => object(i)), []);
      expect(bounded.drainForWrite(26).accesses).toEqual([]);
      bounded.add([], [object(25)], []);
      expect(bounded.drainForWrite(26).accesses).toHaveLength(26);
      expect(bounded.size).toBe(1);
      // A day over with the current one past the bound: both go.
      const both = new LedgerAccumulator();
      both.add([], [object(0)], []);
      both.add([], Array.from({ length: 30 }, (_, i) => call(BASE_TIME_MS + days(1) + i, { ...byArn, s3Arn: `arn:aws:s3:::b/q${i}` })), []);
      expect(both.drainForWrite(26).accesses.map((a) => a.day)).toEqual(['2026-10-01', ...Array(30).fill('2026-10-02')]);
      // Under the bound, only the day that is over (its rows, three days of one bucket, stay with the current day's accesses).
      both.add([], [object(1)], []);
      both.add([], Array.from({ length: 10 }, (_, i) => call(BASE_TIME_MS + days(2) + i, { ...byArn, s3Arn: `arn:aws:s3:::b/r${i}` })), []);
      expect(both.drainForWrite(26).accesses.map((a) => a.day)).toEqual(['2026-10-01']);
      expect(both.size).toBe(3 + 10);
    });

    it('hands a write its rows too once they are half of what is held, so what is held stays bounded', () => {
      const accumulator = new LedgerAccumulator();
      // Direct calls of many principals: a row each and no object access.
      accumulator.add(Array.from({ length: 5 }, (_, i) => call(BASE_TIME_MS + i, { who: { role: `Role${i}`, session: 's' } })), [], []);
      const piece = accumulator.drainForWrite();
      expect(piece.rows).toHaveLength(5);
      expect(piece.accesses).toEqual([]);
      expect(accumulator.size).toBe(0);
    });

    it('fills in the alias when a later call names it, and caps distinct objects however many batches bring them', () => {
      const accumulator = new LedgerAccumulator();
      const byArn = { keyArn: 'arn:aws:kms:us-east-1:111122223333:key/k1' };
      accumulator.add([call(BASE_TIME_MS, byArn)], [], []);
      accumulator.add([call(BASE_TIME_MS + 1, { ...byArn, keyId: 'alias/app' })], [], []);
      // S3-made calls join as decided calls (their S3 request matched or not).
      for (let i = 0; i <= LEDGER_DISTINCT_OBJECTS; i++) accumulator.add([], [call(BASE_TIME_MS + 2 + i, { ...byArn, s3Arn: `arn:aws:s3:::b/o${i}` })], []);

      const { rows, accesses } = accumulator.drain();
      const withObjects = rows.find((r) => r.bucket === 'b');
      expect(rows.find((r) => r.bucket === '')?.keyAlias).toBe('alias/app');
      expect(withObjects?.objects).toHaveLength(LEDGER_DISTINCT_OBJECTS);
      expect(withObjects?.objectsOverflow).toBe(true);
      expect(withObjects?.count).toBe(LEDGER_DISTINCT_OBJECTS + 1);
      expect(accesses).toHaveLength(LEDGER_DISTINCT_OBJECTS + 1);
    });
  });
});
