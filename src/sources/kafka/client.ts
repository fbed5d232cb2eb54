// What every Kafka client of adpipe shares: its bootstrap brokers, its client id and the URL's
// SASL/TLS (security.ts), the one partitioner that puts an event_id in the same partition whichever
// adpipe process publishes it, and how a broker's error is recognised in what the client throws.

import { ConnectionPool, murmur2, parseBroker } from '@platformatic/kafka';
import { AdpipeError } from '../../errors.js';
import type { StreamUrl } from '../stream/broker.js';
import { type KafkaSecurity, securityOptions } from './security.js';

export type KafkaClientOptions = { clientId: string; bootstrapBrokers: string[] } & KafkaSecurity;

export function clientOptions(url: StreamUrl): KafkaClientOptions {
  return { clientId: 'adpipe', bootstrapBrokers: url.hosts, ...securityOptions(url) };
}

/** Connections of our own to the URL's brokers, with its SASL/TLS: the reader's fetches, signIn. */
export function connectionPool(url: StreamUrl): ConnectionPool {
  const { clientId, bootstrapBrokers: _, ...security } = clientOptions(url);
  return new ConnectionPool(clientId, security);
}

/**
 * Java's default partitioner for keyed records (positive murmur2 of the key, modulo the partition
 * count, which the client applies): the client's own takes the hash unsigned instead, which would
 * send a key elsewhere than a Java or Kafka Streams producer of the same topic.
 */
export function keyPartition(message: { key?: Buffer }): number {
  return message.key === undefined ? 0 : murmur2(message.key) & 0x7fffffff;
}

/**
 * Whether a client error is, aggregates or was caused by the broker's error of that name
 * (`OFFSET_OUT_OF_RANGE`) or an error of that code (the client's `PLT_KFK_AUTHENTICATION`, Node's
 * `SELF_SIGNED_CERT_IN_CHAIN`).
 */
export function hasKafkaError(err: unknown, name: string): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const { apiId, code, errors, cause } = err as {
    apiId?: unknown;
    code?: unknown;
    errors?: unknown;
    cause?: unknown;
  };
  if (apiId === name || code === name) return true;
  return (Array.isArray(errors) && errors.some((e) => hasKafkaError(e, name))) || hasKafkaError(cause, name);
}

/** Node's codes for a broker certificate that the URL's CAs do not vouch for. */
const UNTRUSTED_CERTIFICATE = [
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_HAS_EXPIRED',
];

/**
 * A failed first request as adpipe reports it: refused credentials or an untrusted certificate are
 * the URL's configuration (retrying does not help), named with the URL without its password;
 * anything else (a broker away) is the client's error as it is.
 */
export function connectError(err: unknown, url: StreamUrl): unknown {
  const config = (why: string) => new AdpipeError('ADP_ERR_CONFIG', [`${url.shown}: ${why}`], { cause: err });
  if (hasKafkaError(err, 'PLT_KFK_AUTHENTICATION'))
    return config(
      `the broker refused the credentials of user ${url.user ?? '(none)'} (sasl=${url.params.get('sasl')}): check the user, password and mechanism`,
    );
  const untrusted = UNTRUSTED_CERTIFICATE.find((code) => hasKafkaError(err, code));
  if (untrusted !== undefined)
    return config(
      `the broker's TLS certificate is not trusted (${untrusted}): give its CA with tls_ca=/path/ca.pem`,
    );
  return err;
}

/**
 * Connects and signs in to one of the URL's bootstrap brokers, once: refused credentials or an
 * untrusted certificate fail here (connectError), where a client's request would retry them (an
 * idempotent producer, forever).
 */
export async function signIn(url: StreamUrl): Promise<void> {
  const pool = connectionPool(url);
  try {
    await pool.getFirstAvailable(url.hosts.map((b) => parseBroker(b)));
  } catch (err) {
    throw connectError(err, url);
  } finally {
    await pool.close();
  }
}
