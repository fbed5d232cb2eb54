/**
 * The real Apache Kafka broker that scripts/services.sh starts: messages produced with acks=all and
 * idempotence come back from a consumer, each exactly once and in order within its partition.
 * The Kafka source's conformance tests will build on this; in CI a missing broker fails here.
 */
import { randomUUID } from 'node:crypto';
import { type Admin, ProduceAcks, Producer, stringSerializers } from '@platformatic/kafka';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTopic, kafkaAdmin, readBack } from '../helpers/kafka.js';
import { describeWith, kafkaBroker } from '../helpers/services.js';

const PARTITIONS = 3;
const MESSAGES = 300;

(await describeWith('kafka'))('Apache Kafka broker', () => {
  const topic = `adpipe-test-${randomUUID()}`;
  let admin: Admin;

  beforeAll(async () => {
    admin = kafkaAdmin();
    await createTopic(admin, topic, PARTITIONS);
  });

  afterAll(async () => {
    await admin.deleteTopics({ topics: [topic] });
    await admin.close();
  });

  it('gives back every produced message once, in order per partition', async () => {
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

    const received = (await readBack(topic, MESSAGES)).map((m) => ({
      partition: m.partition,
      key: m.key.toString(),
      value: m.value.toString(),
    }));

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
