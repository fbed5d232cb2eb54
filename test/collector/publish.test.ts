/**
 * Stateless collectors (`adpipe serve --publish kafka://…`) against the real Kafka broker: two of them
 * side by side take batches, pixels and clicks, publish each accepted event once per send keyed by
 * its event_id (so a retry to the other collector lands in the same partition), answer only once
 * the broker has the records, answer rejects per record without publishing them, and answer 503
 * (not ready) while their broker is unreachable, until it is back.
 */
import { randomUUID } from 'node:crypto';
import { Admin, Consumer, type Message, stringDeserializers } from '@platformatic/kafka';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith, kafkaBroker, serviceEndpoint } from '../helpers/services.js';
import { makeTempDir } from '../helpers/tmp.js';
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
  stopped,
} from './publishing.js';

const PARTITIONS = 4;

(await describeWith('kafka'))('serve --publish (Kafka)', () => {
  const topic = `adpipe-publish-${randomUUID()}`;
  const publishUrl = `kafka://${kafkaBroker()}/${topic}`;
  let admin: Admin;
  let reader: Consumer<string, string, string, string>;
  /** Every message of the topic, as read by a consumer running through the whole file. */
  const messages: Message<string, string, string, string>[] = [];
  let reading: Promise<void> | undefined;
  let a: Collector;
  let b: Collector;
  const shared = makeTempDir('publish');

  /** Records in the topic now, as the broker counts them (the sum of the partitions' end offsets). */
  const published = async (): Promise<number> => {
    const offsets = await reader.listOffsets({ topics: [topic] });
    return (offsets.get(topic) ?? []).reduce((sum, o) => sum + Number(o), 0);
  };
  /** The messages read so far of each event id, once at least `n` messages have been read. */
  const byId = async (n: number) => {
    await expect.poll(() => messages.length, { timeout: 20_000, interval: 100 }).toBeGreaterThanOrEqual(n);
    const out = new Map<string, Message<string, string, string, string>[]>();
    for (const m of messages) out.set(m.key, [...(out.get(m.key) ?? []), m]);
    return out;
  };

  beforeAll(async () => {
    admin = new Admin({ clientId: 'adpipe-test-admin', bootstrapBrokers: [kafkaBroker()] });
    await admin.createTopics({ topics: [topic], partitions: PARTITIONS, replicas: 1 });
    // A produce answered NOT_LEADER right after the topic's creation fails to parse: wait for leaders.
    for (let waited = 0; ; waited += 100) {
      const meta = await admin.metadata({ topics: [topic], forceUpdate: true });
      if (meta.topics.get(topic)?.partitions.filter((p) => p.leader >= 0).length === PARTITIONS) break;
      if (waited > 20_000) throw new Error(`${topic}: partitions without a leader after 20 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
    reader = new Consumer({
      clientId: 'adpipe-test-reader',
      groupId: `adpipe-test-${randomUUID()}`,
      bootstrapBrokers: [kafkaBroker()],
      deserializers: stringDeserializers,
    });
    const stream = await reader.consume({
      topics: [topic],
      mode: 'earliest',
      autocommit: false,
      maxWaitTime: 200,
    });
    reading = (async () => {
      for await (const m of stream) messages.push(m);
    })().catch(() => undefined);
    [a, b] = await servePair(publishUrl, shared);
  }, 60_000);

  afterAll(async () => {
    for (const c of [a, b]) c?.child.kill('SIGKILL');
    await reader?.close(true);
    await reading;
    await admin?.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin?.close();
  });

  it('publishes each accepted record once, keyed by event_id, before answering; rejects are answered, not published', async () => {
    const ids = Array.from({ length: 200 }, (_, i) => `pub-${i}-${randomUUID()}`);
    const sent = new Map(
      ids.map((id, i) => [id, i < 100 ? ev(id) : ev(id, 'click', { campaign_id: 'c 1' })]),
    );
    // The clicks with a space after each comma: not plain lines (see plainLineEvent).
    const body = [
      ...ids.slice(0, 100).map((id) => JSON.stringify(sent.get(id))),
      JSON.stringify({ event_id: 'bad-1', type: 'impression' }),
      ...ids.slice(100).map((id) => JSON.stringify(sent.get(id)).replaceAll(',', ', ')),
      JSON.stringify(ev('bad-2', 'impression', { revenue: '-1' })),
    ].join('\n');
    const before = await published();
    const res = await post(a, body);
    expect(res.status).toBe(200);
    // Right after the answer: the broker already holds all of them.
    const after = await published();
    const answer = (await res.json()) as {
      accepted: number;
      rejected: number;
      errors: { index: number; code: string }[];
    };
    expect(answer).toMatchObject({ accepted: 200, rejected: 2 });
    expect(answer.errors.map((e) => e.index)).toEqual([100, 201]);
    expect(after - before).toBe(200);

    const got = await byId(after);
    for (const id of ids) {
      expect(got.get(id)?.length).toBe(1);
    }
    // The spool's text: a plain line as it came, any other record normalised.
    for (const id of ids.slice(0, 100)) expect(got.get(id)![0]!.value).toBe(JSON.stringify(sent.get(id)));
    for (const id of ids.slice(100))
      expect(JSON.parse(got.get(id)![0]!.value)).toEqual({ ...sent.get(id), revenue: '0.001000' });
    expect(got.has('bad-1')).toBe(false);
    expect(got.has('bad-2')).toBe(false);
    // …but in the collector's dead letters.
    expect(deadLetterIds(shared)).toEqual(['bad-1', 'bad-2']);
    // Keys spread over the partitions.
    expect(new Set(ids.map((id) => got.get(id)![0]!.partition)).size).toBe(PARTITIONS);
  });

  it('a client retry to the other collector lands in the same partition; a retry to the same one is a duplicate', async () => {
    const ids = Array.from({ length: 100 }, (_, i) => `retry-${i}-${randomUUID()}`);
    const body = ndjson(ids.map((id) => ev(id)));
    expect(((await (await post(a, body)).json()) as { accepted: number }).accepted).toBe(100);
    const again = (await (await post(a, body)).json()) as { accepted: number; duplicates: number };
    expect(again).toMatchObject({ accepted: 0, duplicates: 100 });
    const before = await published();
    const other = (await (await post(b, body)).json()) as { accepted: number };
    expect(other.accepted).toBe(100);
    const after = await published();
    expect(after - before).toBe(100);
    const got = await byId(after);
    for (const id of ids) {
      const copies = got.get(id)!;
      // Once per send that published it (a, then b), never more.
      expect(copies).toHaveLength(2);
      expect(copies[1]!.partition).toBe(copies[0]!.partition);
    }
  });

  it('takes many concurrent requests, each published once (an idempotent producer allows no overtaking)', async () => {
    const batches = Array.from({ length: 24 }, (_, r) =>
      Array.from({ length: 500 }, (_, i) => ev(`conc-${r}-${i}-${randomUUID()}`)),
    );
    const before = await published();
    const answers = await Promise.all(batches.map((batch) => post(b, ndjson(batch))));
    expect(answers.map((res) => res.status)).toEqual(batches.map(() => 200));
    const after = await published();
    expect(after - before).toBe(24 * 500);
    const got = await byId(after);
    for (const batch of batches) for (const e of batch) expect(got.get(e.event_id)).toHaveLength(1);
  });

  it('publishes pixels and signed clicks', async () => {
    const before = await published();
    const { tag, clickId } = await sendPixelAndClick(a, b);
    const after = await published();
    expect(after - before).toBe(2);
    const got = await byId(after);
    const tagged = [...got.values()].flat().map((m) => JSON.parse(m.value) as Record<string, string>);
    const mine = tagged.filter((e) => e.media_id === tag);
    expect(mine.map((e) => e.type).sort()).toEqual(['click', 'impression']);
    expect(got.get(clickId)).toHaveLength(1);
  });

  it('answers 503 and is not ready while its broker is unreachable, then recovers', async () => {
    const proxy = await BrokerProxy.to(serviceEndpoint('kafka'));
    const c = await servePublishing(`kafka://127.0.0.1:${proxy.port}/${topic}`, { publish_timeout_ms: 3000 });
    try {
      const ids = await expectBrokerDown(c);

      await proxy.open();
      await expect.poll(async () => (await fetch(`${c.url}/readyz`)).status, { timeout: 10_000 }).toBe(200);
      // The client retries until the broker has them.
      await expect
        .poll(async () => (await post(c, ndjson(ids.map((id) => ev(id))))).status, {
          timeout: 30_000,
          interval: 500,
        })
        .toBe(200);
      const got = await byId(messages.length);
      await expect
        .poll(() => ids.every((id) => messages.some((m) => m.key === id)), { timeout: 10_000 })
        .toBe(true);
      expect(got).toBeDefined();

      await proxy.close();
      await expect.poll(async () => (await fetch(`${c.url}/readyz`)).status, { timeout: 10_000 }).toBe(503);
    } finally {
      c.child.kill('SIGKILL');
      await proxy.close();
    }
  }, 90_000);

  it('waits for the broker: a hanging publish is answered 503 at its timeout, and requests over the bound of events in flight get 503 with Retry-After', async () => {
    const proxy = await BrokerProxy.to(serviceEndpoint('kafka'));
    await proxy.open({ silent: true });
    const c = await servePublishing(`kafka://127.0.0.1:${proxy.port}/${topic}`, {
      publish_max_in_flight: 5,
      publish_timeout_ms: 1500,
    });
    try {
      const hanging = post(c, ndjson(Array.from({ length: 10 }, (_, i) => ev(`hang-${i}-${randomUUID()}`))));
      await expect
        .poll(async () => {
          const res = await post(c, ndjson([ev(`over-${randomUUID()}`)]));
          return { status: res.status, retry: res.headers.get('retry-after'), body: await res.json() };
        })
        .toMatchObject({
          status: 503,
          retry: '5',
          body: { error: { code: 'ADP_ERR_COLLECTOR_OVERLOADED' } },
        });
      const timedOut = await hanging;
      expect(timedOut.status).toBe(503);
      expect(((await timedOut.json()) as { error: { code: string } }).error.code).toBe(
        'ADP_ERR_COLLECTOR_BROKER_UNAVAILABLE',
      );
      // The broker takes connections, but the last publish failed: not ready.
      const ready = (await (await fetch(`${c.url}/readyz`)).json()) as { checks: Record<string, string> };
      expect(ready.checks).toMatchObject({ broker: 'ok', publish: expect.stringMatching(/failed/) });
    } finally {
      c.child.kill('SIGKILL');
      await proxy.close();
    }
  });

  it('on SIGTERM finishes the request in flight, publishes it and exits 0', async () => {
    const ids = Array.from({ length: 5000 }, (_, i) => `term-${i}-${randomUUID()}`);
    const answer = post(a, ndjson(ids.map((id) => ev(id))));
    // The request reaches the server (its validation takes a while) before the signal does.
    await new Promise((r) => setTimeout(r, 100));
    a.child.kill('SIGTERM');
    const res = await answer;
    expect(res.status).toBe(200);
    expect(((await res.json()) as { accepted: number }).accepted).toBe(5000);
    expect(await stopped(a)).toBe(0);
    await byId(0);
    await expect
      .poll(() => ids.every((id) => messages.some((m) => m.key === id)), { timeout: 20_000 })
      .toBe(true);
  });
});
