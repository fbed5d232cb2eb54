// Publishing records to a JetStream subject, each acknowledged by the stream (its PubAck) before
// publish() resolves. Messages go out as plain publishes with a reply subject per call, a bounded
// number awaiting their PubAck, which one subscription counts: the client's request-per-message
// publish (a promise, an inbox entry and a timer each) is several times slower. The record's key
// (an event_id) is the message id, so a record published twice within the stream's duplicate
// window (a retried HTTP request) is stored once. While the connection is down a call fails at
// once, and the calls in flight when it drops fail then: the client discards what it had not written
// when it reconnects, so their PubAcks would never come, and waiting for ACK_TIMEOUT_MS would hold
// back every publish behind them (a collector's requests) after the server is back. The status
// events also drive the publisher's link (a collector's /readyz).

import { jetstreamManager } from '@nats-io/jetstream';
import { createInbox, headers, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { AdpipeError } from '../../errors.js';
import type { PublishRecord, StreamPublisher, StreamUrl } from '../stream/broker.js';
import { BrokerLink } from '../stream/link.js';
import { connectNats, streamOf } from './jetstream.js';

/** Messages of one call awaiting their PubAck at once. */
const IN_FLIGHT = 4096;
/** A call fails when no PubAck has come for this long (a lost connection, a stalled server). */
const ACK_TIMEOUT_MS = 10_000;

interface Call {
  acked(): void;
  fail(err: Error): void;
}

export class NatsPublisher implements StreamPublisher {
  private readonly inbox = createInbox();
  private readonly calls = new Map<number, Call>();
  private nextCall = 0;
  /** The connection as its status events last told (it reconnects by itself). */
  readonly link = new BrokerLink();

  private constructor(
    private readonly nc: NatsConnection,
    private readonly subject: string,
  ) {
    void this.followStatus();
    nc.subscribe(`${this.inbox}.*`, {
      callback: (_err, msg) => {
        // A call that failed already is no longer listed: its late PubAcks are dropped.
        const call = this.calls.get(Number(msg.subject.slice(this.inbox.length + 1)));
        if (!call) return;
        const problem = pubAckProblem(msg);
        if (problem) call.fail(new Error(`JetStream refused a message on ${subject}: ${problem}`));
        else call.acked();
      },
    });
  }

  /** Tracks the connection; a drop fails the calls in flight, whose PubAcks will never come. */
  private async followStatus(): Promise<void> {
    for await (const status of this.nc.status()) {
      if (status.type === 'reconnect') this.link.restored();
      // 'reconnecting' (each attempt) follows a 'disconnect': the link is down already.
      if (status.type !== 'disconnect') continue;
      this.link.lost(`disconnected from ${status.server}, reconnecting`);
      const lost = new Error(`lost the connection to NATS (${status.server}) before every PubAck came`);
      for (const call of this.calls.values()) call.fail(lost);
    }
  }

  static async open(url: StreamUrl): Promise<NatsPublisher> {
    if (/[*>]/.test(url.name))
      throw new AdpipeError('ADP_ERR_CONFIG', [`${url.shown}: cannot publish to a wildcard subject`]);
    const nc = await connectNats(url, 'publisher');
    try {
      await streamOf(await jetstreamManager(nc), url);
      const publisher = new NatsPublisher(nc, url.name);
      await nc.flush();
      return publisher;
    } catch (err) {
      await nc.close();
      throw err;
    }
  }

  async publish(records: readonly PublishRecord[]): Promise<void> {
    if (records.length === 0) return;
    if (this.link.down !== undefined)
      throw new Error(`not connected to NATS: ${this.subject} is not published to`);
    const id = this.nextCall++;
    const reply = `${this.inbox}.${id}`;
    let sent = 0;
    let acked = 0;
    let watch: NodeJS.Timeout | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        const call: Call = {
          acked: () => {
            acked++;
            if (acked === records.length) resolve();
            else send();
          },
          fail: reject,
        };
        const send = () => {
          try {
            while (sent < records.length && sent - acked < IN_FLIGHT) {
              const record = records[sent++]!;
              const h = headers();
              h.set('Nats-Msg-Id', record.key);
              this.nc.publish(this.subject, record.value, { reply, headers: h });
            }
          } catch (err) {
            reject(err);
          }
        };
        let seen = 0;
        watch = setInterval(() => {
          if (acked === seen)
            reject(new Error(`no PubAck from JetStream on ${this.subject} for ${ACK_TIMEOUT_MS} ms`));
          seen = acked;
        }, ACK_TIMEOUT_MS);
        this.calls.set(id, call);
        send();
      });
    } finally {
      clearInterval(watch);
      this.calls.delete(id);
    }
  }

  async close(): Promise<void> {
    await this.nc.close();
  }
}

/** Why the reply is no PubAck: a status (503: no stream captures the subject) or a JetStream error. */
function pubAckProblem(msg: Msg): string | undefined {
  if (msg.headers?.hasError) return `${msg.headers.code} ${msg.headers.description}`;
  try {
    const ack = msg.json<{ error?: { description?: string } }>();
    return ack.error ? (ack.error.description ?? 'error') : undefined;
  } catch {
    return `not a PubAck: ${msg.string().slice(0, 100)}`;
  }
}
