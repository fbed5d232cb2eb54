// Readiness of a publishing collector: whether its broker takes connections. The publisher's own
// connection state is not part of the StreamPublisher contract, and a probe that needs no traffic
// also tells a load balancer when a broker is back.

import type { StreamUrl } from '../sources/stream/broker.js';
import { tcpReachable } from '../util/tcp.js';

const PROBE_MS = 1000;

/** Some host of the URL accepts a TCP connection within a second. */
export async function brokerReachable(url: StreamUrl): Promise<boolean> {
  const answers = await Promise.all(url.hosts.map(reachable));
  return answers.includes(true);
}

function reachable(hostPort: string): Promise<boolean> {
  const colon = hostPort.lastIndexOf(':');
  const host = hostPort.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  return tcpReachable(host, Number(hostPort.slice(colon + 1)), PROBE_MS);
}
