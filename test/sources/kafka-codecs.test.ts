/**
 * The Kafka source reading record batches compressed in each codec Kafka has, as the reference
 * Java producer writes them (`compression.type`, test/sources/kafka/CodecProducer.java) on the real
 * broker: every simulated event in the warehouse once, the revenue of each type exact, nothing
 * dead-lettered. zstd is the codec Node 20's zlib lacks, and Java's snappy is snappy-java's framed
 * stream, which the client does not read (src/sources/kafka/codecs.ts); the framing's edge cases
 * are checked on bytes made here.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { type Admin, compressionsAlgorithms } from '@platformatic/kafka';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lakeRelation } from '../../src/lake/lake.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { eventLines } from '../../src/simulator/index.js';
import { decompress } from '../../src/sources/kafka/codecs.js';
import { createStreamSource } from '../../src/sources/stream/config.js';
import { Warehouse } from '../../src/warehouse/warehouse.js';
import { createTopic, kafkaAdmin, kafkaLib } from '../helpers/kafka.js';
import { micros } from '../helpers/money.js';
import { describeWith, kafkaBroker, testServices } from '../helpers/services.js';
import { makeTempDir } from '../helpers/tmp.js';

const CODECS = ['gzip', 'snappy', 'lz4', 'zstd'] as const;
const EVENTS = 600;
const PRODUCER = path.resolve('test/sources/kafka/CodecProducer.java');

/** What CodecProducer measured. */
interface Produced {
  sent: number;
  records_per_request: number;
  compression_rate: number;
}

/** Per event type: events, distinct ids and revenue in micros. */
type Totals = Record<string, { events: number; ids: number; revenue: bigint }>;

/** The lines, a record each, to partition 0 of the topic from a Java producer compressing with the codec. */
function javaProduce(topic: string, codec: string, lines: string[]): Produced {
  const lib = kafkaLib();
  // No java or no jars is a failure, not a skip.
  if (!existsSync(lib))
    throw new Error(`no Kafka jars in ${lib}: run scripts/services.sh (or set ADPIPE_TEST_KAFKA_LIB)`);
  const r = spawnSync('java', ['-cp', path.join(lib, '*'), PRODUCER, kafkaBroker(), topic, codec], {
    input: lines.join('\n'),
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (r.error || r.status !== 0)
    throw new Error(`java CodecProducer: ${r.error?.message ?? `exit ${r.status}`}\n${r.stderr}`);
  return JSON.parse(r.stdout) as Produced;
}

/** The simulator's events (no dirt: each once) and what they add up to. */
async function simulated(seed: number): Promise<{ lines: string[]; truth: Totals }> {
  const lines: string[] = [];
  const truth: Totals = {};
  for await (const { line } of eventLines({
    events: EVENTS,
    seed,
    dirty: 0,
    files: 1,
    start: '2025-05-05T00:00:00Z',
    hours: 2,
  })) {
    lines.push(line.trim());
    const event = JSON.parse(line) as { type: string; revenue?: string };
    truth[event.type] ??= { events: 0, ids: 0, revenue: 0n };
    const t = truth[event.type]!;
    t.events++;
    t.ids++;
    t.revenue += micros(event.revenue);
  }
  return { lines, truth };
}

/** Loads the topic until it is idle, then what the lake holds by type, and the batches' rejects and duplicates. */
async function loadTopic(
  topic: string,
): Promise<{ totals: Totals; rejected: string; duplicates: string; letters: string[] }> {
  const dataDir = makeTempDir('kafka-codec');
  const wh = await Warehouse.open(dataDir);
  try {
    const runtime = await Runtime.open(wh);
    try {
      await runtime.run(
        createStreamSource({
          type: 'kafka',
          url: `${testServices.kafkaUrl}/${topic}`,
          batch_events: 100_000,
          batch_ms: 500,
          until_idle: '2s',
        }),
      );
    } finally {
      await runtime.close();
    }
    const rows = await wh.all<{ type: string; events: string; ids: string; revenue: string | null }>(
      `SELECT type, count(*)::VARCHAR AS events, count(DISTINCT event_id)::VARCHAR AS ids,
              sum(revenue)::VARCHAR AS revenue
       FROM ${await lakeRelation(wh)} GROUP BY type`,
    );
    const [counts] = await wh.all<{ rejected: string; duplicates: string }>(
      `SELECT coalesce(sum(rejected), 0)::VARCHAR AS rejected, coalesce(sum(duplicates), 0)::VARCHAR AS duplicates
       FROM batches`,
    );
    const letters = existsSync(wh.deadLetterDir) ? readdirSync(wh.deadLetterDir) : [];
    const totals = Object.fromEntries(
      rows.map((r) => [r.type, { events: Number(r.events), ids: Number(r.ids), revenue: micros(r.revenue) }]),
    );
    return { totals, ...counts!, letters };
  } finally {
    wh.close();
  }
}

(await describeWith('kafka'))('kafka source: record batches a Java producer compressed', () => {
  let admin: Admin;
  const topics: string[] = [];

  beforeAll(() => {
    admin = kafkaAdmin();
  });

  afterAll(async () => {
    if (topics.length > 0) await admin.deleteTopics({ topics });
    await admin?.close();
  });

  it.each(CODECS.map((codec, i) => [codec, i + 1] as const))(
    'loads every event of %s batches once, with the exact revenue, and dead-letters nothing',
    async (codec, seed) => {
      const topic = `adpipe-test-codec-${codec}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
      // The broker keeps the producer's batches as they came, not recompressed to its own codec.
      await createTopic(admin, topic, 1, { 'compression.type': 'producer' });
      topics.push(topic);
      const { lines, truth } = await simulated(seed);

      const produced = javaProduce(topic, codec, lines);
      expect(produced.sent).toBe(EVENTS);
      // Batches of many records, really compressed: what a busy producer's topic holds.
      expect(produced.records_per_request).toBeGreaterThanOrEqual(50);
      expect(produced.compression_rate).toBeLessThan(0.5);

      const loaded = await loadTopic(topic);
      expect(loaded.totals).toEqual(truth);
      expect(Object.values(loaded.totals).reduce((n, t) => n + t.events, 0)).toBe(EVENTS);
      expect(loaded).toMatchObject({ rejected: '0', duplicates: '0', letters: [] });
    },
    90_000,
  );
});

describe('decompress: snappy-java framing', () => {
  const SNAPPY = 2;
  const { snappy } = compressionsAlgorithms;
  const text = (n: number, from = 0) =>
    Buffer.from(Array.from({ length: n }, (_, i) => `{"event_id":"f${from + i}"}`).join('\n'));
  /** snappy-java's stream: magic, version 1, compatible version 1, then length-prefixed raw blocks. */
  const framed = (...blocks: Buffer[]) =>
    Buffer.concat([
      Buffer.from([0x82, ...Buffer.from('SNAPPY'), 0, 0, 0, 0, 1, 0, 0, 0, 1]),
      ...blocks.flatMap((b) => {
        const block = snappy.compressSync(b);
        const length = Buffer.alloc(4);
        length.writeUInt32BE(block.length);
        return [length, block];
      }),
    ]);

  it('reads every block of a framed stream, in order, and a raw block as before', () => {
    const [a, b, c] = [text(500), text(3, 500), text(2000, 503)];
    expect(decompress(SNAPPY, framed(a, b, c))).toEqual(Buffer.concat([a, b, c]));
    expect(decompress(SNAPPY, framed(a))).toEqual(a);
    expect(decompress(SNAPPY, snappy.compressSync(c))).toEqual(c);
  });

  it('says where a framed stream is cut off, in a block or in its length', () => {
    const whole = framed(text(100), text(100, 100));
    const second = 16 + 4 + whole.readUInt32BE(16);
    expect(() => decompress(SNAPPY, whole.subarray(0, whole.length - 1))).toThrow(
      `kafka: snappy-java block at byte ${second} runs past the batch's ${whole.length - 1} bytes`,
    );
    expect(() => decompress(SNAPPY, whole.subarray(0, second + 2))).toThrow(
      `kafka: snappy-java block at byte ${second} runs past the batch's ${second + 2} bytes`,
    );
  });
});
