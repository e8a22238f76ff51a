import { BlockList, isIPv4, isIPv6 } from 'node:net'

/** Loopback, private (RFC 1918, RFC 4193) and link-local ranges: addresses that are not on the internet. */
const PRIVATE = new BlockList()
for (const [network, prefix] of [['127.0.0.0', 8], ['10.0.0.0', 8], ['172.16.0.0', 12], ['192.168.0.0', 16], ['169.254.0.0', 16]] as const) {
  PRIVATE.addSubnet(network, prefix, 'ipv4')
}
for (const [network, prefix] of [['::1', 128], ['fc00::', 7], ['fe80::', 10]] as const) {
  PRIVATE.addSubnet(network, prefix, 'ipv6')
}

const MAPPED_V4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i

/** True for a loopback, private or link-local address (IPv4, IPv6, or IPv4 mapped into IPv6); false for anything else. */
export function isPrivateAddress (address: string): boolean {
  const v4 = MAPPED_V4.exec(address)?.[1] ?? address
  if (isIPv4(v4)) return PRIVATE.check(v4, 'ipv4')
  return isIPv6(address) && PRIVATE.check(address, 'ipv6')
}
