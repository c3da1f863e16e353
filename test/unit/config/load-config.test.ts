import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load-config.ts';
import { compileConfig, keySelectorMatches, parseExpiryMs } from '#core/config.ts';
import { compileGlob } from '#core/glob.ts';
import { ConfigError } from '#core/errors.ts';
import { ALL_RULES } from '#core/rules/registry.ts';
import { KEY_ARN } from '#core/testing/builders.ts';

const RULE_IDS = ALL_RULES.map((r) => r.id);

const FULL = `
learningPeriod: 3d
trustedAccounts: ['444455556666']
allowedRegions: [us-east-1, eu-west-1]
homeRegion: eu-west-1
keys:
  - alias: alias/app-data
    sensitive: true
    allowedPrincipals: ['arn:aws:iam::*:role/PaymentsApp', 'arn:aws:iam::111122223333:role/Billing*']
    requiredContext: { env: prod, app: '*' }
  - arn: ${KEY_ARN}
    allowedRegions: [us-east-1]
buckets:
  - name: example-finance-reports
    requiredKmsKey: alias/app-data
  - name: 'example-finance-*'
    requiredKmsKey: alias/finance
  - name: 'example-*'
    requiredKmsKey: alias/everything-else
rules:
  kms-mass-decrypt: { threshold: 500, window: 10m }
  kms-throttled: { enabled: false }
  kms-root-usage: { severity: CRITICAL }
suppressions:
  - id: etl-bulk
    rule: kms-mass-decrypt
    principal: 'arn:aws:iam::*:role/ReportEtl'
    reason: nightly export reads every report
    expires: 2027-01-31
`;

const problemsOf = (text: string): string[] => {
  try {
    parseConfig(text, 'kdm.config.yaml', RULE_IDS);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message.split('\n').slice(1);
  }
  throw new Error('expected the configuration to be rejected');
};

describe('parseConfig', () => {
  it('accepts a full configuration', () => {
    const config = parseConfig(FULL, 'kdm.config.yaml', RULE_IDS);

    expect(config.keys).toHaveLength(2);
    expect(config.suppressions?.[0]).toMatchObject({ id: 'etl-bulk', expires: expect.stringMatching(/^2027-01-31/) });
  });

  it('names file, line, column and field for every problem', () => {
    const problems = problemsOf(`
keys:
  - alias: alias/app
    sensitive: yes please
    allowedRegions: [mars-1]
rules:
  kms-made-up-rule: { enabled: true }
  kms-mass-decrypt: { threshold: 0, window: soon }
suppressions:
  - id: s1
    rule: kms-root-usage
    reason: ok
trustedAccounts: [12345]
unknownTop: 1
homeRegion: home
`);

    expect(problems).toEqual([
      'kdm.config.yaml:4:16: keys[0].sensitive: expected true or false, got "yes please"',
      'kdm.config.yaml:5:22: keys[0].allowedRegions[0]: expected an AWS region such as us-east-1 (got "mars-1")',
      'kdm.config.yaml:7:3: rules.kms-made-up-rule: unknown key: expected a rule id (kdm rules list)',
      'kdm.config.yaml:8:34: rules.kms-mass-decrypt.threshold: must be at least 1, got 0',
      'kdm.config.yaml:8:45: rules.kms-mass-decrypt.window: expected a duration such as 15m, 6h or 7d, got "soon"',
      'kdm.config.yaml:12:13: suppressions[0].reason: expected a reason of a few words (got "ok")',
      'kdm.config.yaml:10:5: suppressions[0].expires: is required',
      'kdm.config.yaml:13:19: trustedAccounts[0]: expected a 12-digit account id (got 12345)',
      'kdm.config.yaml:14:1: unknownTop: unknown field (expected one of learningPeriod, dedupeRetention, trustedAccounts, allowedRegions, allowedNetworks, homeRegion, keys, correlation, privacy, buckets, rules, suppressions)',
      'kdm.config.yaml:15:13: homeRegion: expected an AWS region such as us-east-1 (got "home")',
    ]);
  });

  it('refuses an expiry that is not a day of the calendar, and a suppression id given twice', () => {
    const suppression = (id: string, expires: string) => `  - { id: ${id}, rule: kms-throttled, reason: the key is being rotated, expires: ${expires} }`;

    expect(problemsOf(['suppressions:', suppression('a', '2027-02-30')].join('\n'))).toEqual([expect.stringMatching(/^kdm\.config\.yaml:2:\d+: suppressions\[0\]\.expires: expected a date such as 2027-01-31, got "2027-02-30"$/)]);
    expect(problemsOf(['suppressions:', suppression('a', '2027-04-31T12:00:00Z')].join('\n'))).toHaveLength(1);
    expect(problemsOf(['suppressions:', suppression('a', '2027-01-31'), suppression('b', '2028-02-29'), suppression('a', '2027-03-01')].join('\n'))).toEqual([
      'kdm.config.yaml:4:11: suppressions[2].id: "a" is already the id of suppressions[0]; each must be unique',
    ]);
    expect(parseExpiryMs('2028-02-29')).toBe(Date.parse('2028-02-29T23:59:59.999Z'));
    expect(parseExpiryMs('2027-02-29')).toBeUndefined();
    expect(parseExpiryMs('2100-02-29')).toBeUndefined();
    expect(parseExpiryMs('2000-02-29')).toBe(Date.parse('2000-02-29T23:59:59.999Z'));
  });

  it('reads the networks a suppression matches, and names an entry that is no network and an empty list', () => {
    const suppression = (networks: string) => `  - { id: office, rule: kms-unusual-network, reason: the team debugs from the office, expires: 2027-01-31, networks: ${networks} }`;

    expect(parseConfig(['suppressions:', suppression("[vpce-0a1b2c3d4e5f60718, 198.51.100.0/24, '2001:db8::/32']")].join('\n'), 'kdm.config.yaml', RULE_IDS).suppressions?.[0]).toMatchObject({
      networks: ['vpce-0a1b2c3d4e5f60718', '198.51.100.0/24', '2001:db8::/32'],
    });
    expect(problemsOf(['suppressions:', suppression('[office-vpn]'), suppression('[]').replace('office', 'none')].join('\n'))).toEqual([
      'kdm.config.yaml:2:119: suppressions[0].networks[0]: expected a VPC endpoint id (vpce-0a1b2c3d4e5f60718), an IP address, or an address range such as 10.0.0.0/8 or 2001:db8::/32 (got "office-vpn")',
      'kdm.config.yaml:3:116: suppressions[1].networks: an empty list would match no finding: list the VPC endpoints and address ranges whose findings to suppress, or leave the field out to match any',
    ]);
  });

  it('refuses an empty allow-list, which would make every region or principal unusual, and names what to write instead', () => {
    expect(problemsOf('allowedRegions: []\nkeys:\n  - alias: alias/app\n    allowedPrincipals: []\n    allowedRegions:\n      # - eu-west-1\n      []\n')).toEqual([
      'kdm.config.yaml:1:17: allowedRegions: an empty list would make every region unusual: list the regions calls may come from, or leave the field out to allow any',
      'kdm.config.yaml:4:24: keys[0].allowedPrincipals: an empty list would make every principal unusual: list the principals (patterns) that may use the key, or leave the field out to allow any',
      'kdm.config.yaml:7:7: keys[0].allowedRegions: an empty list would make every region unusual: list the regions calls may come from, or leave the field out to allow any',
    ]);
    // Left out, they allow any; other lists may be empty (no trusted accounts, no suppressions).
    expect(parseConfig('keys:\n  - alias: alias/app\n    sensitive: true\ntrustedAccounts: []\nsuppressions: []\n', 'kdm.config.yaml', RULE_IDS)).toEqual({ keys: [{ alias: 'alias/app', sensitive: true }], trustedAccounts: [], suppressions: [] });
  });

  it('accepts VPC endpoint ids, addresses and address ranges as networks, and names each entry that is none of them', () => {
    const text = "allowedNetworks: [vpce-0a1b2c3d4e5f60718, 10.0.0.0/8]\nkeys:\n  - alias: alias/app\n    allowedNetworks: [vpce-0a1b2c3d, 192.0.2.7, '2001:db8::/32', '::ffff:192.0.2.0/120']\n";
    expect(parseConfig(text, 'kdm.config.yaml', RULE_IDS)).toEqual({
      allowedNetworks: ['vpce-0a1b2c3d4e5f60718', '10.0.0.0/8'],
      keys: [{ alias: 'alias/app', allowedNetworks: ['vpce-0a1b2c3d', '192.0.2.7', '2001:db8::/32', '::ffff:192.0.2.0/120'] }],
    });
    const hint = 'a VPC endpoint id (vpce-0a1b2c3d4e5f60718), an IP address, or an address range such as 10.0.0.0/8 or 2001:db8::/32';
    expect(problemsOf("allowedNetworks: [vpc-0a1b2c3d, 10.0.0.0/33, 10.0.0/8, 256.1.1.1, '2001:db8:::/32', corp-vpn, 10]\nkeys:\n  - alias: alias/app\n    allowedNetworks: []\n")).toEqual([
      `kdm.config.yaml:1:19: allowedNetworks[0]: expected ${hint} (got "vpc-0a1b2c3d")`,
      `kdm.config.yaml:1:33: allowedNetworks[1]: expected ${hint} (got "10.0.0.0/33")`,
      `kdm.config.yaml:1:46: allowedNetworks[2]: expected ${hint} (got "10.0.0/8")`,
      `kdm.config.yaml:1:56: allowedNetworks[3]: expected ${hint} (got "256.1.1.1")`,
      `kdm.config.yaml:1:67: allowedNetworks[4]: expected ${hint} (got "2001:db8:::/32")`,
      `kdm.config.yaml:1:85: allowedNetworks[5]: expected ${hint} (got "corp-vpn")`,
      `kdm.config.yaml:1:95: allowedNetworks[6]: expected ${hint} (got 10)`,
      'kdm.config.yaml:4:22: keys[0].allowedNetworks: an empty list would make every network unusual: list the VPC endpoints and address ranges calls may come through or from, or leave the field out to allow any',
    ]);
  });

  it('shows a value JSON cannot write as YAML read it, not as null', () => {
    expect(problemsOf('rules:\n  kms-mass-decrypt: { threshold: 1e309 }\n')).toEqual(['kdm.config.yaml:2:34: rules.kms-mass-decrypt.threshold: expected a number, got Infinity']);
    expect(problemsOf('rules:\n  kms-mass-decrypt: { threshold: .nan }\n')).toEqual(['kdm.config.yaml:2:34: rules.kms-mass-decrypt.threshold: expected a number, got NaN']);
    expect(problemsOf('learningPeriod: !!binary aGk=\n')).toEqual(['kdm.config.yaml:1:26: learningPeriod: expected a duration such as 15m, 6h or 7d, got binary data (!!binary)']);
  });

  it('reports YAML syntax errors with their line', () => {
    expect(problemsOf('keys:\n  - alias: [unclosed\n')[0]).toMatch(/^kdm\.config\.yaml:\d+:\d+: /);
  });

  it('accepts a key id as KMS writes it, with wildcards, and refuses one that would match no key', () => {
    expect(parseConfig('keys:\n  - arn: 1234abcd-*\n  - arn: mrk-1234abcd12ab34cd56ef1234567890ab\n  - arn: "*"\n', 'kdm.config.yaml', RULE_IDS).keys?.map((k) => k.arn)).toEqual(['1234abcd-*', 'mrk-1234abcd12ab34cd56ef1234567890ab', '*']);
    expect(problemsOf('keys:\n  - arn: nope\n  - arn: 1234ABCD-12AB-34CD-56EF-1234567890AB\n')).toEqual([
      'kdm.config.yaml:2:10: keys[0].arn: expected a key ARN or key id in lowercase hex (wildcards * allowed) (got "nope")',
      'kdm.config.yaml:3:10: keys[1].arn: expected a key ARN or key id in lowercase hex (wildcards * allowed) (got "1234ABCD-12AB-34CD-56EF-1234567890AB")',
    ]);
  });

  it('requires a key to be named by arn, alias or tag', () => {
    expect(problemsOf('keys:\n  - sensitive: true\n')).toEqual(['kdm.config.yaml:2:5: keys[0]: needs one of arn, alias, tag']);
  });

  it('accepts an empty file', () => {
    expect(parseConfig('', 'empty.yaml', RULE_IDS)).toEqual({});
  });
});

describe('compileConfig', () => {
  const config = compileConfig(parseConfig(FULL, 'kdm.config.yaml', RULE_IDS));

  it('applies learning period and rule overrides', () => {
    expect(config.learningPeriodMs).toBe(3 * 86_400_000);
    expect(config.homeRegion).toBe('eu-west-1');
    expect(compileConfig({}).homeRegion).toBeUndefined();
    expect(config.rules['kms-mass-decrypt']).toEqual({ threshold: 500, windowMs: 600_000 });
    expect(config.rules['kms-throttled']).toEqual({ enabled: false });
    expect(config.rules['kms-root-usage']).toEqual({ severity: 'CRITICAL' });
  });

  it('answers key questions by alias and by ARN with wildcards', () => {
    const p = config.keyPolicy;

    expect(p.isSensitiveKey(KEY_ARN, 'alias/app-data')).toBe(true);
    expect(p.isSensitiveKey(KEY_ARN, undefined)).toBe(false);
    expect(p.isPrincipalAllowed(KEY_ARN, 'alias/app-data', 'arn:aws:iam::111122223333:role/PaymentsApp')).toBe(true);
    expect(p.isPrincipalAllowed(KEY_ARN, 'alias/app-data', 'arn:aws:iam::111122223333:role/BillingBatch')).toBe(true);
    expect(p.isPrincipalAllowed(KEY_ARN, 'alias/app-data', 'arn:aws:iam::111122223333:role/Other')).toBe(false);
    expect(p.isPrincipalAllowed('arn:aws:kms:us-east-1:111122223333:key/other', undefined, 'x')).toBeUndefined();
    expect(p.isRegionAllowed(KEY_ARN, undefined, 'eu-west-1')).toBe(false);
    expect(p.isRegionAllowed('arn:aws:kms:eu-west-1:111122223333:key/other', undefined, 'eu-west-1')).toBe(true);
    expect(p.isAccountTrusted('444455556666')).toBe(true);
    expect(p.requiredContext(KEY_ARN, 'alias/app-data')).toEqual({ env: 'prod', app: null });
    expect(p.requiredBucketKey('example-finance-reports')).toBe('alias/app-data');
    // An exact name wins over patterns; patterns apply in the file's order.
    expect(p.requiredBucketKey('example-finance-archive')).toBe('alias/finance');
    expect(p.requiredBucketKey('example-logs')).toBe('alias/everything-else');
    expect(p.requiredBucketKey('other-bucket')).toBeUndefined();
  });

  it('answers which networks a bucket\'s requests may come from: its exact name first, then the first pattern that matches', () => {
    const p = compileConfig(parseConfig(
      ['buckets:', '  - { name: lake-*, allowedNetworks: [vpce-0c1d2e3f4a5b60720] }', '  - { name: lake-raw, allowedNetworks: [10.0.0.0/8] }', '  - { name: lake-*-eu, allowedNetworks: [192.0.2.0/24] }', '  - { name: reports, requiredKmsKey: alias/reports }'].join('\n'),
      'kdm.config.yaml',
      RULE_IDS,
    )).keyPolicy;

    expect(p.bucketNetworks('lake-raw')?.entries).toEqual(['10.0.0.0/8']);
    expect(p.bucketNetworks('lake-curated-eu')?.entries).toEqual(['vpce-0c1d2e3f4a5b60720']);
    expect(p.bucketNetworks('lake-curated')?.allows('vpce-0c1d2e3f4a5b60720', '10.1.2.3')).toBe(true);
    expect(p.bucketNetworks('lake-curated')?.allows(undefined, '198.51.100.23')).toBe(false);
    expect(p.bucketNetworks('reports')).toBeUndefined();
    expect(problemsOf('buckets:\n  - { name: lake, allowedNetworks: [corp-vpn] }\n  - { name: logs, allowedNetworks: [] }\n')).toEqual([
      'kdm.config.yaml:2:37: buckets[0].allowedNetworks[0]: expected a VPC endpoint id (vpce-0a1b2c3d4e5f60718), an IP address, or an address range such as 10.0.0.0/8 or 2001:db8::/32 (got "corp-vpn")',
      'kdm.config.yaml:3:36: buckets[1].allowedNetworks: an empty list would make every network unusual: list the VPC endpoints and address ranges calls may come through or from, or leave the field out to allow any',
    ]);
  });

  it('allows a key\'s call from a network only when every list that applies to the key holds it', () => {
    const p = compileConfig(
      parseConfig(`allowedNetworks: [vpce-0a1b2c3d4e5f60718, 10.0.0.0/8, 203.0.113.0/24]\nkeys:\n  - arn: ${KEY_ARN}\n    allowedNetworks: [vpce-0a1b2c3d4e5f60718, '2001:db8::/32', 203.0.113.9]\n`, 'kdm.config.yaml', RULE_IDS),
    ).keyPolicy;
    const other = 'arn:aws:kms:us-east-1:111122223333:key/other';

    expect(p.isNetworkAllowed(KEY_ARN, undefined, 'vpce-0a1b2c3d4e5f60718', '10.1.2.3')).toBe(true);
    expect(p.isNetworkAllowed(KEY_ARN, undefined, undefined, '203.0.113.9')).toBe(true);
    // In the key's list, not in the one for all keys; and the other way round.
    expect(p.isNetworkAllowed(KEY_ARN, undefined, undefined, '2001:db8::1')).toBe(false);
    expect(p.isNetworkAllowed(KEY_ARN, undefined, undefined, '203.0.113.10')).toBe(false);
    expect(p.isNetworkAllowed(KEY_ARN, undefined, 'vpce-0badc0ffee0badc0f', '10.1.2.3')).toBe(false);
    expect(p.isNetworkAllowed(other, undefined, 'vpce-0badc0ffee0badc0f', '10.1.2.3')).toBe(true);
    expect(p.isNetworkAllowed(other, undefined, undefined, '198.51.100.1')).toBe(false);
    expect(p.allowedNetworks(KEY_ARN, undefined)).toEqual(['vpce-0a1b2c3d4e5f60718', '2001:db8::/32', '203.0.113.9', '10.0.0.0/8', '203.0.113.0/24']);
    expect(config.keyPolicy.isNetworkAllowed(KEY_ARN, undefined, undefined, '198.51.100.1')).toBeUndefined();
    expect(config.keyPolicy.allowedNetworks(KEY_ARN, undefined)).toBeUndefined();
  });

  it('compiles suppressions with their expiry at the end of the day', () => {
    expect(config.suppressions[0]).toMatchObject({ id: 'etl-bulk', ruleId: 'kms-mass-decrypt', expiresMs: Date.parse('2027-01-31T23:59:59.999Z') });
    expect(config.suppressions[0]?.principal?.test('arn:aws:iam::111122223333:role/ReportEtl')).toBe(true);
  });

  it('treats * as a wildcard and everything else literally', () => {
    expect(compileGlob('arn:aws:iam::*:role/a.b').test('arn:aws:iam::1:role/a.b')).toBe(true);
    expect(compileGlob('arn:aws:iam::*:role/a.b').test('arn:aws:iam::1:role/aXb')).toBe(false);
    expect(keySelectorMatches({ arn: '1234abcd-*' }, KEY_ARN, undefined)).toBe(true);
    expect(parseExpiryMs('tomorrow')).toBeUndefined();
  });
});
