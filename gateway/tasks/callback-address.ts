import { BlockList, isIP } from 'node:net';

/**
 * IPv4 ranges that are not globally reachable (IANA special-purpose registry): "this network",
 * private, CGNAT, loopback, link-local, protocol assignments, documentation, benchmarking,
 * multicast, reserved and broadcast.
 */
const IPV4_INTERNAL: readonly (readonly [string, number])[] = [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
];

/** IPv6 ranges that are not globally reachable, besides the IPv4-embedding forms handled below. */
const IPV6_INTERNAL: readonly (readonly [string, number])[] = [
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001::', 23],
  ['2001:db8::', 32],
  ['3fff::', 20],
  ['5f00::', 16],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
];

const ipv4Hex = (address: string): [string, string] => {
  const [a, b, c, d] = address.split('.').map(Number) as [number, number, number, number];
  return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
};

function buildInternal(): BlockList {
  const list = new BlockList();
  for (const [network, prefix] of IPV4_INTERNAL) {
    list.addSubnet(network, prefix, 'ipv4');
    // The same IPv4 ranges written as IPv6: mapped (::ffff:a.b.c.d), translated (::ffff:0:a.b.c.d),
    // compatible (::a.b.c.d), NAT64 (64:ff9b::a.b.c.d) and 6to4 (2002:aabb:ccdd::).
    for (const form of ['::ffff:', '::ffff:0:', '::', '64:ff9b::']) list.addSubnet(`${form}${network}`, 96 + prefix, 'ipv6');
    const [high, low] = ipv4Hex(network);
    list.addSubnet(`2002:${high}:${low}::`, 16 + prefix, 'ipv6');
  }
  for (const [network, prefix] of IPV6_INTERNAL) list.addSubnet(network, prefix, 'ipv6');
  return list;
}

const INTERNAL = buildInternal();

/** `[::1]` (a URL's hostname) -> `::1`; other strings unchanged. */
export function unbracket(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/**
 * True for an IP address a callback may reach without an allowance: not loopback,
 * private, link-local, CGNAT, multicast, unspecified, broadcast, reserved, nor any of
 * those written in an IPv6 form. Anything that is not an IP address is false.
 */
export function isPublicAddress(address: string): boolean {
  const bare = unbracket(address);
  const family = isIP(bare);
  if (family === 0) return false;
  return !INTERNAL.check(bare, family === 4 ? 'ipv4' : 'ipv6');
}
