/**
 * The real Apache Kafka broker that scripts/services.sh starts: messages produced with acks=all and
 * idempotence come back from a consumer, each exactly once and in order within its partition.
 * The Kafka source's conformance tests will build on this; in CI a missing broker fails here.
 */
import { randomUUID } from 'node:crypto';
import {
  Admin,
  Consumer,
  type Message,
  ProduceAcks,
  Producer,
  stringDeserializers,
  stringSerializers,
} from '@platformatic/kafka';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith, kafkaBroker } from '../helpers/services.js';

const PARTITIONS = 3;
const MESSAGES = 300;

(await describeWith('kafka'))('Apache Kafka broker', () => {
  const topic = `adpipe-test-${randomUUID()}`;
  let admin: Admin;

  beforeAll(async () => {
    admin = new Admin({ clientId: 'adpipe-test-admin', bootstrapBrokers: [kafkaBroker()] });
    await admin.createTopics({ topics: [topic], partitions: PARTITIONS, replicas: 1 });
  });

  afterAll(async () => {
    await admin.deleteTopics({ topics: [topic] });
    await admin.close();
  });

  it('gives back every produced message once, in order per partition', async () => {
    // Produce only once every partition has a leader: a produce answered NOT_LEADER right after the
    // topic's creation is a response the client fails to parse ("Out of bounds", seen once in CI).
    await expect
      .poll(
        async () => {
          const meta = await admin.metadata({ topics: [topic], forceUpdate: true });
          return meta.topics.get(topic)?.partitions.filter((p) => p.leader >= 0).length ?? 0;
        },
        { timeout: 20_000, interval: 100 },
      )
      .toBe(PARTITIONS);
    const producer = new Producer({
      clientId: 'adpipe-test-producer',
      bootstrapBrokers: [kafkaBroker()],
      serializers: stringSerializers,
      idempotent: true,
      acks: ProduceAcks.ALL,
    });
    const sent = Array.from({ length: MESSAGES }, (_, i) => ({
      key: `user-${i % 17}`,
      value: JSON.stringify({ event_id: `e${i}`, seq: i }),
    }));
    try {
      for (let i = 0; i < sent.length; i += 100) {
        await producer.send({ messages: sent.slice(i, i + 100).map((m) => ({ topic, ...m })) });
      }
    } finally {
      await producer.close();
    }

    const consumer = new Consumer({
      clientId: 'adpipe-test-consumer',
      groupId: `adpipe-test-${randomUUID()}`,
      bootstrapBrokers: [kafkaBroker()],
      deserializers: stringDeserializers,
    });
    const received: Message<string, string, string, string>[] = [];
    try {
      const stream = await consumer.consume({
        topics: [topic],
        mode: 'earliest',
        autocommit: false,
        maxWaitTime: 200,
      });
      for await (const message of stream) {
        received.push(message);
        if (received.length === MESSAGES) break;
      }
      await stream.close();
    } finally {
      await consumer.close(true);
    }

    expect(received.map((m) => m.value).sort()).toEqual(sent.map((m) => m.value).sort());
    // One key always lands in one partition, and a partition hands its records back in offset order.
    const partitionOfKey = new Map<string, number>();
    const lastSeqOfKey = new Map<string, number>();
    for (const m of received) {
      expect(partitionOfKey.get(m.key) ?? m.partition).toBe(m.partition);
      partitionOfKey.set(m.key, m.partition);
      const seq = (JSON.parse(m.value) as { seq: number }).seq;
      expect(seq).toBeGreaterThan(lastSeqOfKey.get(m.key) ?? -1);
      lastSeqOfKey.set(m.key, seq);
    }
    expect(new Set(received.map((m) => m.partition)).size).toBeGreaterThan(1);
  });
});
