/**
 * Stateless collectors (`adpipe serve --publish URL`) against the real Redis (Streams) and NATS
 * (JetStream) of the machine, as publish.test.ts does for Kafka: two collectors side by side
 * publish each accepted record of a batch, a pixel and a signed click, and rejects not at all; a
 * retry to the other collector is stored again (Redis) or dropped by the broker (NATS); over a slow
 * link the answer waits for the broker's acknowledgement; while the broker is cut off they answer
 * 503 and are not ready, and they recover once it is back; readiness follows the client's
 * connection with no request sent, even where the broker's address still takes connections; and
 * `adpipe stream --from` the same URL loads into a warehouse whose report equals what was accepted.
 */
import { randomUUID } from 'node:crypto';
import { type JetStreamManager, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { createClient } from 'redis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { micros } from '../helpers/money.js';
import { describeWith, type ServiceName, serviceEndpoint, testServices } from '../helpers/services.js';
import { makeTempDir } from '../helpers/tmp.js';
import { runCli } from '../pipeline/fixtures.js';
import {
  BrokerProxy,
  type Collector,
  deadLetterIds,
  ev,
  expectBrokerDown,
  ndjson,
  post,
  sendPixelAndClick,
  servePair,
  servePublishing,
} from './publishing.js';

/** How late the slow link delivers what a collector writes to its broker. */
const DELAY_MS = 400;

/** A message as the broker holds it: the event_id it is keyed by, and its text. */
interface Stored {
  key: string;
  value: string;
}

/** One broker under test: its publish URL and how the test reads back what the collectors published. */
interface BrokerCase {
  service: Extract<ServiceName, 'redis' | 'nats'>;
  title: string;
  /** The publish URL over host:port (the broker's own address, or a proxy's). */
  url(host: string, port: number): string;
  open(): Promise<void>;
  /** Every message of the stream/subject, in the broker's order. */
  messages(): Promise<Stored[]>;
  close(): Promise<void>;
  /**
   * Whether a record published again under the same event_id (a client's retry to another
   * collector, whose recent ids do not know it) is stored again.
   */
  storesRetries: boolean;
}

function redisCase(): BrokerCase {
  const key = `adpipe-publish-${randomUUID()}`;
  const redis = createClient({ url: testServices.redisUrl, RESP: 2 });
  return {
    service: 'redis',
    title: 'Redis Streams',
    url: (host, port) => `redis://${host}:${port}/${key}`,
    open: async () => {
      redis.on('error', () => undefined);
      await redis.connect();
    },
    messages: async () => {
      const entries = await redis.sendCommand<Array<[string, string[]]>>(['XRANGE', key, '-', '+']);
      return entries.map(([, fields]) => {
        expect(fields[0]).toBe('event');
        // An entry has no key: the event's own id stands for it.
        const value = fields[1]!;
        return { key: (JSON.parse(value) as { event_id: string }).event_id, value };
      });
    },
    close: async () => {
      await redis.sendCommand(['DEL', key]);
      await redis.close();
    },
    // XADD appends whatever comes: a repeat is dropped only by the loader's seen_ids.
    storesRetries: true,
  };
}

function natsCase(): BrokerCase {
  const tag = randomUUID().replaceAll('-', '');
  const subject = `adpipe.publish.${tag}`;
  // Named in the URL and absent: the first collector creates it (the second finds it, or races it).
  const stream = `ADPIPE_PUBLISH_${tag}`;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  return {
    service: 'nats',
    title: 'NATS JetStream',
    url: (host, port) => `nats://${host}:${port}/${subject}?stream=${stream}`,
    open: async () => {
      nc = await connect({ servers: new URL(testServices.natsUrl).host });
      jsm = await jetstreamManager(nc);
    },
    messages: async () => {
      const { state } = await jsm.streams.info(stream);
      if (state.messages === 0) return [];
      const seqs = Array.from(
        { length: state.last_seq - state.first_seq + 1 },
        (_, i) => state.first_seq + i,
      );
      const stored = await Promise.all(seqs.map((seq) => jsm.streams.getMessage(stream, { seq })));
      return stored.map((m) => ({ key: m!.header.get('Nats-Msg-Id'), value: m!.string() }));
    },
    close: async () => {
      await jsm?.streams.delete(stream).catch(() => undefined);
      await nc?.close();
    },
    // The event_id is the message id: JetStream drops a repeat within its duplicate window (2 min).
    storesRetries: false,
  };
}

for (const broker of [redisCase(), natsCase()]) {
  (await describeWith(broker.service))(`serve --publish (${broker.title})`, () => {
    const endpoint = serviceEndpoint(broker.service);
    const publishUrl = broker.url(endpoint.host, endpoint.port);
    const shared = makeTempDir('publish');
    let a: Collector;
    let b: Collector;
    /** Every event a collector accepted (and so acknowledged) in this suite, by event_id. */
    const accepted = new Map<string, Record<string, unknown>>();

    /** The messages of each key. */
    const byKey = async () => {
      const out = new Map<string, Stored[]>();
      for (const m of await broker.messages()) out.set(m.key, [...(out.get(m.key) ?? []), m]);
      return out;
    };
    const count = async () => (await broker.messages()).length;

    beforeAll(async () => {
      await broker.open();
      [a, b] = await servePair(publishUrl, shared);
    }, 60_000);

    afterAll(async () => {
      for (const c of [a, b]) c?.child.kill('SIGKILL');
      await broker.close();
    });

    it('publishes each accepted record, a pixel and a signed click once before answering; rejects are answered, not published', async () => {
      const ids = Array.from({ length: 60 }, (_, i) => `pub-${i}-${randomUUID()}`);
      const sent = new Map(
        ids.map((id, i) => [
          id,
          i < 30 ? ev(id, 'impression', { revenue: `0.0${i}7` }) : ev(id, 'click', { campaign_id: 'c 1' }),
        ]),
      );
      // The clicks with a space after each comma: not plain lines, so published normalised.
      const body = [
        ...ids.slice(0, 30).map((id) => JSON.stringify(sent.get(id))),
        JSON.stringify({ event_id: 'bad-1', type: 'impression' }),
        ...ids.slice(30).map((id) => JSON.stringify(sent.get(id)).replaceAll(',', ', ')),
        JSON.stringify(ev('bad-2', 'impression', { revenue: '-1' })),
      ].join('\n');
      const res = await post(a, body);
      expect(res.status).toBe(200);
      // Right after the answer: the broker already holds all of them (the stream is fresh).
      const got = await byKey();
      const answer = (await res.json()) as {
        accepted: number;
        rejected: number;
        errors: { index: number }[];
      };
      expect(answer).toMatchObject({ accepted: 60, rejected: 2 });
      expect(answer.errors.map((e) => e.index)).toEqual([30, 61]);
      expect([...got.keys()].sort()).toEqual([...ids].sort());
      for (const id of ids) expect(got.get(id)).toHaveLength(1);
      // The spool's text: a plain line as it came, any other record normalised.
      for (const id of ids.slice(0, 30)) expect(got.get(id)![0]!.value).toBe(JSON.stringify(sent.get(id)));
      for (const id of ids.slice(30))
        expect(JSON.parse(got.get(id)![0]!.value)).toEqual({ ...sent.get(id), revenue: '0.001000' });
      for (const [id, e] of sent) accepted.set(id, e);
      expect(deadLetterIds(shared)).toEqual(['bad-1', 'bad-2']);

      const { tag, clickId } = await sendPixelAndClick(a, b);
      const all = await broker.messages();
      expect(all).toHaveLength(62);
      const mine = all
        .map((m) => JSON.parse(m.value) as Record<string, unknown>)
        .filter((e) => e.media_id === tag);
      expect(mine.map((e) => e.type).sort()).toEqual(['click', 'impression']);
      expect(mine.find((e) => e.type === 'click')!.event_id).toBe(clickId);
      for (const e of mine) accepted.set(e.event_id as string, e);
      // Keyed by event_id (NATS: the message id).
      for (const m of all) expect((JSON.parse(m.value) as { event_id: string }).event_id).toBe(m.key);
    });

    it(`a retry to the same collector is answered as duplicates; to the other one it is ${broker.storesRetries ? 'stored again' : 'dropped by the broker'}`, async () => {
      const ids = Array.from({ length: 40 }, (_, i) => `retry-${i}-${randomUUID()}`);
      const body = ndjson(ids.map((id) => ev(id)));
      expect(await (await post(a, body)).json()).toMatchObject({ accepted: 40 });
      for (const id of ids) accepted.set(id, ev(id));
      const before = await count();
      expect(await (await post(a, body)).json()).toMatchObject({ accepted: 0, duplicates: 40 });
      expect(await count()).toBe(before);
      // b has not seen these ids: it accepts and publishes them again.
      expect(await (await post(b, body)).json()).toMatchObject({ accepted: 40, duplicates: 0 });
      const got = await byKey();
      // Redis: a second entry each (the loader's seen_ids drops it, see the last test). NATS: the
      // PubAck says duplicate and the stream keeps one message (within the 2-minute window).
      for (const id of ids) expect(got.get(id)).toHaveLength(broker.storesRetries ? 2 : 1);
      expect(await count()).toBe(before + (broker.storesRetries ? 40 : 0));
    });

    it('answers only once the broker has the records: over a link that delays them, not sooner', async () => {
      const proxy = await BrokerProxy.to(endpoint);
      await proxy.open({ delayMs: DELAY_MS });
      const c = await servePublishing(broker.url('127.0.0.1', proxy.port));
      try {
        const batch = Array.from({ length: 20 }, (_, i) => ev(`slow-${i}-${randomUUID()}`));
        const started = performance.now();
        const res = await post(c, ndjson(batch));
        expect(res.status).toBe(200);
        // A publisher that answered once its writes were sent (not acknowledged) would be early,
        // and the broker would not hold them yet.
        expect(performance.now() - started).toBeGreaterThanOrEqual(DELAY_MS);
        const got = await byKey();
        for (const e of batch) expect(got.get(e.event_id)).toHaveLength(1);
        for (const e of batch) accepted.set(e.event_id, e);
      } finally {
        c.child.kill('SIGKILL');
        await proxy.close();
      }
    }, 30_000);

    it('answers 503 and is not ready while its broker is cut off, then recovers', async () => {
      const proxy = await BrokerProxy.to(endpoint);
      await proxy.open();
      // A Redis or NATS publisher connects when the collector starts, so the broker is there then.
      const c = await servePublishing(broker.url('127.0.0.1', proxy.port), { publish_timeout_ms: 1500 });
      try {
        const up = ev(`up-${randomUUID()}`);
        expect((await post(c, ndjson([up]))).status).toBe(200);
        accepted.set(up.event_id, up);
        expect((await fetch(`${c.url}/readyz`)).status).toBe(200);

        await proxy.close();
        const ids = await expectBrokerDown(c);

        await proxy.open();
        // Ready again once the refused publish is 5 s old (its Retry-After) and the broker takes
        // connections; by then the client has reconnected, and the first retry is taken. (A NATS
        // publish the client had discarded at its reconnection used to hold back every later one for
        // 10 s, answered 503 at their 1.5 s timeout while /readyz said 200.)
        await expect.poll(async () => (await fetch(`${c.url}/readyz`)).status, { timeout: 15_000 }).toBe(200);
        const retry = await post(c, ndjson(ids.map((id) => ev(id))));
        expect(retry.status).toBe(200);
        expect(await retry.json()).toMatchObject({ accepted: 10 });
        for (const id of ids) accepted.set(id, ev(id));
        // Once each: the refused send wrote nothing (Redis fails a command at once while disconnected,
        // with no offline queue; the NATS client discards what it has not written when it reconnects).
        const got = await byKey();
        for (const id of ids) expect(got.get(id)).toHaveLength(1);
      } finally {
        c.child.kill('SIGKILL');
        await proxy.close();
      }
    }, 90_000);

    it('is not ready while its connection is down, with no request sent, though the address takes connections; ready once it is back', async () => {
      const proxy = await BrokerProxy.to(endpoint);
      await proxy.open();
      const shown = broker.url('127.0.0.1', proxy.port);
      const c = await servePublishing(shown);
      const readyz = async () => {
        const res = await fetch(`${c.url}/readyz`);
        return {
          status: res.status,
          checks: ((await res.json()) as { checks: Record<string, string> }).checks,
        };
      };
      try {
        expect((await readyz()).status).toBe(200);
        await proxy.hang();
        // The client's connection drops at once; the TCP probe still says ok, and nothing was published.
        await expect.poll(readyz, { timeout: 3000, interval: 100 }).toEqual({
          status: 503,
          checks: {
            broker: 'ok',
            broker_connection: expect.stringContaining(`the connection to ${shown} is down`),
          },
        });
        await proxy.close();
        await proxy.open();
        await expect
          .poll(readyz, { timeout: 15_000, interval: 200 })
          .toEqual({ status: 200, checks: { broker: 'ok' } });
        const back = ev(`back-${randomUUID()}`);
        expect((await post(c, ndjson([back]))).status).toBe(200);
        accepted.set(back.event_id, back);
      } finally {
        c.child.kill('SIGKILL');
        await proxy.close();
      }
    }, 60_000);

    it('starts before its broker: not ready and 503 until the broker takes connections, then takes requests', async () => {
      // Nothing listens on the proxy's port until it opens: the broker is not there at start.
      const proxy = await BrokerProxy.to(endpoint);
      const c = await servePublishing(broker.url('127.0.0.1', proxy.port), { publish_timeout_ms: 1500 });
      try {
        const ids = await expectBrokerDown(c);
        await proxy.open();
        // A refused request starts a connection attempt at once; the collector never restarts.
        await expect
          .poll(async () => (await post(c, ndjson(ids.map((id) => ev(id))))).status, {
            timeout: 30_000,
            interval: 500,
          })
          .toBe(200);
        for (const id of ids) accepted.set(id, ev(id));
        await expect.poll(async () => (await fetch(`${c.url}/readyz`)).status, { timeout: 15_000 }).toBe(200);
        const got = await byKey();
        for (const id of ids) expect(got.get(id)).toHaveLength(1);
        expect(c.child.exitCode).toBeNull();
      } finally {
        c.child.kill('SIGKILL');
        await proxy.close();
      }
    }, 90_000);

    it('`adpipe stream --from` the same URL loads what was accepted, each event once', async () => {
      const dataDir = makeTempDir('publish-load');
      const load = await runCli(dataDir, ['stream', '--from', publishUrl, '--until-idle', '2s']);
      expect(load.stderr).toBe('');
      expect(load.code).toBe(0);
      const copies = (await count()) - accepted.size;
      expect(copies).toBe(broker.storesRetries ? 40 : 0);
      expect(load.stdout).toContain(`events accepted ${accepted.size} / duplicates ${copies} / rejected 0`);

      const report = await runCli(dataDir, ['report', 'ad', '--grain', 'total', '--format', 'json']);
      expect(report.code).toBe(0);
      const { rows } = JSON.parse(report.stdout) as { rows: Array<Record<string, unknown>> };
      const events = [...accepted.values()];
      const total = (measure: string) => rows.reduce((sum, r) => sum + Number(r[measure]), 0);
      expect(total('impressions')).toBe(events.filter((e) => e.type === 'impression').length);
      expect(total('clicks')).toBe(events.filter((e) => e.type === 'click').length);
      expect(rows.reduce((sum, r) => sum + micros(r.revenue), 0n)).toBe(
        events.reduce((sum, e) => sum + micros(e.revenue), 0n),
      );
    }, 60_000);
  });
}
