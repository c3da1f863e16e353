import { BlockList, isIP } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normalizeRecord } from '#core/events/normalize.ts';
import { allDatasetRecords, hasDatasets } from '../../helpers/datasets.ts';
import { compileNetworkList, isInIpRange, isNetworkEntry, isPrivateAddress, networkOf, parseIpAddress, parseIpRange, PUBLIC_ENDPOINT } from '#core/network.ts';

describe('networkOf', () => {
  it.runIf(hasDatasets)('names the VPC endpoint of the shared datasets\' S3 object events that came through one, as correlation keeps them', () => {
    const throughEndpoints = allDatasetRecords().flatMap((raw) => {
      const r = normalizeRecord(raw);
      return r.ok && r.event.kind === 's3' && r.event.vpcEndpointId !== undefined ? [r.event] : [];
    });

    expect(throughEndpoints.map((e) => e.eventName)).toEqual(expect.arrayContaining(['CopyObject', 'DeleteObject']));
    for (const e of throughEndpoints) expect(networkOf(e)).toBe(e.vpcEndpointId);
  });

  it('names the VPC endpoint a call came through, the public endpoint for an address alone, and nothing for a service', () => {
    expect(networkOf({ vpcEndpointId: 'vpce-0a1b2c3d4e5f60718', sourceIp: '10.20.31.12' })).toBe('vpce-0a1b2c3d4e5f60718');
    expect(networkOf({ sourceIp: '198.51.100.23' })).toBe(PUBLIC_ENDPOINT);
    expect(networkOf({ sourceIp: '2001:db8::5' })).toBe(PUBLIC_ENDPOINT);
    for (const service of ['AWS Internal', 'internal.amazonaws.com', 's3.amazonaws.com', 'secretsmanager.amazonaws.com', '']) expect(networkOf({ sourceIp: service })).toBeUndefined();
    expect(networkOf({})).toBeUndefined();
  });

  it('leaves a private address without its endpoint unnamed: only an endpoint carries one to AWS', () => {
    for (const ip of ['10.20.31.12', '172.16.0.1', '172.31.255.9', '192.168.1.1', 'fd00::5', 'FC12:3::1']) expect(networkOf({ sourceIp: ip }), ip).toBeUndefined();
    for (const ip of ['172.15.0.1', '172.32.0.1', '11.0.0.1', '192.169.0.1', 'fe80::1', 'fd::1', '2001:db8::fd00']) expect(networkOf({ sourceIp: ip }), ip).toBe(PUBLIC_ENDPOINT);
    expect(networkOf({ sourceIp: '10.20.31.12', vpcEndpointId: 'vpce-0a1b2c3d4e5f60718' })).toBe('vpce-0a1b2c3d4e5f60718');
  });

  it('calls an address private exactly when it is in 10/8, 172.16/12, 192.168/16 or fc00::/7', () => {
    const ranges = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'].map((r) => parseIpRange(r) as NonNullable<ReturnType<typeof parseIpRange>>);
    const ipv4 = fc.tuple(fc.constantFrom(10, 172, 192, 11, 9), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join('.'));
    fc.assert(
      fc.property(fc.oneof(ipv4, fc.ipV6(), fc.ipV6().map((ip) => `fd${ip.slice(2)}`)), (ip) => {
        fc.pre(parseIpAddress(ip) !== undefined);
        expect(isPrivateAddress(ip), ip).toBe(ranges.some((r) => isInIpRange(ip, r)));
      }),
      { numRuns: 3000 },
    );
  });
});

describe('parseIpAddress and parseIpRange', () => {
  it('read the usual text forms of IPv4 and IPv6', () => {
    expect(parseIpAddress('192.0.2.1')).toEqual({ family: 4, groups: [0xc000, 0x0201] });
    expect(parseIpAddress('2001:db8::1')).toEqual({ family: 6, groups: [0x2001, 0xdb8, 0, 0, 0, 0, 0, 1] });
    expect(parseIpAddress('::')).toEqual({ family: 6, groups: [0, 0, 0, 0, 0, 0, 0, 0] });
    expect(parseIpAddress('::ffff:192.0.2.1')).toEqual({ family: 6, groups: [0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0201] });
    expect(parseIpAddress('2001:DB8:0:0:0:0:0:FFFF')?.groups).toEqual([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0xffff]);
    expect(parseIpRange('10.0.0.0/8')).toMatchObject({ family: 4, prefixBits: 8 });
    expect(parseIpRange('2001:db8::/32')).toMatchObject({ family: 6, prefixBits: 32 });
    expect(parseIpRange('192.0.2.7')).toMatchObject({ family: 4, prefixBits: 32 });
  });

  it('refuse what is not an address or range', () => {
    for (const text of ['', 'AWS Internal', '10.0.0', '10.0.0.256', '010.0.0.1', '1.2.3.4.5', '2001:db8:::1', '1:2:3:4:5:6:7:8:9', '1::2::3', 'fe80::1%eth0', '12345::', '::1.2.3']) {
      expect(parseIpAddress(text), text).toBeUndefined();
    }
    for (const text of ['10.0.0.0/33', '10.0.0.0/', '10.0.0.0/-1', '2001:db8::/129', '10.0.0.0/8/8', 'vpce-0a1b2c3d/8']) expect(parseIpRange(text), text).toBeUndefined();
  });

  it('agree with Node\'s own parser on which texts are addresses', () => {
    const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join('.'));
    const texts = fc.oneof(ipv4, fc.ipV6(), fc.ipV4Extended(), fc.string({ maxLength: 12 }), fc.stringMatching(/^[0-9a-f:.]{1,20}$/));
    fc.assert(
      fc.property(texts, (text) => {
        expect(parseIpAddress(text) !== undefined, text).toBe(isIP(text) !== 0);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('isInIpRange', () => {
  it('matches the addresses of a range and no others', () => {
    const range = parseIpRange('10.20.0.0/16');
    if (range === undefined) throw new Error('unparsed');
    expect(isInIpRange('10.20.31.12', range)).toBe(true);
    expect(isInIpRange('10.21.0.1', range)).toBe(false);
    expect(isInIpRange('::ffff:10.20.31.12', range)).toBe(false);
    expect(isInIpRange('not an address', range)).toBe(false);
  });

  it('agrees with Node\'s BlockList for random ranges and addresses of both families', () => {
    const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join('.'));
    const case4 = fc.record({ family: fc.constant('ipv4' as const), network: ipv4, prefix: fc.nat(32), address: ipv4 });
    const case6 = fc.record({ family: fc.constant('ipv6' as const), network: fc.ipV6(), prefix: fc.nat(128), address: fc.ipV6() });
    // An address near the range's own start, so matches are as common as misses.
    const near = (c: { network: string; address: string }) => fc.constantFrom(c.address, c.network);
    fc.assert(
      fc.property(
        fc.oneof(case4, case6).chain((c) => near(c).map((address) => ({ ...c, address }))),
        ({ family, network, prefix, address }) => {
          const blocks = new BlockList();
          blocks.addSubnet(network, prefix, family);
          const range = parseIpRange(`${network}/${prefix}`);
          expect(range).toBeDefined();
          expect(isInIpRange(address, range as NonNullable<typeof range>), `${address} in ${network}/${prefix}`).toBe(blocks.check(address, family));
        },
      ),
      { numRuns: 3000 },
    );
  });
});

describe('compileNetworkList and isNetworkEntry', () => {
  it('allows a call through a listed endpoint or from a listed range', () => {
    const list = compileNetworkList(['vpce-0a1b2c3d4e5f60718', '192.0.2.0/24', '2001:db8::/32']);
    expect(list.allows('vpce-0a1b2c3d4e5f60718', '172.31.0.9')).toBe(true);
    expect(list.allows(undefined, '192.0.2.200')).toBe(true);
    expect(list.allows(undefined, '2001:db8:1::1')).toBe(true);
    expect(list.allows('vpce-0badc0ffee0badc0f', '172.31.0.9')).toBe(false);
    expect(list.allows(undefined, 'AWS Internal')).toBe(false);
    expect(list.allows(undefined, undefined)).toBe(false);
  });

  it('takes endpoint ids as AWS writes them and address ranges, nothing else', () => {
    for (const entry of ['vpce-0a1b2c3d', 'vpce-0a1b2c3d4e5f60718', '10.0.0.0/8', '192.0.2.7', '::/0']) expect(isNetworkEntry(entry), entry).toBe(true);
    for (const entry of ['vpce-', 'vpce-0A1B2C3D', 'vpc-0a1b2c3d', 'corp-vpn', '10.0.0.0/33', '*']) expect(isNetworkEntry(entry), entry).toBe(false);
  });
});
