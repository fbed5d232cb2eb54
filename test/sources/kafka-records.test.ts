/**
 * The Kafka reader's record decoder (src/sources/kafka/records.ts) against record batches written
 * by the client's own producer code (createRecordsBatch), as a Fetch response holds them:
 * uncompressed and compressed, keys and headers, tombstones, control batches, records before the
 * asked offset, and a batch cut off at the response's end.
 */
import { type CompressionAlgorithmValue, createRecordsBatch } from '@platformatic/kafka';
import { describe, expect, it } from 'vitest';
import { takeRecords } from '../../src/sources/kafka/records.js';
import type { StreamMessage } from '../../src/sources/stream/broker.js';

const T0 = 1_765_000_000_000n;

/** A record batch at firstOffset, each value with a key, a header and a later timestamp. */
function batch(
  firstOffset: number,
  values: Buffer[],
  compression: CompressionAlgorithmValue = 'none',
): Buffer {
  const bytes = createRecordsBatch(
    values.map((value, i) => ({
      topic: 't',
      key: Buffer.from(`key-${i}`),
      value,
      headers: new Map([[Buffer.from('h'), Buffer.from(`header ${i}`)]]),
      timestamp: T0 + BigInt(i * 1000),
    })),
    { compression },
  ).buffer;
  // The producer leaves firstOffset 0 for the broker to set.
  bytes.writeBigInt64BE(BigInt(firstOffset), 0);
  return bytes;
}

/** JSON values of varied length, some long enough for two-byte varint lengths. */
function events(count: number, from = 0): Buffer[] {
  return Array.from({ length: count }, (_, i) =>
    Buffer.from(JSON.stringify({ event_id: `e${from + i}`, pad: 'x'.repeat((i * 37) % 300) })),
  );
}

/** The messages decoded from these bytes, asking for offset `from` of partition 3, and the next offset. */
function decode(records: Buffer, from: number): { out: StreamMessage[]; next: number } {
  const out: StreamMessage[] = [];
  const next = takeRecords(records, from, '3', out);
  return { out, next };
}

function messagesOf(first: number, values: Buffer[]): StreamMessage[] {
  return values.map((value, i) => ({
    stream: '3',
    position: String(first + i),
    next: String(first + i + 1),
    value,
  }));
}

describe('Kafka record batches', () => {
  it('reads each record of uncompressed batches at its offset, skipping keys and headers', () => {
    // 200 records: offset deltas past 63 take two varint bytes; a first offset past 2^32.
    const a = events(200);
    const b = events(3, 200);
    const first = 5_000_000_000;
    const { out, next } = decode(Buffer.concat([batch(first, a), batch(first + 200, b)]), first);
    expect(out).toEqual(messagesOf(first, [...a, ...b]));
    expect(next).toBe(first + 203);
  });

  for (const compression of ['gzip', 'snappy', 'lz4'] as const)
    it(`reads a ${compression} batch, without the records before the asked offset`, () => {
      const values = events(50);
      const { out, next } = decode(
        Buffer.concat([batch(1000, values, compression), batch(1050, events(2), compression)]),
        1010,
      );
      expect(out).toEqual(messagesOf(1010, [...values.slice(10), ...events(2)]));
      expect(next).toBe(1052);
    });

  it('skips the records before the asked offset in an uncompressed batch too', () => {
    const values = events(5);
    const { out, next } = decode(batch(7, values), 10);
    expect(out).toEqual(messagesOf(10, values.slice(3)));
    expect(next).toBe(12);
  });

  it('takes a null value (a tombstone) and an empty value as tombstones, and reads on', () => {
    // A first record without key or headers at the batch's first timestamp is 7 bytes from byte
    // 61: length, attributes, timestampDelta, offsetDelta, key length, value length, header count.
    const tail = events(2);
    const records = createRecordsBatch([
      { topic: 't', value: Buffer.alloc(0), timestamp: T0 },
      { topic: 't', key: Buffer.from('k'), value: Buffer.alloc(0), timestamp: T0 },
      ...tail.map((value) => ({ topic: 't', key: Buffer.from('k'), value, timestamp: T0 })),
    ]).buffer;
    expect([...records.subarray(61, 68)]).toEqual([12, 0, 0, 0, 0, 0, 0]);
    records[66] = 1; // the first value's length: zigzag -1, null
    const { out, next } = decode(records, 0);
    expect(out).toEqual([
      { stream: '3', position: '0', next: '1', value: undefined, missing: 'kafka.tombstone' },
      { stream: '3', position: '1', next: '2', value: undefined, missing: 'kafka.tombstone' },
      ...messagesOf(2, tail),
    ]);
    expect(next).toBe(4);
  });

  it('skips a control batch but moves past its offsets', () => {
    const control = batch(5, [Buffer.from('marker')]);
    control[22]! |= 0x20; // attributes' control bit
    const after = events(2);
    const { out, next } = decode(Buffer.concat([batch(0, events(5)), control, batch(6, after)]), 5);
    expect(out).toEqual(messagesOf(6, after));
    expect(next).toBe(8);
  });

  it('leaves a batch cut off at the end of the response for the next fetch', () => {
    const whole = events(4);
    const cut = batch(4, events(4, 4));
    for (const keep of [5, 12, 61, cut.length - 1]) {
      const { out, next } = decode(Buffer.concat([batch(0, whole), cut.subarray(0, keep)]), 0);
      expect(out).toEqual(messagesOf(0, whole));
      expect(next).toBe(4);
    }
  });

  it('returns the asked offset when the response holds no whole batch', () => {
    expect(decode(Buffer.alloc(0), 42)).toEqual({ out: [], next: 42 });
  });
});
