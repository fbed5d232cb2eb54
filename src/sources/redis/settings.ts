// What a `redis://[user:pass@]host:6379/<stream>?group=…&consumer=…&field=…&claim_idle_ms=…` URL
// says, and the connections made from it. The path is the stream's key, not a database number.

import { createClient } from 'redis';
import { AdpipeError } from '../../errors.js';
import { componentLogger } from '../../logger.js';
import type { StreamUrl } from '../stream/broker.js';

const log = componentLogger('redis');

export const REDIS_READER_PARAMS = ['group', 'consumer', 'field', 'claim_idle_ms'] as const;

export interface RedisSettings {
  host: string;
  port: number;
  user: string | undefined;
  password: string | undefined;
  /** The stream's key: also the key of the source's positions. */
  key: string;
  group: string;
  consumer: string;
  /** The entry field holding the event (or NDJSON of several). */
  field: string;
  /** Pending entries of other consumers idle this long are claimed at open. */
  claimIdleMs: number;
  /** The URL without its password, for logs. */
  shown: string;
}

/** A consumer that stopped a minute ago is gone; one that is loading a batch is not. */
const DEFAULT_CLAIM_IDLE_MS = 60_000;

/** The URL's settings; `name` (the source's) is the default consumer, stable per loader. */
export function redisSettings(url: StreamUrl, name: string): RedisSettings {
  const bad = (why: string) => new AdpipeError('ADP_ERR_CONFIG', [`${url.shown}: ${why}`]);
  if (url.hosts.length !== 1) throw bad('one Redis host only (no cluster)');
  const [, host = '', port = ''] = /^\[?(.*?)\]?:(\d+)$/.exec(url.hosts[0]!) ?? [];
  const text = (param: string, fallback: string) => {
    const value = url.params.get(param) ?? fallback;
    if (value === '') throw bad(`${param} is empty`);
    return value;
  };
  const idle = text('claim_idle_ms', String(DEFAULT_CLAIM_IDLE_MS));
  if (!/^\d+$/.test(idle)) throw bad(`claim_idle_ms takes milliseconds, got ${idle}`);
  return {
    host,
    port: Number(port),
    user: url.user,
    password: url.password,
    key: url.name,
    group: text('group', 'adpipe'),
    consumer: text('consumer', name),
    field: text('field', 'event'),
    claimIdleMs: Number(idle),
    shown: url.shown,
  };
}

/** How many times a first connection is tried before the error is the caller's. */
const FIRST_CONNECT_TRIES = 5;

/**
 * A connected client speaking RESP2 (a stream read is then a plain array, no map decoding).
 * Once connected it reconnects by itself with backoff; the first connection gives up after a few
 * tries, so a finite run against a Redis that is not there fails instead of waiting forever.
 */
export async function connectRedis(settings: RedisSettings, role: 'reads' | 'commands' | 'publish') {
  let ready = false;
  const client = createClient({
    RESP: 2,
    // Shown by CLIENT LIST, so an operator sees which loader holds which connection.
    name: `adpipe-${role}:${settings.group}:${settings.consumer}`.replace(/\s/g, '_'),
    username: settings.user,
    password: settings.password,
    // While disconnected a command fails at once, never waits for the reconnection: a read is
    // retried by the source, an XACK is repeated at the next open, a publish is the caller's to
    // retry, and stop() never waits for a Redis that is away.
    disableOfflineQueue: true,
    socket: {
      host: settings.host,
      port: settings.port,
      reconnectStrategy: (retries, cause) =>
        !ready && retries >= FIRST_CONNECT_TRIES ? cause : Math.min(100 * 2 ** retries, 5000),
    },
  });
  client.on('ready', () => {
    ready = true;
  });
  // Without a listener an 'error' event would end the process; the client reconnects by itself.
  client.on('error', (err: unknown) => log.warn({ err, redis: settings.shown }, 'redis connection error'));
  await client.connect();
  return client;
}

export type RedisConnection = Awaited<ReturnType<typeof connectRedis>>;
