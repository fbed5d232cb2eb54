// `adpipe generate --to kafka://…|redis://…|nats://…`: the simulator's events published to a
// broker (src/sources/stream/brokers.ts), one JSON event per message keyed by its event_id (so a
// repeated id meets its first in one partition), optionally paced to a rate. A batch is published
// before the next is made: publish resolves once the broker holds it.

import type { PublishRecord } from '../sources/stream/broker.js';
import { openPublisher } from '../sources/stream/brokers.js';
import { eventLines, type SimOptions } from './index.js';
import { paceTo } from './pace.js';

export interface StreamTargetOptions extends SimOptions {
  /** The broker URL: its topic, stream or subject receives the events. */
  to: string;
  /** Events per second overall; unpaced when absent. */
  rate?: number;
  /** Events per publish. */
  batch?: number;
}

export async function publishToStream(
  options: StreamTargetOptions,
): Promise<{ published: number; seconds: number }> {
  const { publisher } = await openPublisher(options.to);
  const size = options.batch ?? 500;
  const started = performance.now();
  let published = 0;
  let records: PublishRecord[] = [];
  const flush = async () => {
    published += records.length;
    await paceTo(started, published, options.rate);
    await publisher.publish(records);
    records = [];
  };
  try {
    for await (const { line, id } of eventLines(options)) {
      // A malformed record of a dirty run has no id: keyed by itself; the loader rejects it.
      records.push({ key: id ?? line, value: line });
      if (records.length >= size) await flush();
    }
    if (records.length > 0) await flush();
  } finally {
    await publisher.close();
  }
  return { published, seconds: (performance.now() - started) / 1000 };
}
