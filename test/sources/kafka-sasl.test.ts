/**
 * Kafka URLs with credentials and TLS against the real broker's SASL_PLAINTEXT (9094) and SASL_SSL
 * (9095) listeners (scripts/services.sh): events published with SCRAM by `generate --to` and by a
 * publishing collector, loaded by `stream --from` with PLAIN and with SCRAM over TLS; a refused
 * password or an untrusted certificate ends with a configuration error that names the broker and
 * never the password; a URL whose credentials and mechanism do not go together is refused before
 * any connection. No skip: a listener that is not there fails these tests.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Admin } from '@platformatic/kafka';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lakeRelation } from '../../src/lake/lake.js';
import { kafkaBroker } from '../../src/sources/kafka/broker.js';
import { securityOptions } from '../../src/sources/kafka/security.js';
import { parseStreamUrl } from '../../src/sources/stream/brokers.js';
import { createStreamSource } from '../../src/sources/stream/config.js';
import { Warehouse } from '../../src/warehouse/warehouse.js';
import { ev, ndjson, post, servePublishing, stopped } from '../collector/publishing.js';
import { createTopic, kafkaAdmin, readBack } from '../helpers/kafka.js';
import { testServices } from '../helpers/services.js';
import { makeTempDir } from '../helpers/tmp.js';

const CLI = path.resolve('test/collector/cli.ts');
const PASSWORD = new URL(testServices.kafkaSaslUrl).password;
const WRONG = 'not-the-password-9f3c';
const { kafkaSaslUrl: SASL, kafkaTlsUrl: TLS, kafkaTlsCa: CA } = testServices;

/** `adpipe` in a child process on its own data dir. */
function cli(dataDir: string, ...args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', CLI, '--data-dir', dataDir, ...args], {
    encoding: 'utf8',
    timeout: 60_000,
  });
}

/** The event ids the warehouse of dataDir loaded, sorted. */
async function loadedIds(dataDir: string): Promise<string[]> {
  const wh = await Warehouse.open(dataDir);
  try {
    const rows = await wh.all<{ event_id: string }>(`SELECT event_id FROM ${await lakeRelation(wh)}`);
    return rows.map((r) => r.event_id).sort();
  } finally {
    wh.close();
  }
}

/** A refusal as adpipe reports it: a configuration error naming the broker, never the password. */
function expectRefused(r: ReturnType<typeof cli>, broker: string, why: RegExp) {
  expect(r.signal).toBeNull();
  expect(r.stderr).toMatch(/ADP_ERR_CONFIG/);
  expect(r.stderr).toContain(broker);
  expect(r.stderr).toMatch(why);
  expect(r.stderr).not.toContain(WRONG);
  expect(r.stderr).not.toContain(PASSWORD);
  expect(r.status).toBe(2);
}

describe('kafka URLs with SASL and TLS', () => {
  let admin: Admin;
  const topics: string[] = [];
  const newTopic = async (prefix: string) => {
    const topic = `adpipe-test-sasl-${prefix}-${randomUUID().slice(0, 8)}`;
    await createTopic(admin, topic, 2);
    topics.push(topic);
    return topic;
  };

  beforeAll(() => {
    admin = kafkaAdmin();
  });
  afterAll(async () => {
    if (topics.length > 0) await admin.deleteTopics({ topics });
    await admin.close();
  });

  it('publishes with SCRAM-SHA-256 (generate --to), loads with PLAIN and with SCRAM-SHA-512 over TLS', async () => {
    const topic = await newTopic('load');
    const gen = cli(
      makeTempDir('kafka-sasl-gen'),
      'generate',
      '--to',
      `${SASL}/${topic}?sasl=scram-sha-256`,
      ...'--events 400 --start 2025-05-05T00:00:00Z --hours 2'.split(' '),
    );
    expect(gen.stderr).toBe('');
    expect(gen.status).toBe(0);
    // The summary names the broker without the password.
    expect(gen.stdout).toContain('kafka://adpipe:***@127.0.0.1:9094/');
    expect(gen.stdout).not.toContain(PASSWORD);
    const published = Number(/published (\d+) records/.exec(gen.stdout)![1]);
    const produced = (await readBack(topic, published)).map((m) => m.key.toString()).sort();
    expect(produced.length).toBeGreaterThan(300);

    for (const url of [
      `${SASL}/${topic}?sasl=plain`,
      `${TLS}/${topic}?sasl=scram-sha-512&tls_ca=${encodeURIComponent(CA)}`,
    ]) {
      const dataDir = makeTempDir('kafka-sasl-load');
      const r = cli(dataDir, 'stream', '--from', url, '--until-idle', '2s');
      expect(r.stderr).not.toContain(PASSWORD);
      expect(r.status).toBe(0);
      expect(await loadedIds(dataDir)).toEqual(produced);
    }
  }, 180_000);

  it('a publishing collector publishes through SCRAM-SHA-512', async () => {
    const topic = await newTopic('collector');
    const collector = await servePublishing(`${SASL}/${topic}?sasl=scram-sha-512`);
    try {
      const ids = [randomUUID(), randomUUID(), randomUUID()];
      const res = await post(collector, ndjson(ids.map((id) => ev(id))));
      expect(res.status).toBe(200);
      const keys = (await readBack(topic, ids.length)).map((m) => m.key.toString());
      expect(keys.sort()).toEqual([...ids].sort());
    } finally {
      collector.child.kill('SIGTERM');
      expect(await stopped(collector)).toBe(0);
    }
  }, 60_000);

  it('a refused password ends stream, generate and serve --publish with a config error, no password shown', async () => {
    const topic = await newTopic('refused');
    const url = SASL.replace(`:${PASSWORD}@`, `:${WRONG}@`);
    const refused = /the broker refused the credentials of user adpipe \(sasl=scram-sha-512\)/;
    const dir = makeTempDir('kafka-sasl-refused');
    expectRefused(
      cli(dir, 'stream', '--from', `${url}/${topic}?sasl=scram-sha-512`, '--until-idle', '1s'),
      '127.0.0.1:9094',
      refused,
    );
    expectRefused(
      cli(dir, 'generate', '--to', `${url}/${topic}?sasl=scram-sha-512`, '--events', '10'),
      '127.0.0.1:9094',
      refused,
    );
    expectRefused(
      cli(dir, 'serve', '--port', '0', '--publish', `${url}/${topic}?sasl=scram-sha-512`),
      '127.0.0.1:9094',
      refused,
    );
  }, 120_000);

  it("TLS with the system's CAs refuses the test CA's certificate, naming tls_ca", async () => {
    const topic = await newTopic('untrusted');
    expectRefused(
      cli(
        makeTempDir('kafka-tls'),
        'stream',
        '--from',
        `${TLS}/${topic}?sasl=plain&tls=true`,
        '--until-idle',
        '1s',
      ),
      '127.0.0.1:9095',
      /the broker's TLS certificate is not trusted \(SELF_SIGNED_CERT_IN_CHAIN\): give its CA with tls_ca=/,
    );
  }, 60_000);

  it('refuses credentials without a mechanism, a mechanism without credentials, and unknown values', () => {
    const source = (url: string) => () =>
      createStreamSource({ type: 'kafka', url, batch_events: 1, batch_ms: 1 });
    const host = '127.0.0.1:9094/t';
    expect(source(`kafka://adpipe:s3cret@${host}`)).toThrow(
      /^invalid configuration: kafka:\/\/adpipe:\*\*\*@127\.0\.0\.1:9094\/t: user:password@ needs sasl= naming the broker's mechanism \(plain, scram-sha-256, scram-sha-512\)$/,
    );
    expect(source(`kafka://${host}?sasl=plain`)).toThrow(/sasl=plain needs the user and password in the URL/);
    expect(source(`kafka://adpipe@${host}?sasl=plain`)).toThrow(/sasl=plain needs the user and password/);
    expect(source(`kafka://adpipe:s3cret@${host}?sasl=gssapi`)).toThrow(
      /sasl must be one of plain, scram-sha-256, scram-sha-512, got gssapi/,
    );
    expect(source(`kafka://${host}?tls=yes`)).toThrow(/tls must be true or false, got yes/);
    expect(source(`kafka://${host}?tls=false&tls_ca=/x.pem`)).toThrow(
      /tls_ca is a CA for TLS, but tls=false/,
    );
    expect(source(`kafka://${host}?tls_ca=/nonexistent/ca.pem`)).toThrow(
      /cannot read tls_ca \/nonexistent\/ca\.pem/,
    );
    // SNI (which managed services route by) for host names, not for IP addresses.
    const sni = (hosts: string) =>
      securityOptions(parseStreamUrl(`kafka://${hosts}/t?tls=true`, kafkaBroker, kafkaBroker.readerParams))
        .tlsServerName;
    expect([
      sni('b1.example.com,b2.example.com:9093'),
      sni('b1.example.com,10.0.0.5'),
      sni('[::1]:9095'),
    ]).toEqual([true, false, false]);
    // A password with an unencoded @ is hidden whole.
    expect(source(`kafka://adpipe:p@ss@${host}`)).toThrow(
      /^invalid configuration: kafka:\/\/adpipe:\*\*\*@127\.0\.0\.1:9094\/t: /,
    );
  });
});
