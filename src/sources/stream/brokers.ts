// The brokers adpipe reads and publishes to, by URL scheme, and their URLs' parsing: one module per
// broker under src/sources/<kind>/ implements broker.ts.

import { AdpipeError } from '../../errors.js';
import { kafkaBroker } from '../kafka/broker.js';
import { natsBroker } from '../nats/broker.js';
import { redisBroker } from '../redis/broker.js';
import type { Broker, StreamPublisher, StreamUrl } from './broker.js';

const BROKERS: readonly Broker[] = [kafkaBroker, redisBroker, natsBroker];

/** The broker of a URL's scheme, or ADP_ERR_CONFIG listing the known ones. */
export function brokerOf(url: string): Broker {
  const scheme = url.slice(0, Math.max(0, url.indexOf('://')));
  const broker = BROKERS.find((b) => b.scheme === scheme);
  if (!broker)
    throw new AdpipeError('ADP_ERR_CONFIG', [
      `${redact(url)}: not a stream URL (${BROKERS.map((b) => `${b.scheme}://`).join(', ')})`,
    ]);
  return broker;
}

/**
 * `scheme://[user:pass@]host[:port][,host[:port]…]/name?params`: several hosts (Kafka's bootstrap
 * list) are not one URL authority, so the authority is split by hand before URL parses the rest.
 */
export function parseStreamUrl(url: string, broker: Broker, allowed: readonly string[]): StreamUrl {
  const bad = (why: string) => new AdpipeError('ADP_ERR_CONFIG', [`${redact(url)}: ${why}`]);
  const rest = url.slice(broker.scheme.length + 3);
  const slash = rest.search(/[/?]/);
  const authority = slash === -1 ? rest : rest.slice(0, slash);
  const at = authority.lastIndexOf('@');
  const hostList = authority.slice(at + 1);
  if (hostList === '') throw bad('no host');
  const hosts = hostList.split(',').map((h) => (/:\d+$/.test(h) ? h : `${h}:${broker.defaultPort}`));
  const parsed = new URL(
    `${broker.scheme}://${authority.slice(0, at + 1)}placeholder${slash === -1 ? '' : rest.slice(slash)}`,
  );
  const name = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (name === '') throw bad('no topic, stream or subject after the host');
  for (const key of parsed.searchParams.keys())
    if (!allowed.includes(key))
      throw bad(`unknown parameter ${key} (${allowed.length ? allowed.join(', ') : 'none taken'})`);
  const credential = (part: string) => (part === '' ? undefined : decodeURIComponent(part));
  return {
    scheme: broker.scheme,
    hosts,
    name,
    params: parsed.searchParams,
    user: credential(parsed.username),
    password: credential(parsed.password),
    shown: redact(url),
  };
}

/**
 * A broker URL to publish to, parsed (a bad URL fails here), and how to open its publisher. The
 * reader's parameters are accepted, so one URL serves both ends; a publisher uses those it needs (a
 * Redis field, a NATS stream).
 */
export function publishTarget(url: string): { url: StreamUrl; open(): Promise<StreamPublisher> } {
  const broker = brokerOf(url);
  const parsed = parseStreamUrl(url, broker, broker.readerParams);
  return { url: parsed, open: () => broker.publisher(parsed) };
}

/** The publisher of a broker URL, connected (`generate --to`, the benchmarks). */
export async function openPublisher(url: string): Promise<{ publisher: StreamPublisher; url: StreamUrl }> {
  const target = publishTarget(url);
  return { publisher: await target.open(), url: target.url };
}

/**
 * The URL without its password, for messages and logs: up to the authority's last `@`, as
 * parseStreamUrl reads it, so a password with an unencoded `@` is hidden whole.
 */
export function redact(url: string): string {
  return url.replace(/^([^:/?]*:\/\/[^/?@:]*):[^/?]*@/, '$1:***@');
}
