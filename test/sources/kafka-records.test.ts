/**
 * The Kafka reader's record decoder (src/sources/kafka/records.ts) against record batches written
 * by the client's own producer code (createRecordsBatch), as a Fetch response holds them:
 * uncompressed and compressed, keys and headers, tombstones, control batches, records before the
 * asked offset, and a batch cut off at the response's end.
 */
import { type CompressionAlgorithmValue, createRecordsBatch } from '@platformatic/kafka';
import { describe, expect, it } from 'vitest';
import { type AbortedTransaction, takeRecords } from '../../src/sources/kafka/records.js';
import type { StreamMessage } from '../../src/sources/stream/broker.js';

const T0 = 1_765_000_000_000n;

interface BatchOptions {
  compression?: CompressionAlgorithmValue;
  /** The idempotent or transactional producer that wrote it; none by default. */
  producerId?: bigint;
  transactional?: boolean;
}

/** A record batch at firstOffset, each value with a key, a header and a later timestamp. */
function batch(firstOffset: number, values: Buffer[], options: BatchOptions = {}): Buffer {
  const bytes = createRecordsBatch(
    values.map((value, i) => ({
      topic: 't',
      key: Buffer.from(`key-${i}`),
      value,
      headers: new Map([[Buffer.from('h'), Buffer.from(`header ${i}`)]]),
      timestamp: T0 + BigInt(i * 1000),
    })),
    {
      compression: options.compression,
      producerId: options.producerId,
      transactionalId: options.transactional ? 'txn' : undefined,
    },
  ).buffer;
  // The producer leaves firstOffset 0 for the broker to set.
  bytes.writeBigInt64BE(BigInt(firstOffset), 0);
  return bytes;
}

/** A transactional batch of the producer. */
const txn = (producerId: bigint, firstOffset: number, values: Buffer[]) =>
  batch(firstOffset, values, { producerId, transactional: true });

/**
 * A transaction marker as the broker writes it: a control batch of the producer holding one
 * control record, key (version 0, type: 0 ABORT, 1 COMMIT) and value (version 0, coordinator epoch).
 */
function marker(producerId: bigint, offset: number, type: 'abort' | 'commit'): Buffer {
  const key = Buffer.from([0, 0, 0, type === 'abort' ? 0 : 1]);
  const bytes = createRecordsBatch([{ topic: 't', key, value: Buffer.alloc(6), timestamp: T0 }], {
    producerId,
    transactionalId: 'txn',
  }).buffer;
  bytes.writeBigInt64BE(BigInt(offset), 0);
  bytes[22]! |= 0x20; // attributes' control bit
  return bytes;
}

/** JSON values of varied length, some long enough for two-byte varint lengths. */
function events(count: number, from = 0): Buffer[] {
  return Array.from({ length: count }, (_, i) =>
    Buffer.from(JSON.stringify({ event_id: `e${from + i}`, pad: 'x'.repeat((i * 37) % 300) })),
  );
}

/**
 * The messages decoded from these bytes, asking for offset `from` of partition 3, and the next
 * offset; `aborted`: the aborted transactions the response lists.
 */
function decode(
  records: Buffer,
  from: number,
  aborted?: AbortedTransaction[],
): { out: StreamMessage[]; next: number } {
  const out: StreamMessage[] = [];
  const next = takeRecords(records, from, '3', out, aborted);
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
        Buffer.concat([batch(1000, values, { compression }), batch(1050, events(2), { compression })]),
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

/** Two transactional producers. */
const A = 7n;
const B = 8n;

/** The messages, the last one's next position moved to `next`: past the batches dropped after it. */
const endingAt = (messages: StreamMessage[], next: number): StreamMessage[] =>
  messages.map((m, i) => (i === messages.length - 1 ? { ...m, next: String(next) } : m));

describe('Kafka transactions read committed (KIP-98)', () => {
  it('drops the batches of an aborted transaction, compressed too, and keeps a committed one', () => {
    const committed = events(3);
    const plain = events(2, 10);
    const records = Buffer.concat([
      txn(B, 0, committed),
      marker(B, 3, 'commit'),
      batch(4, events(2, 20), { producerId: A, transactional: true, compression: 'gzip' }),
      marker(A, 6, 'abort'),
      batch(7, plain),
    ]);
    const { out, next } = decode(records, 0, [{ producerId: A, firstOffset: 4 }]);
    expect(out).toEqual([...messagesOf(0, committed), ...messagesOf(7, plain)]);
    expect(next).toBe(9);
  });

  it('keeps the non-transactional batches of a producer whose transaction aborted', () => {
    const before = events(2);
    const after = events(2, 10);
    const records = Buffer.concat([
      batch(0, before, { producerId: A }),
      txn(A, 2, events(2, 20)),
      batch(4, after, { producerId: A }),
      batch(6, events(1, 30)),
      marker(A, 7, 'abort'),
    ]);
    const { out } = decode(records, 0, [{ producerId: A, firstOffset: 2 }]);
    expect(out.map((m) => m.position)).toEqual(['0', '1', '4', '5', '6']);
    expect(out.slice(0, 4)).toEqual([...messagesOf(0, before), ...messagesOf(4, after)]);
  });

  it("reads a producer's transactions after its abort marker, and before its aborted one began", () => {
    const later = events(2, 10);
    const afterAbort = decode(
      Buffer.concat([txn(A, 0, events(2)), marker(A, 2, 'abort'), txn(A, 3, later), marker(A, 5, 'commit')]),
      0,
      [{ producerId: A, firstOffset: 0 }],
    );
    expect(afterAbort.out).toEqual(endingAt(messagesOf(3, later), 6));
    expect(afterAbort.next).toBe(6);

    const earlier = events(2);
    const beforeAbort = decode(
      Buffer.concat([txn(A, 0, earlier), marker(A, 2, 'commit'), txn(A, 3, later), marker(A, 5, 'abort')]),
      0,
      [{ producerId: A, firstOffset: 3 }],
    );
    expect(beforeAbort.out.map((m) => [m.position, m.value])).toEqual([
      ['0', earlier[0]],
      ['1', earlier[1]],
    ]);
    expect(beforeAbort.next).toBe(6);
  });

  it('tells interleaved producers apart, with the aborted transactions listed in any order', () => {
    const v = events(12);
    const records = Buffer.concat([
      batch(0, [v[0]!]),
      txn(A, 1, [v[1]!, v[2]!]),
      txn(B, 3, [v[3]!, v[4]!]),
      txn(A, 5, [v[5]!]),
      batch(6, [v[6]!]),
      txn(B, 7, [v[7]!]),
      marker(A, 8, 'abort'),
      marker(B, 9, 'commit'),
      // A's next transaction, after its abort marker: committed.
      txn(A, 10, [v[10]!]),
      marker(A, 11, 'commit'),
    ]);
    const aAborted = decode(records, 0, [{ producerId: A, firstOffset: 1 }]);
    expect(aAborted.out.map((m) => m.position)).toEqual(['0', '3', '4', '6', '7', '10']);
    expect(aAborted.out.map((m) => m.value)).toEqual([v[0], v[3], v[4], v[6], v[7], v[10]]);

    const bothAborted = decode(records, 0, [
      { producerId: B, firstOffset: 3 },
      { producerId: A, firstOffset: 1 },
    ]);
    expect(bothAborted.out.map((m) => m.position)).toEqual(['0', '6', '10']);
    expect(bothAborted.next).toBe(12);
  });

  it('moves the position, and the last message read, past dropped batches and markers', () => {
    const plain = events(2);
    // A response ending in an aborted transaction: the last record's next position is past it.
    const tailAborted = decode(
      Buffer.concat([batch(0, plain), txn(A, 2, events(3, 10)), marker(A, 5, 'abort')]),
      0,
      [{ producerId: A, firstOffset: 2 }],
    );
    expect(tailAborted.out).toEqual(endingAt(messagesOf(0, plain), 6));
    expect(tailAborted.next).toBe(6);

    // Only an aborted transaction, asked for from inside it: nothing read, the offset moves on, and
    // a position of its own carries it to the commit.
    const onlyAborted = decode(Buffer.concat([txn(A, 2, events(3)), marker(A, 5, 'abort')]), 3, [
      { producerId: A, firstOffset: 0 },
    ]);
    expect(onlyAborted).toEqual({
      out: [{ stream: '3', position: '3', next: '6', value: undefined, positionOnly: true }],
      next: 6,
    });
    // Only a commit marker: the same.
    expect(decode(marker(A, 7, 'commit'), 7).out).toEqual([
      { stream: '3', position: '7', next: '8', value: undefined, positionOnly: true },
    ]);

    // A committed transaction's marker, in a response listing no aborted transaction.
    const committed = decode(Buffer.concat([txn(A, 0, plain), marker(A, 2, 'commit')]), 0);
    expect(committed.out.map((m) => m.next)).toEqual(['1', '3']);
    expect(committed.next).toBe(3);
  });
});
