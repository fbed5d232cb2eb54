// A Fetch response's record batches (Kafka's message format v2, magic 2) turned straight into
// stream messages. The client's own decoding builds an object, a BigInt timestamp, a key and a
// headers array per record, and dominated the reader's CPU; here a record costs its message and a
// view of its value, and only the fields adpipe needs are read (offsetDelta, the value). Batches of
// aborted transactions are dropped as Java's consumer drops them under READ_COMMITTED (KIP-98).

import type { StreamMessage } from '../stream/broker.js';
import { decompress } from './codecs.js';

/** firstOffset (int64) and batchLength (int32): what precedes the rest of a batch. */
const BATCH_HEAD = 12;
/** Bytes from a batch's start to its first record (the fixed v2 batch header). */
const RECORDS_AT = 61;
const MAGIC_AT = 16;
const ATTRIBUTES_AT = 21;
const LAST_OFFSET_DELTA_AT = 23;
const PRODUCER_ID_AT = 43;
const RECORDS_COUNT_AT = 57;
const COMPRESSION = 0x07;
/** A batch written inside a transaction. */
const TRANSACTIONAL_BATCH = 0x10;
/** A batch of transaction markers, not records. */
const CONTROL_BATCH = 0x20;
/** A batch's producer id when no idempotent or transactional producer wrote it. */
const NO_PRODUCER_ID = -1n;
/** A transaction marker's type, in its control record's key (version int16, type int16). */
const ABORT_MARKER = 0;

/** A transaction a Fetch response lists as aborted in a partition (READ_COMMITTED): who, from where. */
export interface AbortedTransaction {
  producerId: bigint;
  firstOffset: number;
}

/**
 * Appends the records of one partition's batches (`records`, as the broker sent them) from offset
 * `from` on to `out`, each a message of `stream`, and returns the partition's next offset: past
 * the last batch, control batches and aborted ones (`aborted`: the response's aborted transactions
 * of the partition) included; when only those came, a positionOnly message carries it. A batch cut
 * off at the end (the broker fills a response up to its byte limit) is left for the next fetch.
 */
export function takeRecords(
  records: Buffer,
  from: number,
  stream: string,
  out: StreamMessage[],
  aborted?: readonly AbortedTransaction[],
): number {
  // The usual response lists no aborted transaction: then no batch is looked at for one.
  const filter = aborted && aborted.length > 0 ? new AbortedBatches(aborted) : undefined;
  const before = out.length;
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
    const last = first + records.readInt32BE(at + LAST_OFFSET_DELTA_AT);
    const attributes = records.readInt16BE(at + ATTRIBUTES_AT);
    // Markers are no records: skipped, once the filter has seen them.
    if (!filter?.drops(records, at, end, attributes, last) && (attributes & CONTROL_BATCH) === 0) {
      const count = records.readInt32BE(at + RECORDS_COUNT_AT);
      readBatch(bodyOf(records, at, end, attributes), first, count, from, stream, out);
    }
    next = Math.max(next, last + 1);
    at = end;
  }
  // Markers and aborted batches after the last record: its next position goes past them, so the
  // position committed with it does too (else the group's lag would never reach 0 after a
  // transaction, and a restart would read them again). With no record, a position of its own does.
  const tail = out.length > before ? out[out.length - 1]! : undefined;
  if (tail) {
    if (Number(tail.next) < next) tail.next = String(next);
  } else if (next > from)
    out.push({ stream, position: String(from), next: String(next), value: undefined, positionOnly: true });
  return next;
}

/** The records of the batch from `at` to `end`, decompressed if need be. */
function bodyOf(records: Buffer, at: number, end: number, attributes: number): Buffer {
  const compression = attributes & COMPRESSION;
  const body = records.subarray(at + RECORDS_AT, end);
  return compression === 0 ? body : decompress(compression, body);
}

/**
 * Which batches of a partition belong to aborted transactions, as Java's consumer decides it
 * (CompletedFetch under READ_COMMITTED): a producer's transactional batches are dropped once an
 * aborted transaction of it has begun at or before the batch's last offset, until its abort marker.
 * Batches of other producers, non-transactional ones and committed transactions stay.
 */
class AbortedBatches {
  /** The response's aborted transactions by first offset; those before `next` have begun. */
  private readonly pending: AbortedTransaction[];
  private next = 0;
  /** Producers inside an aborted transaction at the batch being read. */
  private readonly aborting = new Set<bigint>();

  constructor(aborted: readonly AbortedTransaction[]) {
    this.pending = [...aborted].sort((a, b) => a.firstOffset - b.firstOffset);
  }

  /** Whether to drop the batch from `at` to `end` of `records`; an abort marker ends its producer's range. */
  drops(records: Buffer, at: number, end: number, attributes: number, last: number): boolean {
    const producerId = records.readBigInt64BE(at + PRODUCER_ID_AT);
    if (producerId === NO_PRODUCER_ID) return false;
    while (this.next < this.pending.length && this.pending[this.next]!.firstOffset <= last)
      this.aborting.add(this.pending[this.next++]!.producerId);
    if (attributes & CONTROL_BATCH) {
      if (isAbortMarker(bodyOf(records, at, end, attributes))) this.aborting.delete(producerId);
      return false;
    }
    return (attributes & TRANSACTIONAL_BATCH) !== 0 && this.aborting.has(producerId);
  }
}

/** Whether a control batch's (first) record is an abort marker, not a commit. */
function isAbortMarker(body: Buffer): boolean {
  if (body.length === 0) return false;
  const cursor = new Cursor(body);
  cursor.varInt(); // length
  cursor.at += 1; // attributes
  cursor.skipVarInt(); // timestampDelta
  cursor.skipVarInt(); // offsetDelta
  const keyLength = cursor.varInt();
  return keyLength >= 4 && body.readInt16BE(cursor.at + 2) === ABORT_MARKER;
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
