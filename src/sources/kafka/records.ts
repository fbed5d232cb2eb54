// A Fetch response's record batches (Kafka's message format v2, magic 2) turned straight into
// stream messages. The client's own decoding builds an object, a BigInt timestamp, a key and a
// headers array per record, and dominated the reader's CPU; here a record costs its message and a
// view of its value, and only the fields adpipe needs are read (offsetDelta, the value).

import { compressionsAlgorithmsByBitmask } from '@platformatic/kafka';
import type { StreamMessage } from '../stream/broker.js';

/** firstOffset (int64) and batchLength (int32): what precedes the rest of a batch. */
const BATCH_HEAD = 12;
/** Bytes from a batch's start to its first record (the fixed v2 batch header). */
const RECORDS_AT = 61;
const MAGIC_AT = 16;
const ATTRIBUTES_AT = 21;
const LAST_OFFSET_DELTA_AT = 23;
const RECORDS_COUNT_AT = 57;
const COMPRESSION = 0x07;
/** A batch of transaction markers, not records. */
const CONTROL_BATCH = 0x20;

/**
 * Appends the records of one partition's batches (`records`, as the broker sent them) from offset
 * `from` on to `out`, each a message of `stream`, and returns the partition's next offset: past
 * the last batch, control batches included. A batch cut off at the end (the broker fills a
 * response up to its byte limit) is left for the next fetch.
 */
export function takeRecords(records: Buffer, from: number, stream: string, out: StreamMessage[]): number {
  let next = from;
  let at = 0;
  while (at + BATCH_HEAD <= records.length) {
    const end = at + BATCH_HEAD + records.readInt32BE(at + 8);
    if (end > records.length) break;
    if (end < at + RECORDS_AT)
      throw new Error(`kafka: record batch of ${end - at} bytes, shorter than its header`);
    const magic = records.readInt8(at + MAGIC_AT);
    if (magic !== 2)
      throw new Error(`kafka: record batch of message format ${magic}; adpipe reads format 2 only`);
    // Offsets as numbers, without a BigInt: exact up to 2^53, beyond any partition's life.
    const first = records.readInt32BE(at) * 2 ** 32 + records.readUInt32BE(at + 4);
    const attributes = records.readInt16BE(at + ATTRIBUTES_AT);
    if ((attributes & CONTROL_BATCH) === 0) {
      const count = records.readInt32BE(at + RECORDS_COUNT_AT);
      const compression = attributes & COMPRESSION;
      const body =
        compression === 0
          ? records.subarray(at + RECORDS_AT, end)
          : decompress(compression, records.subarray(at + RECORDS_AT, end));
      readBatch(body, first, count, from, stream, out);
    }
    next = Math.max(next, first + records.readInt32BE(at + LAST_OFFSET_DELTA_AT) + 1);
    at = end;
  }
  return next;
}

function decompress(bitmask: number, data: Buffer): Buffer {
  const algorithm = compressionsAlgorithmsByBitmask[bitmask];
  if (!algorithm) throw new Error(`kafka: record batch compressed with unknown codec ${bitmask}`);
  return algorithm.decompressSync(data);
}

/** Reads a batch's records (length, attributes, timestampDelta, offsetDelta, key, value, headers). */
function readBatch(
  body: Buffer,
  first: number,
  count: number,
  from: number,
  stream: string,
  out: StreamMessage[],
) {
  const cursor = new Cursor(body);
  // Consecutive offsets: a record's position is the previous one's next, made once.
  let position = '';
  let positionOf = -1;
  for (let i = 0; i < count; i++) {
    const length = cursor.varInt();
    const end = cursor.at + length;
    cursor.at += 1; // attributes: unused by format 2 records
    cursor.skipVarInt(); // timestampDelta
    const offset = first + cursor.varInt();
    // A batch comes whole: records before the asked offset were read already.
    if (offset >= from) {
      const keyLength = cursor.varInt();
      cursor.at += Math.max(0, keyLength); // the key, unread
      const valueLength = cursor.varInt();
      if (positionOf !== offset) position = String(offset);
      const next = String(offset + 1);
      // A null value is a tombstone; the client's producer writes null as an empty value, so an
      // empty one is taken as a tombstone too: neither carries an event.
      out.push(
        valueLength <= 0
          ? { stream, position, next, value: undefined, missing: 'kafka.tombstone' }
          : { stream, position, next, value: body.subarray(cursor.at, cursor.at + valueLength) },
      );
      position = next;
      positionOf = offset + 1;
    }
    cursor.at = end; // past the headers, unread
  }
}

/** A read position in a buffer, for Kafka's zigzag varints. */
class Cursor {
  at = 0;
  constructor(private readonly buffer: Buffer) {}

  /** A zigzag-encoded signed varint of up to 32 bits. */
  varInt(): number {
    let raw = 0;
    let shift = 0;
    let byte: number;
    do {
      byte = this.buffer[this.at++]!;
      raw |= (byte & 0x7f) << shift;
      shift += 7;
    } while (byte & 0x80 && shift < 35);
    return (raw >>> 1) ^ -(raw & 1);
  }

  /** Past a varint or varlong of any length. */
  skipVarInt(): void {
    while (this.buffer[this.at++]! & 0x80);
  }
}
