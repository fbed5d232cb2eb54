/**
 * The Kafka source on the real broker: the source conformance suite (finite, `adpipe stream
 * --until-idle`), then what is Kafka's own: a partition subset, positions equal to the end offsets,
 * a restart that loads only what came after, tombstones and non-JSON messages dead-lettered under
 * their own offsets, offsets committed to the consumer group, aborted transactions (written by the
 * reference Java client) left out, and reports equal to what was produced.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { type Admin, Consumer, ProduceAcks, Producer } from '@platformatic/kafka';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lakeRelation } from '../../src/lake/lake.js';
import { formatMicros } from '../../src/money.js';
import { runReport } from '../../src/reports/query.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { kafkaBroker } from '../../src/sources/kafka/broker.js';
import { parseStreamUrl } from '../../src/sources/stream/brokers.js';
import { createStreamSource } from '../../src/sources/stream/config.js';
import { Warehouse } from '../../src/warehouse/warehouse.js';
import { createTopic, deleteRecordsBefore, kafkaAdmin, kafkaLib, readBack } from '../helpers/kafka.js';
import { micros } from '../helpers/money.js';
import { describeWith, kafkaBroker as testBroker, testServices } from '../helpers/services.js';
import { makeTempDir } from '../helpers/tmp.js';
import { events, sourceConformance } from './conformance.js';

const PARTITIONS = 3;
/** Events per message at most: a message stays well under the broker's 1 MB default. */
const PER_MESSAGE = 500;
const CLI = path.resolve('test/collector/cli.ts');
const TXN_PRODUCER = path.resolve('test/sources/kafka/TxnProducer.java');

let admin: Admin;
let producer: Producer;
const topics: string[] = [];

/** A new topic of n partitions (with these topic configs), deleted after the file. */
async function newTopic(prefix: string, n = PARTITIONS, configs?: Record<string, string>): Promise<string> {
  const topic = `adpipe-test-${prefix}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
  await createTopic(admin, topic, n, configs);
  topics.push(topic);
  return topic;
}

const urlOf = (topic: string, query = '') => `${testServices.kafkaUrl}/${topic}${query}`;

/** Messages per produce request: a partition's record batch stays under the broker's 1 MB. */
const PER_SEND = 10;

/** Publishes the values to one partition in order, perSend a request; returns the first one's offset. */
async function produce(
  topic: string,
  partition: number,
  values: Buffer[],
  perSend = PER_SEND,
): Promise<number> {
  let first: number | undefined;
  for (let i = 0; i < values.length; i += perSend) {
    const messages = values.slice(i, i + perSend).map((value) => ({ topic, partition, value }));
    const result = await producer.send({ messages });
    first ??= Number(result.offsets!.find((o) => o.partition === partition)!.offset);
  }
  return first!;
}

/** n valid events with ids `<prefix>-<i>`, one message each. */
const oneEventEach = (prefix: string, n: number) =>
  events(prefix, n)
    .trim()
    .split('\n')
    .map((l) => Buffer.from(l));

/** NDJSON bytes as messages of at most PER_MESSAGE lines each (bytes that are no text: one message). */
function messagesOf(data: string | Buffer): Buffer[] {
  if (Buffer.isBuffer(data)) return [data];
  const lines = data.split('\n').filter((l) => l !== '');
  const out: Buffer[] = [];
  for (let i = 0; i < lines.length; i += PER_MESSAGE)
    out.push(Buffer.from(`${lines.slice(i, i + PER_MESSAGE).join('\n')}\n`));
  return out;
}

async function load(dataDir: string, url: string, name?: string): Promise<void> {
  const wh = await Warehouse.open(dataDir);
  const runtime = await Runtime.open(wh);
  try {
    await runtime.run(
      createStreamSource({
        type: 'kafka',
        url,
        name,
        batch_events: 100_000,
        batch_ms: 500,
        until_idle: '1s',
      }),
    );
  } finally {
    await runtime.close();
    wh.close();
  }
}

/** adpipe's Kafka reader on its own, outside a source. */
const adpipeReader = (url: string, name: string) =>
  kafkaBroker.reader(parseStreamUrl(url, kafkaBroker, kafkaBroker.readerParams), { name });

async function withWarehouse<T>(dataDir: string, f: (wh: Warehouse) => Promise<T>): Promise<T> {
  const wh = await Warehouse.open(dataDir);
  try {
    return await f(wh);
  } finally {
    wh.close();
  }
}

const lakeIdsOf = (dataDir: string) =>
  withWarehouse(dataDir, async (wh) =>
    (await wh.all<{ event_id: string }>(`SELECT event_id FROM ${await lakeRelation(wh)} ORDER BY 1`)).map(
      (r) => r.event_id,
    ),
  );

const positionsOf = (dataDir: string, source: string) =>
  withWarehouse(dataDir, async (wh) =>
    Object.fromEntries(
      (
        await wh.all<{ stream: string; position: string }>(
          'SELECT stream, position FROM source_positions WHERE source = $1',
          [source],
        )
      ).map((r) => [r.stream, r.position]),
    ),
  );

/** A topic's end offsets and the group's committed ones (-1: none), by partition. */
async function offsetsOf(
  topic: string,
  group: string,
  partitions: number[],
): Promise<{ ends: string[]; group: string[] }> {
  const consumer = new Consumer({
    clientId: 'adpipe-test',
    groupId: group,
    bootstrapBrokers: [testBroker()],
  });
  try {
    const ends = (await consumer.listOffsets({ topics: [topic] })).get(topic)!.map(String);
    const committed = (await consumer.listCommittedOffsets({ topics: [{ topic, partitions }] }))
      .get(topic)!
      .map(String);
    return { ends, group: committed };
  } finally {
    await consumer.close();
  }
}

/**
 * Partition 0 of a one-partition topic ends at `end`, and both the warehouse's committed position
 * of source `name` and its group's offset (`adpipe-<name>`) stand there: nothing left to read.
 */
async function expectCommittedToEnd(
  topic: string,
  dataDir: string,
  name: string,
  end: string,
): Promise<void> {
  const offsets = await offsetsOf(topic, `adpipe-${name}`, [0]);
  expect(offsets.ends).toEqual([end]);
  expect(await positionsOf(dataDir, name)).toEqual({ '0': end });
  expect(offsets.group).toEqual([end]);
}

/**
 * Writes to partition 0 with Kafka's reference Java client (test/sources/kafka/TxnProducer.java:
 * begin, commit, abort, t:<value> in the transaction, p:<value> from a plain producer): the Node
 * client has no transactions. No java or no jars is a failure, not a skip.
 */
function javaProduce(topic: string, ops: string[]): void {
  const lib = kafkaLib();
  const jars = existsSync(lib) ? readdirSync(lib) : [];
  if (!jars.some((f) => /^kafka-clients-.*\.jar$/.test(f)))
    throw new Error(`no kafka-clients jar in ${lib}: run scripts/services.sh (or set ADPIPE_TEST_KAFKA_LIB)`);
  const r = spawnSync('java', ['-cp', path.join(lib, '*'), TXN_PRODUCER, testBroker(), topic, ...ops], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (r.error || r.status !== 0)
    throw new Error(`java TxnProducer: ${r.error?.message ?? `exit ${r.status}`}\n${r.stderr}`);
}

(await describeWith('kafka'))('kafka source', () => {
  beforeAll(async () => {
    admin = kafkaAdmin();
    producer = new Producer({
      clientId: 'adpipe-test-producer',
      bootstrapBrokers: [testBroker()],
      idempotent: true,
      acks: ProduceAcks.ALL,
    });
  });

  afterAll(async () => {
    await producer?.close();
    if (topics.length > 0) await admin.deleteTopics({ topics });
    await admin?.close();
  });

  describe('conformance: adpipe stream --until-idle', () => {
    /** Each test's topic, by its input dir; units go round its partitions. */
    const topicOf = new Map<string, { topic: string; units: number }>();
    const topicFor = async (inputDir: string) => {
      let t = topicOf.get(inputDir);
      if (!t) {
        t = { topic: await newTopic('conformance'), units: 0 };
        topicOf.set(inputDir, t);
      }
      return t;
    };
    sourceConformance({
      offer: async (_dataDir, inputDir, _name, data) => {
        const t = await topicFor(inputDir);
        const partition = t.units++ % PARTITIONS;
        const offset = await produce(t.topic, partition, messagesOf(data));
        return `kafka:${t.topic}/${partition}@${offset}`;
      },
      create: async (_dataDir, inputDir) =>
        createStreamSource({
          type: 'kafka',
          url: urlOf((await topicFor(inputDir)).topic),
          batch_events: 100_000,
          batch_ms: 500,
          until_idle: '2s',
        }),
      command: (inputDir) => ['stream', '--from', urlOf(topicOf.get(inputDir)!.topic), '--until-idle', '3s'],
      finite: true,
      idle: () => true,
      unreadable: { code: 'stream.not_utf8', message: /^message: not UTF-8 text$/ },
    });
  });
  it('loads only its partitions, commits their end offsets as positions and to the group, then only what came after', async () => {
    const topic = await newTopic('subset', 4);
    const sent = new Map<number, string[]>();
    const publish = async (partition: number, prefix: string, n: number) => {
      const lines = oneEventEach(`${prefix}${partition}`, n);
      await produce(topic, partition, lines);
      sent.set(partition, [...(sent.get(partition) ?? []), ...lines.map(String)]);
    };
    for (let p = 0; p < 4; p++) await publish(p, 'a', 20 + p);
    const dataDir = makeTempDir('kafka-subset');
    await load(dataDir, urlOf(topic, '?partitions=3,1'), 'sub');
    const idsOf = (...partitions: number[]) =>
      partitions
        .flatMap((p) => sent.get(p)!.map((l) => (JSON.parse(l) as { event_id: string }).event_id))
        .sort();
    expect(await lakeIdsOf(dataDir)).toEqual(idsOf(1, 3));

    const endOffsets = () => offsetsOf(topic, 'adpipe-sub', [0, 1, 2, 3]);
    let offsets = await endOffsets();
    expect(offsets.ends).toEqual(['20', '21', '22', '23']);
    expect(await positionsOf(dataDir, 'sub')).toEqual({ '1': offsets.ends[1], '3': offsets.ends[3] });
    // The group's offsets are Kafka's "next to read" (lag 0); partitions 0 and 2 are another loader's.
    expect(offsets.group).toEqual(['-1', offsets.ends[1], '-1', offsets.ends[3]]);

    // New messages on a partition of its own and on another's: a restart loads only its new ones.
    await publish(1, 'b', 5);
    await publish(2, 'b', 5);
    await load(dataDir, urlOf(topic, '?partitions=1,3'), 'sub');
    expect(await lakeIdsOf(dataDir)).toEqual(idsOf(1, 3));
    offsets = await endOffsets();
    expect(await positionsOf(dataDir, 'sub')).toEqual({ '1': '26', '3': '23' });
    expect(offsets.group).toEqual(['-1', '26', '-1', '23']);
    const batches = await withWarehouse(dataDir, (wh) =>
      wh.all<{ accepted: string }>('SELECT accepted::VARCHAR AS accepted FROM batches ORDER BY batch_id'),
    );
    expect(batches.map((b) => Number(b.accepted))).toEqual([21 + 23, 5]);
  }, 60_000);

  it('loads committed transactions and plain records, not aborted transactions, and commits the end offset', async () => {
    const topic = await newTopic('transactions', 1);
    const [p, c, a] = ['plain', 'committed', 'aborted'].map((kind) => oneEventEach(kind, 4).map(String));
    const t = (v: string) => `t:${v}`;
    const plain = (v: string) => `p:${v}`;
    // Offsets: plain 0-1; a transaction 2-4 and its commit 5; an aborted one 6, 8 around a plain
    // record 7, abort 9; plain 10; commit 11-12; the partition ending in an aborted transaction 13-15.
    javaProduce(topic, [
      ...[p[0]!, p[1]!].map(plain),
      'begin',
      ...[c[0]!, c[1]!, c[2]!].map(t),
      'commit',
      'begin',
      t(a[0]!),
      plain(p[2]!),
      t(a[1]!),
      'abort',
      plain(p[3]!),
      'begin',
      t(c[3]!),
      'commit',
      'begin',
      ...[a[2]!, a[3]!].map(t),
      'abort',
    ]);
    const dataDir = makeTempDir('kafka-transactions');
    await load(dataDir, urlOf(topic), 'txn');
    const ids = (kind: string) => [0, 1, 2, 3].map((i) => `${kind}-${i}`);
    expect(await lakeIdsOf(dataDir)).toEqual([...ids('committed'), ...ids('plain')].sort());
    // Past the aborted records and markers at the end: the group's lag is 0.
    await expectCommittedToEnd(topic, dataDir, 'txn', '16');
  }, 90_000);

  it('commits the end offset after an aborted transaction fetched on its own, with no record after it', async () => {
    const topic = await newTopic('abort-alone', 1);
    const [first, aborted] = oneEventEach('alone', 2).map(String);
    javaProduce(topic, [`p:${first}`]);
    const dataDir = makeTempDir('kafka-abort-alone');
    await load(dataDir, urlOf(topic), 'alone');
    expect(await positionsOf(dataDir, 'alone')).toEqual({ '0': '1' });
    // Offsets 1 (the aborted record) and 2 (its marker): nothing to load, but the end moves to 3.
    javaProduce(topic, ['begin', `t:${aborted}`, 'abort']);
    await load(dataDir, urlOf(topic), 'alone');
    expect(await lakeIdsOf(dataDir)).toEqual(['alone-0']);
    await expectCommittedToEnd(topic, dataDir, 'alone', '3');
  }, 90_000);

  it('dead-letters a tombstone and a message that is not JSON under their offsets, and goes on', async () => {
    const topic = await newTopic('poison', 1);
    const good = oneEventEach('t', 4);
    await produce(topic, 0, [
      good[0]!,
      Buffer.alloc(0),
      Buffer.from('this is not json'),
      Buffer.from(`${good[1]}\n${good[2]}\n`),
      good[3]!,
    ]);
    const dataDir = makeTempDir('kafka-poison');
    await load(dataDir, urlOf(topic), 'poison');
    expect(await lakeIdsOf(dataDir)).toEqual(['t-0', 't-1', 't-2', 't-3']);
    expect(await positionsOf(dataDir, 'poison')).toEqual({ '0': '5' });
    const letters = await withWarehouse(dataDir, async (wh) =>
      readdirSync(wh.deadLetterDir)
        .filter((f) => /^b\d+\.ndjson$/.test(f))
        .flatMap((f) =>
          readFileSync(path.join(wh.deadLetterDir, f), 'utf8')
            .trim()
            .split('\n')
            .map((l) => JSON.parse(l) as { source: string; line: number; code: string }),
        ),
    );
    expect(letters.map((l) => [l.source, l.line, l.code]).sort()).toEqual([
      [`kafka:${topic}/0@1`, 1, 'kafka.tombstone'],
      [`kafka:${topic}/0@2`, 1, expect.stringMatching(/json/i)],
    ]);
  }, 60_000);

  it('goes on from the earliest offset left when retention deleted messages before they were loaded', async () => {
    const topic = await newTopic('retention', 1);
    const lines = oneEventEach('r', 30);
    const ids = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `r-${from + i}`);
    await produce(topic, 0, lines.slice(0, 10));
    const dataDir = makeTempDir('kafka-retention');
    await load(dataDir, urlOf(topic), 'retention');
    // Deleted while no loader ran: the next open starts after the hole.
    await produce(topic, 0, lines.slice(10, 20));
    await deleteRecordsBefore(topic, 0, 15);
    await load(dataDir, urlOf(topic), 'retention');
    expect(await lakeIdsOf(dataDir)).toEqual([...ids(0, 10), ...ids(15, 20)].sort());
    expect(await positionsOf(dataDir, 'retention')).toEqual({ '0': '20' });

    // Deleted while a reader is open at an offset the broker no longer has: its next read goes on.
    const reader = adpipeReader(urlOf(topic), 'retention');
    try {
      await reader.open({ '0': '20' });
      await produce(topic, 0, lines.slice(20, 30));
      await deleteRecordsBefore(topic, 0, 25);
      const read = await reader.read(100, 1000);
      expect(read.map((m) => m.position)).toEqual(['25', '26', '27', '28', '29']);
    } finally {
      await reader.close();
    }
  }, 60_000);

  it('reads a batch larger than its fetch limits in a partition behind a busy one, then loads every event once', async () => {
    // The reader asks for 4 MiB per partition (fetch.ts); the broker returns a larger batch whole
    // only to the first partition of a request that has data (KIP-74), and the topic allows 16 MiB.
    const topic = await newTopic('big-batch', 3, { 'max.message.bytes': String(16 << 20) });
    /** Messages of 100 events of about 2 kB each (a long user_agent): megabytes of few events. */
    const UA = 'u'.repeat(2000);
    const sent: string[] = [];
    const fat = (count: number, perMessage = 100): Buffer[] => {
      const lines = Array.from({ length: count }, () => {
        const id = `big-${sent.length}`;
        sent.push(id);
        return JSON.stringify({
          event_id: id,
          type: 'impression',
          ts: '2025-05-05T05:05:05Z',
          user_agent: UA,
        });
      });
      const out: Buffer[] = [];
      for (let i = 0; i < lines.length; i += perMessage)
        out.push(Buffer.from(`${lines.slice(i, i + perMessage).join('\n')}\n`));
      return out;
    };
    // Partition 1: small messages, one of 4.6 MB (one record batch), small ones again; 2: small ones.
    await produce(topic, 1, fat(3, 1));
    await produce(topic, 1, fat(2200, 2200));
    await produce(topic, 1, fat(3, 1));
    await produce(topic, 2, fat(5, 1));

    // Partition 0 busy: three batches of 1.5 MB before each read, which fetches (ahead) once, and
    // takes two of them (4 MiB), so it never runs dry: in a fixed order partition 1's big batch
    // would come cut off every time.
    const reader = adpipeReader(urlOf(topic), 'big-batch');
    const ofPartition1: string[] = [];
    try {
      await reader.open({});
      for (let round = 0; round < 6 && ofPartition1.length < 7; round++) {
        await produce(topic, 0, fat(2100), 7);
        for (const m of await reader.read(100_000, 1000)) if (m.stream === '1') ofPartition1.push(m.position);
      }
    } finally {
      await reader.close();
    }
    expect(ofPartition1).toEqual(['0', '1', '2', '3', '4', '5', '6']);

    const dataDir = makeTempDir('kafka-big-batch');
    await load(dataDir, urlOf(topic), 'big');
    expect(await lakeIdsOf(dataDir)).toEqual(sent.sort());
    const counts = await withWarehouse(dataDir, (wh) =>
      wh.all<{ duplicates: string; rejected: string }>(
        'SELECT sum(duplicates)::VARCHAR AS duplicates, sum(rejected)::VARCHAR AS rejected FROM batches',
      ),
    );
    expect(counts).toEqual([{ duplicates: '0', rejected: '0' }]);
    const { ends } = await offsetsOf(topic, 'adpipe-big', [0, 1, 2]);
    expect(await positionsOf(dataDir, 'big')).toEqual({ '0': ends[0], '1': '7', '2': '5' });
  }, 180_000);

  it('with start=latest reads only what comes after it opens', async () => {
    const topic = await newTopic('latest', 1);
    const lines = oneEventEach('l', 8);
    await produce(topic, 0, lines.slice(0, 5));
    const reader = adpipeReader(urlOf(topic, '?start=latest'), 'latest');
    try {
      await reader.open({});
      expect(await reader.read(100, 300)).toEqual([]);
      await produce(topic, 0, lines.slice(5));
      const read = await reader.read(100, 1000);
      expect(read.map((m) => [m.stream, m.position, m.next, m.value!.toString()])).toEqual([
        ['0', '5', '6', lines[5]!.toString()],
        ['0', '6', '7', lines[6]!.toString()],
        ['0', '7', '8', lines[7]!.toString()],
      ]);
    } finally {
      await reader.close();
    }
  }, 60_000);

  it('ends with a config error, not a hung process, for a topic or partition the broker does not have', async () => {
    const topic = await newTopic('absent', 2);
    for (const [url, message] of [
      [urlOf(`${topic}-not-created`), /ADP_ERR_CONFIG: .*no such topic on 127\.0\.0\.1:9092/],
      [urlOf(topic, '?partitions=1,2'), /ADP_ERR_CONFIG: .*no partition 2 \(the topic has 2\)/],
    ] as const) {
      const dataDir = makeTempDir('kafka-absent');
      const r = spawnSync(
        process.execPath,
        ['--import', 'tsx', CLI, '--data-dir', dataDir, 'stream', '--from', url, '--until-idle', '1s'],
        { encoding: 'utf8', timeout: 30_000 },
      );
      expect(r.signal).toBeNull();
      expect(r.stderr).toMatch(message);
      expect(r.status).toBe(2);
    }
  }, 70_000);

  it('adpipe generate --to kafka:// publishes keyed events whose reports equal what was produced', async () => {
    const topic = await newTopic('generate');
    const dataDir = makeTempDir('kafka-generate');
    const cli = (...args: string[]) => {
      const r = spawnSync(process.execPath, ['--import', 'tsx', CLI, '--data-dir', dataDir, ...args], {
        encoding: 'utf8',
      });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      return r.stdout;
    };
    const out = cli(
      'generate',
      '--to',
      urlOf(topic),
      '--events',
      '3000',
      '--start',
      '2025-05-05T00:00:00Z',
      '--hours',
      '6',
      '--rate',
      '5000',
      '--batch',
      '200',
    );
    const [, published, seconds] = /published (\d+) records .* in ([\d.]+) s/.exec(out)!;
    // Paced: 3000-odd events at 5000/s take about 0.6 s.
    expect(Number(seconds)).toBeGreaterThanOrEqual(0.5);

    // What was produced, read back by a consumer of its own.
    const truth = { impressions: 0, clicks: 0, conversions: 0, revenue: 0n };
    for (const m of await readBack(topic, Number(published))) {
      const event = JSON.parse(m.value.toString()) as { event_id: string; type: string; revenue?: string };
      expect(m.key.toString()).toBe(event.event_id);
      if (event.type === 'impression') truth.impressions++;
      if (event.type === 'click') truth.clicks++;
      if (event.type === 'conversion') truth.conversions++;
      if (event.type === 'impression' || event.type === 'click') truth.revenue += micros(event.revenue);
    }
    expect(truth.impressions).toBeGreaterThan(0);

    cli('stream', '--from', urlOf(topic), '--until-idle', '2s');
    const ad = await withWarehouse(dataDir, (wh) =>
      runReport(wh, { report: 'ad', from: '2025-05-04', to: '2025-05-06', grain: 'total', by: [] }),
    );
    const row = ad.rows[0]!;
    expect({
      impressions: Number(row.impressions),
      clicks: Number(row.clicks),
      conversions: Number(row.conversions),
      revenue: micros(row.revenue),
    }).toEqual(truth);
    expect(formatMicros(truth.revenue)).toBe(row.revenue);
  }, 120_000);
});
