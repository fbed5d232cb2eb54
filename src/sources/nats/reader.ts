// A JetStream subject read through a durable pull consumer, for the stream source. The warehouse's
// committed stream sequence is the truth: on open the consumer is recreated to deliver right after
// it, and a reader that may have missed a delivery recreates it again after what it returned. The
// consumer acks all up to a sequence (AckAll): one ack per batch, after its commit.

import {
  AckPolicy,
  type Consumer,
  type ConsumerMessages,
  DeliverPolicy,
  type JetStreamManager,
  type JsMsg,
  jetstream,
  jetstreamManager,
} from '@nats-io/jetstream';
import { type NatsConnection, nanos } from '@nats-io/transport-node';
import { AdpipeError } from '../../errors.js';
import { componentLogger } from '../../logger.js';
import type { Positions } from '../source.js';
import type { StreamMessage, StreamReader, StreamUrl } from '../stream/broker.js';
import {
  connectNats,
  deleteConsumer,
  message,
  natsName,
  requireLimitsRetention,
  streamOf,
} from './jetstream.js';

const log = componentLogger('nats');

/**
 * Redelivery is never what brings a message back (a restart recreates the consumer, a missed
 * delivery makes the reader recreate it), so ack_wait only has to outlast a message's wait in the
 * source's read-ahead and its batch's load.
 */
const ACK_WAIT_MS = 5 * 60_000;
/** Pulls failing in a row that read() reports (each one recreates the consumer). */
const FAILURES_REPORTED = 3;
/**
 * One pull request's life; read() returns what came meanwhile. The client gives up on a pull after
 * two of its idle heartbeats (half this) are missed: 5 s outlasts a busy machine's event-loop stalls.
 */
const FETCH_EXPIRES_MS = 5000;

export class NatsReader implements StreamReader {
  readonly label: string;
  private readonly durable: string;
  private nc: NatsConnection | undefined;
  private jsm: JetStreamManager | undefined;
  private consumer: Consumer | undefined;
  /** The JetStream stream's name: the key of the positions. */
  private stream = '';
  /** The highest stream sequence committed or returned: nothing at or below it is returned again. */
  private floor = 0;
  /** The floor the consumer was created after: what is at or below it came from one deleted since. */
  private createdAfter = 0;
  /** The consumer's last delivery sequence seen: a jump means a delivery was lost on the way. */
  private delivered = 0;
  private ready: JsMsg[] = [];
  /**
   * The last message of each read, by stream sequence (ascending), until an acknowledgement covers
   * it. AckAll needs one message at or before a batch's end, not every message: holding each one
   * would hold its payload (and the socket chunk it is a view of) until its batch commits.
   */
  private handles = new Map<number, JsMsg>();
  private fetching: Promise<void> | undefined;
  private current: ConsumerMessages | undefined;
  private failure: unknown;
  /** Pulls failed in a row. */
  private failures = 0;
  private resyncNeeded = false;
  private arrived: (() => void) | undefined;

  constructor(
    private readonly url: StreamUrl,
    private readonly name: string,
  ) {
    this.label = `nats:${url.name}`;
    this.durable = url.params.get('durable') ?? natsName(name);
  }

  async open(committed: Positions): Promise<void> {
    try {
      this.nc = await connectNats(this.url, this.name);
    } catch (err) {
      throw new AdpipeError('ADP_ERR_SOURCE_UNREADABLE', [this.url.shown, message(err)], { cause: err });
    }
    try {
      this.jsm = await jetstreamManager(this.nc);
      const info = await streamOf(this.jsm, this.url);
      requireLimitsRetention(this.url, info);
      this.stream = info.config.name;
      this.floor = Number(committed[this.stream] ?? 0);
      const { first_seq: first, last_seq: last } = info.state;
      if (last < this.floor)
        throw new AdpipeError('ADP_ERR_CONFIG', [
          `${this.url.shown}: stream ${this.stream} ends at sequence ${last} but source ${this.name} committed up to ${this.floor}: the stream was recreated; read it under a new source name (--name) to load it from its start (event ids already loaded are still skipped)`,
        ]);
      if (this.floor > 0 && first > this.floor + 1)
        log.warn(
          { source: this.name, stream: this.stream, from: this.floor + 1, to: first - 1 },
          'messages after the committed position are gone from the stream (its limits or a purge): they cannot be loaded',
        );
      await this.position();
    } catch (err) {
      await this.nc.close();
      throw err;
    }
  }

  /**
   * (Re)creates the durable consumer delivering right after `floor`. Its deliver policy cannot be
   * changed in place, and what it remembers is not the truth anyway: it is deleted and created.
   */
  private async position(): Promise<void> {
    const jsm = this.jsm!;
    await deleteConsumer(jsm, this.stream, this.durable);
    const start =
      this.floor > 0
        ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: this.floor + 1 }
        : { deliver_policy: DeliverPolicy.All };
    try {
      await jsm.consumers.add(this.stream, {
        durable_name: this.durable,
        filter_subject: this.url.name,
        ack_policy: AckPolicy.All,
        ack_wait: nanos(ACK_WAIT_MS),
        // Unbounded on the server: each pull asks only for the source's free read-ahead room.
        max_ack_pending: -1,
        ...start,
      });
    } catch (err) {
      throw new AdpipeError(
        'ADP_ERR_CONFIG',
        [`${this.url.shown}: cannot create consumer ${this.durable} on ${this.stream}: ${message(err)}`],
        { cause: err },
      );
    }
    this.consumer = await jetstream(this.nc!).consumers.get(this.stream, this.durable);
    this.createdAfter = this.floor;
    this.delivered = 0;
  }

  async read(max: number, waitMs: number): Promise<StreamMessage[]> {
    const until = performance.now() + waitMs;
    for (;;) {
      if (this.failure !== undefined) {
        // A pull that failed may have lost deliveries: start again after what was returned. Once
        // is weather (missed heartbeats on a busy machine, a consumer deleted under it); failing
        // again at once is the caller's to see.
        const err = this.failure;
        this.failure = undefined;
        this.resyncNeeded = true;
        if (++this.failures >= FAILURES_REPORTED) throw err;
        log.warn(
          { err, source: this.name, stream: this.stream },
          'JetStream pull failed; recreating the consumer',
        );
      }
      if (this.resyncNeeded) await this.resync();
      if (!this.fetching && this.ready.length < max) this.fetch(max - this.ready.length);
      const taken = this.take(max);
      if (taken.length > 0) return taken;
      if (this.resyncNeeded) continue;
      const left = until - performance.now();
      if (left <= 0) return [];
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.arrived = resolve;
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
      this.arrived = undefined;
      // The rest of the socket read that brought it is queued behind: take them together.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** One pull request for n messages; they go to `ready` as they come, read() takes them from there. */
  private fetch(n: number): void {
    const pull = async () => {
      try {
        this.current = await this.consumer!.fetch({ max_messages: n, expires: FETCH_EXPIRES_MS });
        for await (const m of this.current) {
          this.ready.push(m);
          this.arrived?.();
        }
        this.failures = 0;
      } catch (err) {
        this.failure = err;
      }
    };
    this.fetching = pull().finally(() => {
      this.fetching = undefined;
      this.current = undefined;
      this.arrived?.();
    });
  }

  /**
   * Up to max of the ready messages, past `floor`: a redelivery of one returned already is skipped
   * (the batch's AckAll covers it). A delivery lost on the way (a jump of the delivery sequence)
   * stops it: what came after is dropped and the consumer is recreated after `floor`.
   */
  private take(max: number): StreamMessage[] {
    const out: StreamMessage[] = [];
    let last: JsMsg | undefined;
    for (const m of this.ready.splice(0, max)) {
      const { deliverySequence, streamSequence } = m.info;
      if (deliverySequence !== this.delivered + 1) {
        log.warn(
          { source: this.name, stream: this.stream, expected: this.delivered + 1, got: deliverySequence },
          'a JetStream delivery was lost; resuming after the last message read',
        );
        this.resyncNeeded = true;
        break;
      }
      this.delivered = deliverySequence;
      if (streamSequence <= this.floor) continue;
      this.floor = streamSequence;
      const data = m.data;
      out.push({
        stream: this.stream,
        position: String(streamSequence),
        next: String(streamSequence),
        value: Buffer.from(data.buffer, data.byteOffset, data.byteLength),
      });
      last = m;
    }
    if (last) this.handles.set(this.floor, last);
    return out;
  }

  private async resync(): Promise<void> {
    this.current?.stop();
    await this.fetching;
    this.ready = [];
    // Messages of the consumer being replaced are not acknowledged (see ack).
    this.handles.clear();
    await this.position();
    this.resyncNeeded = false;
  }

  async ack(messages: readonly StreamMessage[]): Promise<void> {
    // AckAll: acking a message acks all before it, so the last read's end at or before the batch's
    // end is acknowledged (a batch cut by its age ends where a read did; one cut by its count may
    // leave a tail for the next batch's acknowledgement). A message delivered by a consumer deleted
    // since is not acked: the new one would take it as its own and move its floors back.
    const last = messages[messages.length - 1];
    if (!last) return;
    const end = Number(last.position);
    let covering: [number, JsMsg] | undefined;
    for (const [seq, handle] of this.handles) {
      if (seq > end) break;
      covering = [seq, handle];
      this.handles.delete(seq);
    }
    if (covering && covering[0] > this.createdAfter) await covering[1].ackAck();
  }

  async close(): Promise<void> {
    this.current?.stop();
    await this.fetching;
    await this.nc?.close();
  }
}
