// The Redis Streams source against the real Redis: the source conformance suite (each unit offered
// is XADDed as entries of at most 500 lines, a small unit as one entry), then what only a consumer
// group has: its own pending entries re-read after a crash, a dead consumer's claimed at open,
// entries at or before the committed id acknowledged and never loaded again, entries without the
// field dead-lettered, and reports equal to an independent oracle of what was published.
import path from 'node:path';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMetadata } from '../../src/pipeline/metadata.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { redisBroker } from '../../src/sources/redis/broker.js';
import { idAfter } from '../../src/sources/redis/reader.js';
import { redisSettings } from '../../src/sources/redis/settings.js';
import type { StreamReader } from '../../src/sources/stream/broker.js';
import { parseStreamUrl } from '../../src/sources/stream/brokers.js';
import { createStreamSource } from '../../src/sources/stream/config.js';
import { StreamSource } from '../../src/sources/stream/source.js';
import { Warehouse } from '../../src/warehouse/warehouse.js';
import { describeWith, testServices } from '../helpers/services.js';
import { makeTempDir } from '../helpers/tmp.js';
import { deadLetters, withWarehouse } from '../pipeline/fixtures.js';
import { events, sourceConformance } from './conformance.js';
import { expectOracleReports, publishedTraffic } from './stream-oracle.js';

const redis = createClient({ url: testServices.redisUrl, RESP: 2 });
const streams = new Set<string>();
/** The Redis server of the tests, without a path: the stream's key goes there. */
const server = testServices.redisUrl.replace(/\/\d*$/, '');
const urlOf = (stream: string, params = '') => `${server}/${encodeURIComponent(stream)}${params}`;
const streamOf = (inputDir: string) => {
  const stream = `adpipe-test-${path.basename(inputDir)}`;
  streams.add(stream);
  return stream;
};
const UNTIL_IDLE = '2s';
/** Lines per entry of a unit offered: a small unit is one entry, a big one many. */
const LINES_PER_ENTRY = 500;

/** The bytes' lines (newline-terminated), at most LINES_PER_ENTRY per entry. */
function entriesOf(data: string | Buffer): Buffer[] {
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data);
  const entries: Buffer[] = [];
  let start = 0;
  let lines = 0;
  for (let at = buf.indexOf(10); at !== -1; at = buf.indexOf(10, at + 1))
    if (++lines === LINES_PER_ENTRY) {
      entries.push(buf.subarray(start, at + 1));
      start = at + 1;
      lines = 0;
    }
  if (start < buf.length) entries.push(buf.subarray(start));
  return entries;
}

async function xadd(
  stream: string,
  values: ReadonlyArray<string | Buffer>,
  field = 'event',
): Promise<string[]> {
  return Promise.all(values.map((v) => redis.sendCommand<string>(['XADD', stream, '*', field, v])));
}

/** n entries of `each` events, ids `<prefix><entry>-<event>`. */
const entriesOfEvents = (prefix: string, n: number, each: number) =>
  Array.from({ length: n }, (_, i) => events(`${prefix}${i}`, each));

/** A stream and a data dir of one test's own. */
const fresh = (prefix: string) => ({
  stream: streamOf(makeTempDir(prefix)),
  dataDir: makeTempDir(`${prefix}-data`),
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const address = (stream: string, id: string) => `redis:${stream}/${stream}@${id}`;

function streamConfig(url: string) {
  return { type: 'redis', url, batch_events: 100_000, batch_ms: 1000, until_idle: UNTIL_IDLE };
}

/** A reader as the broker makes it for a source of this name. */
function readerOf(url: string, name: string): StreamReader {
  return redisBroker.reader(parseStreamUrl(url, redisBroker, redisBroker.readerParams), { name });
}

/** Runs a finite stream source to its idle end. */
async function loadInto(wh: Warehouse, source: StreamSource): Promise<void> {
  const runtime = await Runtime.open(wh);
  try {
    await runtime.run(source);
  } finally {
    await runtime.close();
  }
}

const load = (dataDir: string, source: StreamSource) => withWarehouse(dataDir, (wh) => loadInto(wh, source));

/** A source over the reader, finite, named as `adpipe stream` names it. */
const sourceOver = (stream: string, reader: StreamReader, batchEvents = 100_000) =>
  new StreamSource('redis', reader, {
    name: `redis:${stream}`,
    batchEvents,
    batchMs: 1000,
    untilIdleMs: 2000,
  });

async function pendingCount(stream: string, group = 'adpipe'): Promise<number> {
  const [count] = await redis.sendCommand<[number]>(['XPENDING', stream, group]);
  return Number(count);
}

/** What the batches loaded, and the committed positions. */
async function facts(wh: Warehouse) {
  const row = await wh.one<{ accepted: string; duplicates: string; rejected: string; batches: string }>(
    `SELECT coalesce(sum(accepted), 0)::VARCHAR AS accepted, coalesce(sum(duplicates), 0)::VARCHAR AS duplicates,
         coalesce(sum(rejected), 0)::VARCHAR AS rejected, count(*)::VARCHAR AS batches FROM batches`,
  );
  const positions = await wh.all<{ source: string; stream: string; position: string }>(
    'SELECT source, stream, position FROM source_positions',
  );
  return {
    accepted: Number(row!.accepted),
    duplicates: Number(row!.duplicates),
    rejected: Number(row!.rejected),
    batches: Number(row!.batches),
    positions,
  };
}

const warehouseFacts = (dataDir: string) => withWarehouse(dataDir, facts);

(await describeWith('redis'))('Redis Streams source', () => {
  beforeAll(async () => {
    redis.on('error', () => undefined);
    await redis.connect();
  });
  afterAll(async () => {
    if (streams.size > 0) await redis.sendCommand(['DEL', ...streams]);
    await redis.close();
  });

  sourceConformance({
    offer: async (_dataDir, inputDir, _name, data) => {
      const stream = streamOf(inputDir);
      const [first] = await xadd(stream, entriesOf(data));
      return address(stream, first!);
    },
    create: async (_dataDir, inputDir) => createStreamSource(streamConfig(urlOf(streamOf(inputDir)))),
    command: (inputDir) => ['stream', '--from', urlOf(streamOf(inputDir)), '--until-idle', UNTIL_IDLE],
    finite: true,
    idle: () => true,
    unreadable: { code: 'stream.not_utf8', message: /^message: not UTF-8 text$/ },
  });

  it('re-reads its own pending entries after a crash and loads each once', async () => {
    const { stream, dataDir } = fresh('redis-own');
    await xadd(stream, entriesOf(events('own', 3000)));
    await xadd(stream, entriesOfEvents('one', 100, 1));
    // A run that died before its first commit: 40 entries delivered to it, never acknowledged.
    const crashed = readerOf(urlOf(stream), `redis:${stream}`);
    await crashed.open({});
    expect((await crashed.read(40, 100)).length).toBe(40);
    await crashed.close();
    expect(await pendingCount(stream)).toBe(40);

    await load(dataDir, createStreamSource(streamConfig(urlOf(stream))));
    const facts = await warehouseFacts(dataDir);
    expect(facts).toMatchObject({ accepted: 3100, duplicates: 0, rejected: 0 });
    expect(await pendingCount(stream)).toBe(0);
  }, 60_000);

  it('acknowledges entries at or before the committed id without loading them again', async () => {
    const { stream, dataDir } = fresh('redis-committed');
    const firstIds = await xadd(stream, entriesOfEvents('c', 50, 2));
    // Committed, then the process died before XACK: everything stays pending.
    const unacked = readerOf(urlOf(stream), `redis:${stream}`);
    unacked.ack = async () => undefined;
    await load(dataDir, sourceOver(stream, unacked));
    expect(await pendingCount(stream)).toBe(50);
    const committed = await warehouseFacts(dataDir);
    expect(committed.positions).toEqual([{ source: `redis:${stream}`, stream, position: firstIds[49] }]);

    const laterIds = await xadd(stream, entriesOfEvents('l', 5, 2));
    // The next run: the stale pending ones are acknowledged, only the new ones are loaded.
    // Each XACK sees its ids committed: the warehouse's position is the last of them already.
    const acks: Array<{ ids: string[]; committed: string | undefined }> = [];
    const watched = readerOf(urlOf(stream), `redis:${stream}`);
    const ack = watched.ack.bind(watched);
    await withWarehouse(dataDir, async (wh) => {
      watched.ack = async (messages, positions) => {
        acks.push({
          ids: messages.map((m) => m.position),
          committed: (await facts(wh)).positions[0]?.position,
        });
        await ack(messages, positions);
      };
      await loadInto(wh, sourceOver(stream, watched));
    });
    const after = await warehouseFacts(dataDir);
    expect(after).toMatchObject({ accepted: 110, duplicates: 0, batches: committed.batches + 1 });
    expect(after.positions[0]!.position).toBe(laterIds[4]);
    expect(acks).toEqual([{ ids: laterIds, committed: laterIds[4] }]);
    expect(await pendingCount(stream)).toBe(0);
  }, 60_000);

  /** A consumer of the group that reads n entries and dies before any commit. */
  async function dies(stream: string, consumer: string, n: number): Promise<void> {
    const reader = readerOf(urlOf(stream, `?consumer=${consumer}`), 'other');
    await reader.open({});
    expect((await reader.read(n, 100)).length).toBe(n);
    await reader.close();
  }

  it('claims the pending entries of a consumer that is gone, at open, unless it may be alive', async () => {
    const { stream, dataDir } = fresh('redis-claim');
    await xadd(stream, entriesOfEvents('d', 30, 3));
    await dies(stream, 'gone', 20);
    await sleep(300);
    // Idle for less than claim_idle_ms: a consumer that may still be working keeps its entries.
    const patient = readerOf(urlOf(stream, '?claim_idle_ms=60000'), `redis:${stream}`);
    await patient.open({});
    expect((await patient.read(100, 100)).length).toBe(10);
    await patient.close();
    expect(await pendingCount(stream)).toBe(30);

    await load(dataDir, createStreamSource(streamConfig(urlOf(stream, '?claim_idle_ms=200'))));
    expect(await warehouseFacts(dataDir)).toMatchObject({ accepted: 90, duplicates: 0 });
    expect(await pendingCount(stream)).toBe(0);
  }, 60_000);

  it('claims only entries after its committed id: one before may be committed elsewhere, or not', async () => {
    const { stream, dataDir } = fresh('redis-renamed');
    await xadd(stream, entriesOfEvents('e', 20, 3));
    // Consumer a commits all 20 and dies before XACK; it takes 5 of 10 later entries, dies again.
    const a = readerOf(urlOf(stream, '?consumer=a'), `redis:${stream}`);
    a.ack = async () => undefined;
    await load(dataDir, sourceOver(stream, a));
    const later = await xadd(stream, entriesOfEvents('f', 10, 3));
    await dies(stream, 'a', 5);
    await sleep(300);
    // Renamed to b, same source: a's 5 uncommitted entries are claimed and loaded; its 20
    // committed ones stay pending (they could as well be another source's, not yet committed).
    const b = readerOf(urlOf(stream, '?consumer=b&claim_idle_ms=200'), `redis:${stream}`);
    await load(dataDir, sourceOver(stream, b));
    const after = await warehouseFacts(dataDir);
    expect(after).toMatchObject({ accepted: 90, duplicates: 0 });
    expect(after.positions[0]!.position).toBe(later[9]);
    const pending = await redis.sendCommand<Array<[string, string]>>([
      'XPENDING',
      stream,
      'adpipe',
      '-',
      '+',
      '100',
    ]);
    expect(pending.map((p) => p[1])).toEqual(Array(20).fill('a'));
  }, 60_000);

  it('reads again what a read lost with its connection had been given, before anything newer', async () => {
    const { stream } = fresh('redis-lost');
    const name = `redis:${stream}`;
    await xadd(stream, entriesOfEvents('a', 3, 1));
    const reader = readerOf(urlOf(stream), name);
    await reader.open({});
    const got: string[] = [];
    const take = async () => {
      for (const m of await reader.read(100, 100)) got.push(m.position);
    };
    try {
      await take();
      expect(got).toHaveLength(3);
      // The group gives entries to the consumer, and the reply never reaches the reader.
      const lost = await xadd(stream, entriesOfEvents('b', 4, 1));
      await redis.sendCommand([
        'XREADGROUP',
        'GROUP',
        'adpipe',
        name,
        'COUNT',
        '100',
        'STREAMS',
        stream,
        '>',
      ]);
      // Settled now, not when expected below: the killed socket may close before CLIENT KILL is
      // answered, and a rejection with no handler yet is an unhandled one.
      const blocked = reader.read(100, 10_000).then(
        () => undefined,
        (err: unknown) => err,
      );
      await sleep(200);
      const clients = await redis.sendCommand<string>(['CLIENT', 'LIST']);
      const line = clients.split('\n').find((l) => l.includes(` name=adpipe-reads:adpipe:${name} `));
      const id = /^id=(\d+) /.exec(line ?? '')?.[1];
      expect(id).toBeDefined();
      await redis.sendCommand(['CLIENT', 'KILL', 'ID', id!]);
      expect(await blocked).toBeInstanceOf(Error);
      const newer = await xadd(stream, entriesOfEvents('c', 2, 1));
      for (let tries = 0; got.length < 9 && tries < 50; tries++) await take().catch(() => sleep(100));
      expect(got.slice(3)).toEqual([...lost, ...newer]);
    } finally {
      await reader.close();
    }
  }, 60_000);

  it('dead-letters an entry without the field and one that is not JSON under their own ids', async () => {
    const { stream, dataDir } = fresh('redis-poison');
    const [good] = await xadd(stream, [events('ok', 2)]);
    const [noField] = await xadd(stream, ['{"event_id":"x"}'], 'payload');
    const [notJson] = await xadd(stream, ['this is not json']);
    const [renamed] = await xadd(stream, [events('renamed', 1)], 'payload');
    await load(dataDir, createStreamSource(streamConfig(urlOf(stream))));
    const letters = deadLetters(dataDir).map((l) => ({ source: l.source, line: l.line, code: l.code }));
    expect(letters).toHaveLength(3);
    expect(letters).toContainEqual({ source: address(stream, noField!), line: 1, code: 'redis.no_field' });
    expect(letters).toContainEqual(expect.objectContaining({ source: address(stream, notJson!), line: 1 }));
    expect(letters).toContainEqual({ source: address(stream, renamed!), line: 1, code: 'redis.no_field' });
    expect(letters.map((l) => l.source)).not.toContain(address(stream, good!));
    expect(await warehouseFacts(dataDir)).toMatchObject({ accepted: 2, rejected: 3 });
    expect(await pendingCount(stream)).toBe(0);

    // The same entries read through field=payload: the former field-less entries load.
    const other = makeTempDir('redis-poison-field');
    await load(other, createStreamSource(streamConfig(urlOf(stream, '?field=payload&group=by-payload'))));
    expect(await warehouseFacts(other)).toMatchObject({ accepted: 1 });
  }, 60_000);

  it('loads what the publisher sent: reports equal an independent computation of it', async () => {
    const root = makeTempDir('redis-reports');
    const stream = streamOf(root);
    const dataDir = path.join(root, 'data');
    // Repeats of earlier ids with other values (the first one wins), and records the contract refuses.
    const traffic = await publishedTraffic(root, {
      count: 4000,
      prefix: 'rs',
      repeats: 80,
      bad: [
        [10, 'not json at all'],
        [500, { event_id: 'bad-type', type: 'nope', ts: '2024-03-10T12:00:00Z' }],
      ],
    });
    const { oracle, lines } = traffic;

    // Published as adpipe publishes: one record per entry, some of them NDJSON of several lines.
    const records: Array<{ key: string; value: string }> = [];
    for (let i = 0; i < lines.length; ) {
      const n = i % 7 === 0 ? 5 : 1;
      records.push({ key: String(i), value: `${lines.slice(i, i + n).join('\n')}\n` });
      i += n;
    }
    const publisher = await redisBroker.publisher(parseStreamUrl(urlOf(stream), redisBroker, []));
    try {
      await publisher.publish(records);
    } finally {
      await publisher.close();
    }
    expect(Number(await redis.sendCommand(['XLEN', stream]))).toBe(records.length);

    const wh = await Warehouse.open(dataDir);
    await loadMetadata(wh, traffic.metadata);
    wh.close();
    const source = createStreamSource({ ...streamConfig(urlOf(stream)), batch_events: 300 });
    await load(dataDir, source);

    const facts = await warehouseFacts(dataDir);
    expect(facts).toMatchObject({
      accepted: oracle.accepted,
      duplicates: oracle.duplicates,
      rejected: oracle.rejected,
    });
    expect(facts.batches).toBeGreaterThan(1);
    await expectOracleReports(dataDir, traffic);
    expect(await pendingCount(stream)).toBe(0);
  }, 120_000);

  it("connects as the URL's user, and says which URL when it cannot", async () => {
    const stream = streamOf(makeTempDir('redis-auth'));
    const user = `adpipe-test-${path.basename(stream)}`;
    const password = 'p@ss:w/rd';
    await redis.sendCommand(['ACL', 'SETUSER', user, 'on', `>${password}`, `~${stream}`, '+@all']);
    try {
      await xadd(stream, [events('auth', 4)]);
      const withUser = (pw: string) =>
        urlOf(stream).replace('redis://', `redis://${encodeURIComponent(user)}:${encodeURIComponent(pw)}@`);
      const dataDir = makeTempDir('redis-auth-data');
      await load(dataDir, createStreamSource(streamConfig(withUser(password))));
      expect((await warehouseFacts(dataDir)).accepted).toBe(4);
      const refused = createStreamSource(streamConfig(withUser('wrong')));
      await expect(load(makeTempDir('redis-auth-refused'), refused)).rejects.toThrow(
        new RegExp(`^cannot read input redis://${user}:\\*\\*\\*@\\S+: WRONGPASS`),
      );
    } finally {
      await redis.sendCommand(['ACL', 'DELUSER', user]);
    }
  }, 60_000);

  it('orders entry ids numerically, not as text', () => {
    expect(idAfter('10-0', '9-5')).toBe(true);
    expect(idAfter('5-10', '5-9')).toBe(true);
    expect(idAfter('5-9', '5-9')).toBe(false);
    expect(idAfter('5-9', '5-10')).toBe(false);
    expect(idAfter('18446744073709551615-1', '18446744073709551614-99')).toBe(true);
  });
});

describe('redis:// URLs', () => {
  const settingsOf = (url: string) =>
    redisSettings(parseStreamUrl(url, redisBroker, redisBroker.readerParams), 'redis:ads');

  it('take the path as the stream key and default the group, consumer, field and claim idle time', () => {
    expect(settingsOf('redis://u%40x:p%3Aw@cache.internal/ad%2Fevents')).toEqual({
      host: 'cache.internal',
      port: 6379,
      user: 'u@x',
      password: 'p:w',
      key: 'ad/events',
      group: 'adpipe',
      consumer: 'redis:ads',
      field: 'event',
      claimIdleMs: 60_000,
      shown: 'redis://u%40x:***@cache.internal/ad%2Fevents',
    });
    expect(settingsOf('redis://[::1]:6380/s?group=g&consumer=c&field=f&claim_idle_ms=0')).toMatchObject({
      host: '::1',
      port: 6380,
      group: 'g',
      consumer: 'c',
      field: 'f',
      claimIdleMs: 0,
    });
  });

  it('are refused with what is wrong', () => {
    expect(() => settingsOf('redis://a:6379,b:6379/s')).toThrow(/one Redis host only/);
    expect(() => settingsOf('redis://a/s?claim_idle_ms=1m')).toThrow(
      /claim_idle_ms takes milliseconds, got 1m/,
    );
    expect(() => settingsOf('redis://a/s?group=')).toThrow(/group is empty/);
    expect(() => settingsOf('redis://a/s?db=2')).toThrow(
      /unknown parameter db \(group, consumer, field, claim_idle_ms\)/,
    );
    expect(() => settingsOf('redis://a/')).toThrow(/no topic, stream or subject/);
  });
});
