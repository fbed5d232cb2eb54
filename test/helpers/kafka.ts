// Topics for Kafka tests on the real broker: created with their partitions, usable once every
// partition has a leader (a produce answered NOT_LEADER right after creation is a response the
// client fails to parse), deleted by the caller; what a topic holds, read back independently; and
// retention at work, by deleting a partition's first records; where the reference Java client is.
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { Admin, Connection, Consumer, deleteRecordsV2, type Message } from '@platformatic/kafka';
import { kafkaBroker, serviceEndpoint } from './services.js';

export function kafkaAdmin(): Admin {
  return new Admin({ clientId: 'adpipe-test-admin', bootstrapBrokers: [kafkaBroker()] });
}

/** `configs`: topic settings (`{ 'max.message.bytes': '16777216' }`). */
export async function createTopic(
  admin: Admin,
  topic: string,
  partitions: number,
  configs: Record<string, string> = {},
): Promise<void> {
  await admin.createTopics({
    topics: [topic],
    partitions,
    replicas: 1,
    configs: Object.entries(configs).map(([name, value]) => ({ name, value })),
  });
  // Polled by hand: expect.poll is for tests only, and topics are made in beforeAll too.
  for (const until = Date.now() + 20_000; ; await new Promise((r) => setTimeout(r, 100))) {
    const meta = await admin.metadata({ topics: [topic], forceUpdate: true });
    const led = meta.topics.get(topic)?.partitions.filter((p) => p.leader >= 0).length ?? 0;
    if (led === partitions) return;
    if (Date.now() > until)
      throw new Error(`${topic}: ${led} of ${partitions} partitions have a leader after 20 s`);
  }
}

/** The first n messages of a topic, read from the earliest offsets by a consumer group of its own. */
export async function readBack(topic: string, n: number): Promise<Message[]> {
  const consumer = new Consumer({
    clientId: 'adpipe-test-consumer',
    groupId: `adpipe-test-${randomUUID()}`,
    bootstrapBrokers: [kafkaBroker()],
  });
  const received: Message[] = [];
  try {
    const stream = await consumer.consume({
      topics: [topic],
      mode: 'earliest',
      autocommit: false,
      maxWaitTime: 200,
    });
    for await (const message of stream) {
      received.push(message);
      if (received.length === n) break;
    }
    await stream.close();
  } finally {
    await consumer.close(true);
  }
  return received;
}

/** Deletes a partition's records before the offset, as retention would (the Admin client has no call for it). */
export async function deleteRecordsBefore(topic: string, partition: number, offset: number): Promise<void> {
  const { host, port } = serviceEndpoint('kafka');
  const connection = new Connection('adpipe-test-admin');
  await connection.connect(host, port);
  try {
    const response = await deleteRecordsV2.api.async(
      connection,
      [{ name: topic, partitions: [{ partitionIndex: partition, offset: BigInt(offset) }] }],
      10_000,
    );
    const low = response.topics[0]!.partitions[0]!.lowWatermark;
    if (low !== BigInt(offset))
      throw new Error(`${topic}/${partition}: records kept from ${low}, not ${offset}`);
  } finally {
    await connection.close();
  }
}

/**
 * The folder of the Kafka jars scripts/services.sh resolved (`.services/kafka/lib`, git-ignored),
 * for the reference Java client; ADPIPE_TEST_KAFKA_LIB overrides. A git worktree has none of its
 * own: its main checkout's are taken.
 */
export function kafkaLib(): string {
  const override = process.env.ADPIPE_TEST_KAFKA_LIB;
  if (override) return override;
  const git = spawnSync('git', ['rev-parse', '--path-format=absolute', '--git-common-dir'], {
    encoding: 'utf8',
  });
  const checkout = git.status === 0 ? path.dirname(git.stdout.trim()) : process.cwd();
  return path.join(checkout, '.services', 'kafka', 'lib');
}
