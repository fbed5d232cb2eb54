// Readiness of a publishing collector: whether its broker takes connections. A probe that needs no
// traffic tells a load balancer when a broker is back, and it covers Kafka, whose client reports no
// lasting connection state; a publisher whose client does (NATS, Redis) also fails readiness while its
// connection is down (`broker_connection`, src/sources/stream/link.ts), which this probe cannot see
// when the host takes connections but the broker behind it does not answer.

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
