// The Kafka reader's URL parameters: `?partitions=0,2,4` (default: every partition of the topic at
// open), `group=` (the consumer group its offsets are committed to for monitoring; default
// `adpipe-<source name>`), `start=earliest|latest` (where a partition the warehouse has no position
// for starts; default earliest).

import { AdpipeError } from '../../errors.js';
import type { StreamUrl } from '../stream/broker.js';

export const KAFKA_READER_PARAMS = ['partitions', 'group', 'start'] as const;

export interface KafkaReaderParams {
  topic: string;
  /** Undefined: every partition the topic has when the reader opens. */
  partitions: number[] | undefined;
  group: string;
  start: 'earliest' | 'latest';
}

export function readerParams(url: StreamUrl, sourceName: string): KafkaReaderParams {
  const bad = (why: string) => new AdpipeError('ADP_ERR_CONFIG', [`${url.shown}: ${why}`]);
  const list = url.params.get('partitions');
  let partitions: number[] | undefined;
  if (list !== null) {
    partitions = list.split(',').map((p) => {
      if (!/^\d+$/.test(p.trim())) throw bad(`partitions must be partition numbers (0,2,4), got ${list}`);
      return Number(p);
    });
    partitions = [...new Set(partitions)].sort((a, b) => a - b);
  }
  const start = url.params.get('start') ?? 'earliest';
  if (start !== 'earliest' && start !== 'latest') throw bad(`start must be earliest or latest, got ${start}`);
  return { topic: url.name, partitions, group: url.params.get('group') ?? `adpipe-${sourceName}`, start };
}
