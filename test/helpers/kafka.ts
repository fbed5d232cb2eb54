// Topics for Kafka tests on the real broker: created with their partitions, usable once every
// partition has a leader (a produce answered NOT_LEADER right after creation is a response the
// client fails to parse), deleted by the caller.
import { Admin } from '@platformatic/kafka';
import { expect } from 'vitest';
import { kafkaBroker } from './services.js';

export function kafkaAdmin(): Admin {
  return new Admin({ clientId: 'adpipe-test-admin', bootstrapBrokers: [kafkaBroker()] });
}

export async function createTopic(admin: Admin, topic: string, partitions: number): Promise<void> {
  await admin.createTopics({ topics: [topic], partitions, replicas: 1 });
  await expect
    .poll(
      async () => {
        const meta = await admin.metadata({ topics: [topic], forceUpdate: true });
        return meta.topics.get(topic)?.partitions.filter((p) => p.leader >= 0).length ?? 0;
      },
      { timeout: 20_000, interval: 100 },
    )
    .toBe(partitions);
}
