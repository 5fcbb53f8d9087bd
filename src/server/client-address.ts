import type { IncomingMessage } from 'node:http';
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
