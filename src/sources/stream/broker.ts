// What a message broker (Kafka, Redis Streams, NATS JetStream) provides to adpipe: a reader the
// stream source (source.ts) turns into batches, and a publisher for the stateless collector
// (`serve --publish`) and the simulator (`generate --to`). One module per broker under
// src/sources/<kind>/; brokers are found by their URL's scheme (brokers.ts).

import type { Positions } from '../source.js';
import type { BrokerLink } from './link.js';

/** One message as read: where it sits, where to resume after it, and its payload. */
export interface StreamMessage {
  /** The partition / stream it belongs to: a key of the source's positions (`2`, `ads`). */
  stream: string;
  /** Its own position, for its dead-letter address (`<label>/<stream>@<position>`) and unit keys. */
  position: string;
  /**
   * Where to resume once it is committed (Kafka: offset + 1, or past the transaction markers and
   * aborted records that follow it; Redis: its id; NATS: its stream sequence).
   */
  next: string;
  /** The payload: one JSON event or NDJSON of several. Undefined when the message has none. */
  value: Buffer | undefined;
  /** Why value is undefined, as a dead-letter code (`redis.no_field`, `kafka.tombstone`). */
  missing?: string;
  /**
   * No message, only a position: what the broker had from position to next holds nothing to load
   * (Kafka's transaction markers and aborted records, fetched with no record after them). It
   * moves its stream's committed position and nothing else: no line, no dead letter.
   */
  positionOnly?: true;
}

export interface StreamReader {
  /** The prefix of unit keys and dead-letter addresses: `kafka:ads`, `redis:events`, `nats:ADS`. */
  readonly label: string;
  /**
   * Connects and positions each stream after what the warehouse committed (`committed`, from
   * source_positions; absent streams start where the URL says, else at the beginning). Messages at or
   * before a committed position are never returned (they may be acknowledged silently).
   */
  open(committed: Positions): Promise<void>;
  /**
   * Up to max messages, in order within each stream, waiting at most waitMs for the first; [] when
   * none came. Not called again before it resolves.
   */
  read(max: number, waitMs: number): Promise<StreamMessage[]>;
  /**
   * The messages are committed in the warehouse (positions: each stream's next position): tell the
   * broker (commit the offsets, XACK, ack). A failure here is logged and harmless.
   */
  ack(messages: readonly StreamMessage[], positions: Positions): Promise<void>;
  close(): Promise<void>;
}

/** One record to publish: keyed by event_id, so repeats of an id meet in one partition. */
export interface PublishRecord {
  key: string;
  value: Buffer | string;
}

export interface StreamPublisher {
  /** Resolves once the broker has every record durably (Kafka acks=all, a JetStream PubAck, XADD's reply). */
  publish(records: readonly PublishRecord[]): Promise<void>;
  close(): Promise<void>;
  /**
   * The connection as the client reports it (NATS, Redis); absent where the client reports no lasting
   * state (Kafka's connects per request and drops idle connections).
   */
  readonly link?: BrokerLink;
}

/** A broker's URL, parsed: `kafka://h1:9092,h2:9092/topic?partitions=0,1`. */
export interface StreamUrl {
  scheme: string;
  /** host:port entries, default port applied. */
  hosts: string[];
  /** The topic / stream / subject (the URL's path without its slash, decoded). */
  name: string;
  params: URLSearchParams;
  /** The URL's credentials (`user:pass@`), decoded; undefined when absent. */
  user?: string;
  password?: string;
  /** The URL as given, credentials removed, for logs. */
  shown: string;
}

export interface Broker {
  /** The URL scheme: kafka, redis, nats. */
  readonly scheme: string;
  readonly defaultPort: number;
  /** Query parameters the reader takes (anything else is refused, naming it). */
  readonly readerParams: readonly string[];
  reader(url: StreamUrl, options: { name: string }): StreamReader;
  publisher(url: StreamUrl): Promise<StreamPublisher>;
}
