// What the NATS reader and publisher share: the connection to a `nats://` URL's servers and the
// JetStream stream that captures its subject (found by subject, named by `?stream=`, or created).

import {
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
  RetentionPolicy,
  type StreamInfo,
} from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { AdpipeError } from '../../errors.js';
import { componentLogger } from '../../logger.js';
import type { StreamUrl } from '../stream/broker.js';

const log = componentLogger('nats');

/** Deletes of a consumer tried before giving up. */
const DELETE_ATTEMPTS = 5;

export function connectNats(url: StreamUrl, name: string): Promise<NatsConnection> {
  // A broker restart or a network blip is waited out: the client reconnects and resends pulls.
  return connect({
    servers: url.hosts,
    name: `adpipe ${name}`,
    maxReconnectAttempts: -1,
    // The URL's `user:pass@` (untested here: the shared nats-server runs without auth).
    ...(url.user !== undefined && { user: url.user, pass: url.password ?? '' }),
  });
}

/** A JetStream stream or consumer name made of the characters the server takes (no `.`, `*`, `>`, …). */
export function natsName(text: string): string {
  return text.replace(/[^A-Za-z0-9_-]/g, '_');
}

/**
 * The stream holding the URL's subject: `?stream=NAME`, else the one whose subjects capture it,
 * else `ADPIPE_<subject>`; created capturing the subject when absent (file storage, limits
 * retention, the server's default 2-minute duplicate window, no size or age limit).
 */
export async function streamOf(jsm: JetStreamManager, url: StreamUrl): Promise<StreamInfo> {
  const named = url.params.get('stream');
  const name = named ?? (await capturing(jsm, url)) ?? `ADPIPE_${natsName(url.name)}`;
  const existing = await infoOrUndefined(jsm, name);
  if (existing) return existing;
  try {
    const created = await jsm.streams.add({ name, subjects: [url.name] });
    log.info({ stream: name, subject: url.name }, 'JetStream stream created');
    return created;
  } catch (err) {
    // Another adpipe (a publisher, a reader) created it meanwhile; anything else is the config's.
    const raced = await infoOrUndefined(jsm, name);
    if (raced) return raced;
    throw new AdpipeError('ADP_ERR_CONFIG', [`${url.shown}: cannot create stream ${name}: ${message(err)}`], {
      cause: err,
    });
  }
}

/** The one stream whose subjects capture the subject, if any. */
async function capturing(jsm: JetStreamManager, url: StreamUrl): Promise<string | undefined> {
  const names: string[] = [];
  for await (const name of jsm.streams.names(url.name)) names.push(name);
  if (names.length > 1)
    throw new AdpipeError('ADP_ERR_CONFIG', [
      `${url.shown}: streams ${names.join(', ')} each hold part of ${url.name}; name one with ?stream=`,
    ]);
  return names[0];
}

async function infoOrUndefined(jsm: JetStreamManager, name: string): Promise<StreamInfo | undefined> {
  try {
    return await jsm.streams.info(name);
  } catch (err) {
    if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound) return undefined;
    throw err;
  }
}

/**
 * The reader recreates its consumer on every start, which a stream of another retention would pay
 * for in messages: interest retention drops what only the deleted consumer still wanted, and a work
 * queue takes no AckAll consumer.
 */
export function requireLimitsRetention(url: StreamUrl, info: StreamInfo): void {
  if (info.config.retention !== RetentionPolicy.Limits)
    throw new AdpipeError('ADP_ERR_CONFIG', [
      `${url.shown}: stream ${info.config.name} has ${info.config.retention} retention; adpipe reads streams with limits retention (docs/streams.md)`,
    ]);
}

export function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Deletes a consumer if it exists. nats-server 2.9 may answer a delete racing the consumer's own
 * state write with "directory not empty": asked again, it completes.
 */
export async function deleteConsumer(jsm: JetStreamManager, stream: string, name: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await jsm.consumers.delete(stream, name);
      return;
    } catch (err) {
      if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.ConsumerNotFound) return;
      if (attempt === DELETE_ATTEMPTS) throw err;
      await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
    }
  }
}
