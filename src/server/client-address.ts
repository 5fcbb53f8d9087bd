import type { IncomingMessage } from 'node:http';
import ipaddr from 'ipaddr.js';
import proxyAddr from 'proxy-addr';

/**
 * The client's address: the socket's, or from X-Forwarded-For when the hops in between are
 * trusted proxies (proxy-addr, as Express does it). A spoofed header from an untrusted peer is ignored.
 */
export function createClientAddress(trustedProxies: readonly string[]): (req: IncomingMessage) => string | null {
  const trust = proxyAddr.compile([...trustedProxies]);
  return (req) => {
    if (!req.socket?.remoteAddress) return null;
    try {
      return proxyAddr(req, trust);
    } catch {
      return req.socket.remoteAddress;
    }
  };
}

/**
 * What per-address limits count a client under: an IPv4 address (an IPv4-mapped IPv6 one
 * unwrapped), or an IPv6 address's /64, the block one subscriber gets: counting single IPv6
 * addresses would give one host 2^64 budgets.
 */
export function addressKey(address: string | null): string | null {
  if (address === null || !ipaddr.isValid(address)) return address;
  const parsed = ipaddr.process(address);
  if (parsed.kind() === 'ipv4') return parsed.toString();
  return `${(parsed as ipaddr.IPv6).toNormalizedString().split(':').slice(0, 4).join(':')}::/64`;
}
