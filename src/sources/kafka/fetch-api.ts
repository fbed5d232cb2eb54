// Kafka's Fetch API with adpipe's own response parser: the client's request writer, but each
// partition's record batches kept as the bytes the broker sent, for records.ts to decode (with the
// aborted transactions listed beside them, whose records it drops), instead of the client's
// per-record objects. Fetch v13 or later is required (partitions named by topic
// id: Kafka 3.1+); the highest of v13–v17 the broker supports is used, as the client's consumer
// would. From v13 to v17 the response's layout is the same, up to tagged fields, which are skipped.

import {
  type API,
  type Consumer,
  createAPI,
  fetchV13,
  fetchV14,
  fetchV15,
  fetchV16,
  fetchV17,
  type Reader,
  ResponseError,
} from '@platformatic/kafka';
import { AdpipeError } from '../../errors.js';
import type { AbortedTransaction } from './records.js';

/** The client's Fetch modules adpipe can use, newest first. */
const VERSIONS = [fetchV17, fetchV16, fetchV15, fetchV14, fetchV13];

export interface RawFetchPartition {
  partitionIndex: number;
  /** Its record batches as sent, the last one possibly cut off; undefined when none came. */
  records: Buffer | undefined;
  /** The aborted transactions among them, whose records are not to be read; undefined when none. */
  aborted: AbortedTransaction[] | undefined;
}

export type FetchApi = API<fetchV17.FetchRequest, RawFetchPartition[]>;

/** The Fetch API of the newest version the consumer's broker supports; a config error if none fits. */
export async function fetchApi(consumer: Consumer, label: string): Promise<FetchApi> {
  const fetch = (await consumer.listApis()).find((a) => a.apiKey === fetchV17.api.key);
  const usable = VERSIONS.find(
    (v) => fetch !== undefined && v.api.version >= fetch.minVersion && v.api.version <= fetch.maxVersion,
  );
  if (!usable)
    throw new AdpipeError('ADP_ERR_CONFIG', [
      `${label}: the broker supports Fetch ${fetch ? `v${fetch.minVersion}–v${fetch.maxVersion}` : 'not at all'}; adpipe needs v13 or later (Kafka 3.1+)`,
    ]);
  return createAPI(usable.api.key, usable.api.version, usable.createRequest, parseRawFetch);
}

/**
 * The Fetch response (v13–v17) read as fetchV17.parseResponse reads it, each partition's records
 * kept as bytes; a broker error throws the client's ResponseError, so hasKafkaError (client.ts)
 * recognises it.
 */
function parseRawFetch(
  _correlationId: number,
  apiKey: number,
  apiVersion: number,
  reader: Reader,
): RawFetchPartition[] {
  const errors: [string, number][] = [];
  reader.skip(4); // throttle_time_ms
  const errorCode = reader.readInt16();
  if (errorCode !== 0) errors.push(['', errorCode]);
  reader.skip(4); // session_id
  const partitions: RawFetchPartition[] = [];
  reader.readArray((topic, i) => {
    topic.skip(16); // topic_id
    topic.readArray((r, j) => {
      const partitionIndex = r.readInt32();
      const code = r.readInt16();
      if (code !== 0) errors.push([`/responses/${i}/partitions/${j}`, code]);
      r.skip(24); // high_watermark, last_stable_offset, log_start_offset
      const aborted = r.readNullableArray(
        (t): AbortedTransaction => ({ producerId: t.readInt64(), firstOffset: Number(t.readInt64()) }),
      );
      r.skip(4); // preferred_read_replica
      // COMPACT_RECORDS: the length plus one, 0 for null.
      const size = r.readUnsignedVarInt() - 1;
      const records = size > 0 ? r.buffer.slice(r.position, r.position + size) : undefined;
      if (size > 0) r.skip(size);
      partitions.push({ partitionIndex, records, aborted: aborted?.length ? aborted : undefined });
    });
  });
  if (errors.length > 0) throw new ResponseError(apiKey, apiVersion, Object.fromEntries(errors), partitions);
  return partitions;
}
