// A Kafka URL's connection security (docs/streams.md): SASL with the URL's `user:pass@` and
// `?sasl=plain|scram-sha-256|scram-sha-512`, TLS with `?tls=true` (the system's CAs) or
// `?tls_ca=/path/ca.pem` (a private CA, which implies TLS). Every client and connection pool
// adpipe opens to Kafka takes them through clientOptions (client.ts).

import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { ConnectionOptions, SASLMechanismValue } from '@platformatic/kafka';
import { AdpipeError } from '../../errors.js';
import type { StreamUrl } from '../stream/broker.js';

export const KAFKA_SECURITY_PARAMS = ['sasl', 'tls', 'tls_ca'] as const;

const MECHANISMS: Readonly<Record<string, SASLMechanismValue>> = {
  plain: 'PLAIN',
  'scram-sha-256': 'SCRAM-SHA-256',
  'scram-sha-512': 'SCRAM-SHA-512',
};

export type KafkaSecurity = Pick<ConnectionOptions, 'sasl' | 'tls' | 'tlsServerName'>;

/** The URL's SASL and TLS options; ADP_ERR_CONFIG for credentials without a mechanism or the reverse. */
export function securityOptions(url: StreamUrl): KafkaSecurity {
  const bad = (why: string) => new AdpipeError('ADP_ERR_CONFIG', [`${url.shown}: ${why}`]);
  const security: KafkaSecurity = {};
  const sasl = url.params.get('sasl');
  const names = Object.keys(MECHANISMS).join(', ');
  if (sasl === null) {
    // Sent as nothing, they would reach a SASL listener as a connection that never signs in.
    if (url.user !== undefined)
      throw bad(`user:password@ needs sasl= naming the broker's mechanism (${names})`);
  } else {
    const mechanism = MECHANISMS[sasl.toLowerCase()];
    if (mechanism === undefined) throw bad(`sasl must be one of ${names}, got ${sasl}`);
    if (url.user === undefined || url.password === undefined)
      throw bad(`sasl=${sasl} needs the user and password in the URL (kafka://user:password@host/topic)`);
    security.sasl = { mechanism, username: url.user, password: url.password };
  }
  const tls = url.params.get('tls');
  const ca = url.params.get('tls_ca');
  if (tls !== null && tls !== 'true' && tls !== 'false') throw bad(`tls must be true or false, got ${tls}`);
  if (ca !== null && tls === 'false') throw bad('tls_ca is a CA for TLS, but tls=false');
  if (tls === 'true' || ca !== null) {
    security.tls = ca === null ? {} : { ca: readCa(ca, bad) };
    // The client sends SNI only when asked, and managed services (Confluent Cloud) route by it.
    // Not to IP addresses, which SNI does not allow (Node warns).
    security.tlsServerName = !url.hosts.some(
      (h) => isIP(h.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1')) !== 0,
    );
  }
  return security;
}

function readCa(path: string, bad: (why: string) => AdpipeError): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw bad(`cannot read tls_ca ${path}: ${(err as Error).message}`);
  }
}
