import { principalsS3RequestOf } from './events/s3-request.ts';
import type { KmsCall } from './events/types.ts';

/**
 * Where a call reached AWS from: through a VPC endpoint, or through the service's public endpoint from an address;
 * and the address ranges and endpoints a configuration allows (`allowedNetworks`).
 */

/** The network of a call that reached the service's public endpoint (no VPC endpoint), whatever its address. */
export const PUBLIC_ENDPOINT = 'public';

/**
 * True for text that can be an IP address, as against a service's name (`AWS Internal`, `s3.amazonaws.com`):
 * an IPv4 address starts with a digit, an IPv6 address holds a colon, a service's name neither. A cheap test for
 * the engine's learning path; `parseIpAddress` is the strict one.
 */
const looksLikeIpAddress = (text: string): boolean => {
  const c = text.charCodeAt(0);
  return (c >= 48 && c <= 57) || text.includes(':');
};

/**
 * True for a private address (RFC 1918, IPv6 unique local): one that reaches an AWS service only through a VPC
 * endpoint, so a record that gives it without the endpoint's id leaves the endpoint unsaid.
 */
export const isPrivateAddress = (ip: string): boolean => {
  if (ip.startsWith('10.') || ip.startsWith('192.168.')) return true;
  // 172.16.0.0/12: a second number of two digits, 16 to 31.
  if (ip.startsWith('172.')) {
    const tens = ip.charCodeAt(4) - 48;
    const units = ip.charCodeAt(5) - 48;
    return ip.charCodeAt(6) === 0x2e && units >= 0 && units <= 9 && (tens === 1 ? units >= 6 : tens === 2 || (tens === 3 && units <= 1));
  }
  // fc00::/7: a first group of four digits that begins fc or fd (`fd::1` is 00fd, not one of them), in either case.
  const second = ip.charCodeAt(1) | 0x20;
  return (ip.charCodeAt(0) | 0x20) === 0x66 && (second === 0x63 || second === 0x64) && ip.indexOf(':') === 4;
};

/**
 * The network a call came through: its VPC endpoint's id, `PUBLIC_ENDPOINT` for a call from a public address that no
 * endpoint carried, and undefined when the record says neither: a service's call (`AWS Internal`), or a private
 * address without the endpoint's id (another account's copy of a cross-account call may leave it out).
 */
export const networkOf = (e: { readonly vpcEndpointId?: string | undefined; readonly sourceIp?: string | undefined }): string | undefined => {
  if (e.vpcEndpointId !== undefined) return e.vpcEndpointId;
  const ip = e.sourceIp;
  return ip !== undefined && ip !== '' && looksLikeIpAddress(ip) && !isPrivateAddress(ip) ? PUBLIC_ENDPOINT : undefined;
};

/**
 * The network of the S3 request the principal sent behind a call S3 made for it (`principalsS3RequestOf`: not a
 * presigned URL's or a POST form's); undefined for any other call.
 */
export const s3RequestNetworkOf = (e: KmsCall): string | undefined => {
  const request = principalsS3RequestOf(e);
  return request === undefined ? undefined : networkOf(request);
};

/** An IP address as 16-bit groups: two for IPv4, eight for IPv6. */
interface IpAddress {
  readonly family: 4 | 6;
  readonly groups: readonly number[];
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

const parseIpv4Octets = (text: string): number[] | undefined => {
  const m = IPV4.exec(text);
  if (m === null) return undefined;
  const octets = m.slice(1).map((part) => (part.length > 1 && part.startsWith('0') ? Number.NaN : Number(part)));
  return octets.every((o) => o >= 0 && o <= 255) ? octets : undefined;
};

const parseIpv6Groups = (text: string): number[] | undefined => {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groupsOf = (part: string): number[] | undefined => {
    if (part === '') return [];
    const pieces = part.split(':');
    const out: number[] = [];
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i] as string;
      // An IPv4 address may end the text (`::ffff:192.0.2.1`): two groups.
      if (i === pieces.length - 1 && piece.includes('.')) {
        const octets = parseIpv4Octets(piece);
        if (octets === undefined) return undefined;
        out.push(((octets[0] as number) << 8) | (octets[1] as number), ((octets[2] as number) << 8) | (octets[3] as number));
      } else if (HEX_GROUP.test(piece)) out.push(Number.parseInt(piece, 16));
      else return undefined;
    }
    return out;
  };
  const head = groupsOf(halves[0] as string);
  const tail = halves.length === 2 ? groupsOf(halves[1] as string) : [];
  if (head === undefined || tail === undefined) return undefined;
  if (halves.length === 1) return head.length === 8 ? head : undefined;
  // `::` stands for one or more groups of zeros.
  const missing = 8 - head.length - tail.length;
  return missing >= 1 ? [...head, ...new Array<number>(missing).fill(0), ...tail] : undefined;
};

/** An IPv4 or IPv6 address in its usual text forms; undefined for anything else (a name, a zone id, a range). */
export const parseIpAddress = (text: string): IpAddress | undefined => {
  const octets = parseIpv4Octets(text);
  if (octets !== undefined) return { family: 4, groups: [((octets[0] as number) << 8) | (octets[1] as number), ((octets[2] as number) << 8) | (octets[3] as number)] };
  if (!text.includes(':')) return undefined;
  const groups = parseIpv6Groups(text);
  return groups === undefined ? undefined : { family: 6, groups };
};

/** A range of addresses: an address and how many of its leading bits every address of the range shares. */
export interface IpRange {
  readonly family: 4 | 6;
  readonly groups: readonly number[];
  readonly prefixBits: number;
}

/** `10.0.0.0/8`, `2001:db8::/32`, or one address (all its bits); undefined for anything else. */
export const parseIpRange = (text: string): IpRange | undefined => {
  const slash = text.indexOf('/');
  const address = parseIpAddress(slash < 0 ? text : text.slice(0, slash));
  if (address === undefined) return undefined;
  const allBits = address.groups.length * 16;
  if (slash < 0) return { ...address, prefixBits: allBits };
  const prefix = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > allBits) return undefined;
  return { ...address, prefixBits: Number(prefix) };
};

/** True when `ip` (an address as CloudTrail writes it) is one of the range's. */
export const isInIpRange = (ip: string, range: IpRange): boolean => {
  const address = parseIpAddress(ip);
  return address !== undefined && isAddressInRange(address, range);
};

const isAddressInRange = (address: IpAddress, range: IpRange): boolean => {
  if (address.family !== range.family) return false;
  let bits = range.prefixBits;
  for (let i = 0; bits > 0; i++, bits -= 16) {
    const mask = bits >= 16 ? 0xffff : (0xffff << (16 - bits)) & 0xffff;
    if (((address.groups[i] as number) & mask) !== ((range.groups[i] as number) & mask)) return false;
  }
  return true;
};

/** A VPC endpoint's id as AWS writes it. */
const VPC_ENDPOINT_ID = /^vpce-[0-9a-f]{8,17}$/;

/** Whether a text is a VPC endpoint's id as AWS writes it (`vpce-` and 8 to 17 hexadecimal digits). */
export const isVpcEndpointId = (text: string): boolean => VPC_ENDPOINT_ID.test(text);

/** An entry of `allowedNetworks`: a VPC endpoint's id, or an address range. */
export const isNetworkEntry = (text: string): boolean => isVpcEndpointId(text) || parseIpRange(text) !== undefined;

/**
 * An allow-list of networks compiled once: a call is in it when the VPC endpoint it came through is listed, or
 * the address it came from is in a listed range (through an endpoint, the caller's private address).
 */
export interface NetworkList {
  readonly entries: readonly string[];
  allows(vpcEndpointId: string | undefined, sourceIp: string | undefined): boolean;
}

export const compileNetworkList = (entries: readonly string[]): NetworkList => {
  const endpoints = new Set(entries.filter(isVpcEndpointId));
  const ranges = entries.flatMap((e) => {
    const range = isVpcEndpointId(e) ? undefined : parseIpRange(e);
    return range === undefined ? [] : [range];
  });
  return {
    entries,
    allows: (vpcEndpointId, sourceIp) => {
      if (vpcEndpointId !== undefined && endpoints.has(vpcEndpointId)) return true;
      const address = sourceIp !== undefined && ranges.length > 0 ? parseIpAddress(sourceIp) : undefined;
      return address !== undefined && ranges.some((range) => isAddressInRange(address, range));
    },
  };
};
