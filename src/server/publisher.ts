// The broker a publishing collector (`serve --publish URL`) publishes to, found by the URL's scheme
// (src/sources/stream/brokers.ts).

import type { Broker, StreamPublisher, StreamUrl } from '../sources/stream/broker.js';
import { brokerOf, parseStreamUrl } from '../sources/stream/brokers.js';

/**
 * Brokers standing in for brokers.ts's by scheme: only test/collector/publish-cli.ts sets one, until
 * the Kafka broker is merged (the lead then removes this and uses brokerOf alone).
 */
export const brokerOverrides = new Map<string, Broker>();

/** Opens the publisher of a broker URL; the URL takes no query parameters. */
export async function openPublisher(url: string): Promise<{ publisher: StreamPublisher; broker: StreamUrl }> {
  const scheme = url.slice(0, Math.max(0, url.indexOf('://')));
  const broker = brokerOverrides.get(scheme) ?? brokerOf(url);
  const parsed = parseStreamUrl(url, broker, []);
  return { publisher: await broker.publisher(parsed), broker: parsed };
}
