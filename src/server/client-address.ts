// The client's address: the socket's peer, or, with server.trust_proxy, the address the trusted
// proxies in front (a load balancer) forwarded in X-Forwarded-For. Fastify's request.ip and the raw
// pixel path (collector/pixels.ts) take the same trust function, so they agree on every request.

import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import proxyAddr from '@fastify/proxy-addr';

/** server.trust_proxy: trust no proxy, every proxy, or the peers within these addresses/ranges. */
export type TrustProxy = boolean | readonly string[];

type TrustFunction = (address: string, hop: number) => boolean;

const NAMED_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/**
 * Whether `entry` is an IP address, a CIDR range (or IPv4 netmask) or a range proxy-addr names.
 * Only the usual notations: proxy-addr alone would take `2` (a hop count, written as a list) for
 * the address 0.0.0.2.
 */
export function isProxyAddress(entry: string): boolean {
  if (NAMED_RANGES.has(entry)) return true;
  if (isIP(entry.split('/')[0]!) === 0) return false;
  try {
    proxyAddr.compile(entry);
    return true;
  } catch {
    return false;
  }
}

/** Fastify's `trustProxy` for the setting: false, or whether to believe a hop's forwarded address. */
export function trustFunction(setting: TrustProxy): false | TrustFunction {
  if (setting === false) return false;
  if (setting === true) return () => true;
  return proxyAddr.compile([...setting]);
}

/** The client's address of a raw request, as fastify's request.ip gives it under the same setting. */
export function clientAddress(setting: TrustProxy): (req: IncomingMessage) => string | undefined {
  const trust = trustFunction(setting);
  if (!trust) return (req) => req.socket.remoteAddress;
  return (req) => proxyAddr(req, trust);
}
