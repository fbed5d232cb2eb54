// Publishing records to a JetStream subject: each waits for its PubAck (stored in the stream), a
// bounded number in flight. The record's key (an event_id) is the message id, so a record published
// twice within the stream's duplicate window (a retried HTTP request) is stored once.

import { type JetStreamClient, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { AdpipeError } from '../../errors.js';
import type { PublishRecord, StreamPublisher, StreamUrl } from '../stream/broker.js';
import { connectNats, streamOf } from './jetstream.js';

/** Publishes awaiting their PubAck at once: enough to keep the connection busy. */
const IN_FLIGHT = 256;

export class NatsPublisher implements StreamPublisher {
  private constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly subject: string,
  ) {}

  static async open(url: StreamUrl): Promise<NatsPublisher> {
    if (/[*>]/.test(url.name))
      throw new AdpipeError('ADP_ERR_CONFIG', [`${url.shown}: cannot publish to a wildcard subject`]);
    const nc = await connectNats(url, 'publisher');
    try {
      await streamOf(await jetstreamManager(nc), url);
    } catch (err) {
      await nc.close();
      throw err;
    }
    return new NatsPublisher(nc, jetstream(nc), url.name);
  }

  async publish(records: readonly PublishRecord[]): Promise<void> {
    let next = 0;
    const lane = async () => {
      while (next < records.length) {
        const record = records[next++]!;
        await this.js.publish(this.subject, record.value, { msgID: record.key });
      }
    };
    await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, records.length) }, lane));
  }

  async close(): Promise<void> {
    await this.nc.close();
  }
}
