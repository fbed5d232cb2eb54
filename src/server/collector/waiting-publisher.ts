// The broker connection of a publishing collector (`serve --publish`). An orchestrator may start a
// collector before its broker: a broker that takes no connections yet is waited for in the
// background while requests are answered 503 and /readyz names the broker; a broker that takes
// connections but refuses the publisher (credentials, a stream it cannot use) is a configuration
// error, reported at start.

import { componentLogger } from '../../logger.js';
import type { PublishRecord, StreamPublisher, StreamUrl } from '../../sources/stream/broker.js';
import { publishTarget } from '../../sources/stream/brokers.js';
import { BrokerLink } from '../../sources/stream/link.js';
import { brokerReachable } from '../broker-probe.js';

const log = componentLogger('publish');

/** Waits between connection attempts, doubling up to the most; a request starts one at once. */
const RETRY_FIRST_MS = 500;
const RETRY_MOST_MS = 5000;

/** The collector's publisher for a broker URL, connected now or, while the broker is away, later. */
export async function collectorPublisher(
  url: string,
): Promise<{ publisher: StreamPublisher; url: StreamUrl }> {
  const { url: parsed, open } = publishTarget(url);
  try {
    return { publisher: await open(), url: parsed };
  } catch (err) {
    if (await brokerReachable(parsed)) throw err;
    log.warn(
      { err, broker: parsed.shown },
      'the broker takes no connections yet: serving (503 until it does) and connecting in the background',
    );
    return { publisher: new WaitingPublisher(open, parsed.shown), url: parsed };
  }
}

class WaitingPublisher implements StreamPublisher {
  private current: StreamPublisher | undefined;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;
  /** Ends the wait before the next attempt. */
  private wake: (() => void) | undefined;
  private readonly connecting: Promise<void>;
  /** Down until connected, then the connected publisher's. */
  readonly link = new BrokerLink('not connected yet');

  constructor(
    private readonly open: () => Promise<StreamPublisher>,
    private readonly shown: string,
  ) {
    this.connecting = this.connect();
  }

  private async connect(): Promise<void> {
    for (let wait = RETRY_FIRST_MS; !this.closed; wait = Math.min(wait * 2, RETRY_MOST_MS)) {
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        this.timer = setTimeout(resolve, wait);
      });
      this.wake = undefined;
      if (this.closed) return;
      try {
        const publisher = await this.open();
        if (this.closed) {
          await publisher.close();
          return;
        }
        this.current = publisher;
        this.link.follow(publisher.link);
        log.info({ broker: this.shown }, 'connected to the broker');
        return;
      } catch (err) {
        log.warn({ err, broker: this.shown }, 'the broker still takes no connections');
      }
    }
  }

  async publish(records: readonly PublishRecord[]): Promise<void> {
    if (this.current) return this.current.publish(records);
    this.wake?.();
    throw new Error(`not connected to ${this.shown} yet`);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.wake?.();
    await this.connecting;
    await this.current?.close();
  }
}
