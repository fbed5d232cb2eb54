// The stream source's own behaviour, whatever the broker: batches cut by count and by age, each
// stream's next position committed with its batch, and messages that cannot be records dead-lettered
// under their own address. The reader here is an in-memory list of messages (our interface, not a
// broker's); each broker's conformance run (kafka/redis/nats tests) covers the real clients.

import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { lakeRelation } from '../../src/lake/lake.js';
import { committedPositions } from '../../src/loader/loader.js';
import { Runtime } from '../../src/runtime/runtime.js';
import type { Positions } from '../../src/sources/source.js';
import type { StreamMessage, StreamReader } from '../../src/sources/stream/broker.js';
import { StreamSource } from '../../src/sources/stream/source.js';
import { Warehouse } from '../../src/warehouse/warehouse.js';
import { makeTempDir } from '../helpers/tmp.js';
import { events } from './conformance.js';

/** Messages appended by the test, read in order after the committed position of their stream. */
class ListReader implements StreamReader {
  readonly label = 'mem:t';
  readonly messages: StreamMessage[] = [];
  readonly acked: StreamMessage[] = [];
  private at = 0;

  add(stream: string, value: Buffer | string | undefined): void {
    const position = this.messages.filter((m) => m.stream === stream).length;
    this.messages.push({
      stream,
      position: String(position),
      next: String(position + 1),
      value: value === undefined ? undefined : Buffer.from(value),
    });
  }

  async open(committed: Positions): Promise<void> {
    this.at = 0;
    const after = (m: StreamMessage) => Number(m.position) >= Number(committed[m.stream] ?? 0);
    this.pending = () => this.messages.slice(this.at).filter(after);
  }

  private pending: () => StreamMessage[] = () => [];

  async read(max: number, waitMs: number): Promise<StreamMessage[]> {
    const out = this.pending().slice(0, max);
    if (out.length === 0) {
      await new Promise((r) => setTimeout(r, waitMs));
      return [];
    }
    this.at = this.messages.indexOf(out[out.length - 1]!) + 1;
    return out;
  }

  async ack(messages: readonly StreamMessage[]): Promise<void> {
    this.acked.push(...messages);
  }

  async close(): Promise<void> {}
}

const lines = (prefix: string, n: number) => events(prefix, n).trim().split('\n');

async function batchSizes(wh: Warehouse): Promise<number[]> {
  const rows = await wh.all<{ n: string }>('SELECT accepted::VARCHAR AS n FROM batches ORDER BY batch_id');
  return rows.map((r) => Number(r.n));
}

it('cuts batches by count, commits each stream’s next position, and resumes after it', async () => {
  const dataDir = makeTempDir('stream-count');
  const reader = new ListReader();
  for (const line of lines('a', 250)) reader.add('0', line);
  for (const line of lines('b', 30)) reader.add('1', line);
  const wh = await Warehouse.open(dataDir);
  try {
    const runtime = await Runtime.open(wh);
    const source = new StreamSource('mem', reader, {
      name: 'mem:t',
      batchEvents: 100,
      batchMs: 60_000,
      untilIdleMs: 500,
    });
    await runtime.run(source);
    await runtime.close();
    expect((await batchSizes(wh)).reduce((a, b) => a + b, 0)).toBe(280);
    expect(Math.max(...(await batchSizes(wh)))).toBe(100);
    expect(await committedPositions(wh, 'mem:t')).toEqual({ '0': '250', '1': '30' });
    expect(reader.acked).toHaveLength(280);

    // New messages after a restart: only they are read.
    for (const line of lines('c', 5)) reader.add('1', line);
    const again = await Runtime.open(wh);
    await again.run(
      new StreamSource('mem', reader, { name: 'mem:t', batchEvents: 100, batchMs: 60_000, untilIdleMs: 300 }),
    );
    await again.close();
    expect((await batchSizes(wh)).at(-1)).toBe(5);
    expect(await committedPositions(wh, 'mem:t')).toEqual({ '0': '250', '1': '35' });
  } finally {
    wh.close();
  }
});

it('cuts a batch when its oldest message has waited batch_ms, so a trickle is loaded', async () => {
  const dataDir = makeTempDir('stream-age');
  const reader = new ListReader();
  const wh = await Warehouse.open(dataDir);
  try {
    const runtime = await Runtime.open(wh);
    const source = new StreamSource('mem', reader, { name: 'mem:t', batchEvents: 100_000, batchMs: 300 });
    await runtime.start(source);
    const started = Date.now();
    for (const line of lines('t', 3)) reader.add('0', line);
    await expect.poll(async () => (await batchSizes(wh)).length, { timeout: 10_000, interval: 50 }).toBe(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(await batchSizes(wh)).toEqual([3]);
    await runtime.close();
  } finally {
    wh.close();
  }
});

it('keeps a batch whose files could not be written and writes them again: nothing after them commits first', async () => {
  const dataDir = makeTempDir('stream-write');
  const reader = new ListReader();
  const wh = await Warehouse.open(dataDir);
  try {
    const runtime = await Runtime.open(wh);
    const source = new StreamSource('mem', reader, { name: 'mem:t', batchEvents: 100_000, batchMs: 200 });
    let failures = 0;
    await runtime.start(source, { failed: () => failures++ });
    // The source's folder made a file: every unit write fails (ENOTDIR) until it is a folder again.
    const tmp = path.join(dataDir, 'tmp', `stream-${encodeURIComponent('mem:t')}`);
    rmSync(tmp, { recursive: true });
    writeFileSync(tmp, '');
    for (const line of lines('w', 4)) reader.add('0', line);
    await expect.poll(() => failures, { timeout: 10_000, interval: 50 }).toBeGreaterThanOrEqual(1);
    for (const line of lines('x', 3)) reader.add('0', line);
    await new Promise((r) => setTimeout(r, 300));
    expect(await batchSizes(wh)).toEqual([]);
    rmSync(tmp);
    mkdirSync(tmp);
    await expect
      .poll(async () => (await batchSizes(wh)).reduce((a, b) => a + b, 0), { timeout: 15_000, interval: 50 })
      .toBe(7);
    // The units that failed are loaded whole, with the later messages behind them in one batch.
    expect(await batchSizes(wh)).toEqual([7]);
    expect(await committedPositions(wh, 'mem:t')).toEqual({ '0': '7' });
    const ids = await wh.all<{ id: string }>(
      `SELECT event_id AS id FROM ${await lakeRelation(wh)} ORDER BY 1`,
    );
    expect(ids).toHaveLength(7);
    await runtime.close();
  } finally {
    wh.close();
  }
});

it('dead-letters messages under their own address, with the line within the message', async () => {
  const dataDir = makeTempDir('stream-poison');
  const reader = new ListReader();
  const [good1, good2, good3] = lines('g', 3);
  reader.add('0', good1); // @0
  reader.add('0', Buffer.from([0x7b, 0xff, 0xfe, 0x7d])); // @1 not UTF-8
  reader.add('0', undefined); // @2 no payload
  reader.add('0', '\n  \n'); // @3 only blank lines
  reader.add('0', `${good2}\n\n{"event_id":"x","type":"nope"}\n`); // @4 NDJSON, its 2nd record bad
  reader.add('0', 'not json'); // @5
  reader.add('0', `${good3}\n`); // @6
  const wh = await Warehouse.open(dataDir);
  try {
    const runtime = await Runtime.open(wh);
    await runtime.run(
      new StreamSource('mem', reader, { name: 'mem:t', batchEvents: 100, batchMs: 60_000, untilIdleMs: 300 }),
    );
    await runtime.close();
    expect(await batchSizes(wh)).toEqual([3]);
    const letters = readdirSync(wh.deadLetterDir).flatMap((f) =>
      readFileSync(path.join(wh.deadLetterDir, f), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { source: string; line: number; code: string }),
    );
    expect(letters.map((l) => [l.source, l.line, l.code.split('.')[0]]).sort()).toEqual(
      [
        ['mem:t/0@1', 1, 'stream'],
        ['mem:t/0@2', 1, 'stream'],
        ['mem:t/0@3', 1, 'stream'],
        ['mem:t/0@4', 2, 'type'],
        ['mem:t/0@5', 1, 'record'],
      ].sort(),
    );
    expect(letters.find((l) => l.source === 'mem:t/0@1')!.code).toBe('stream.not_utf8');
    expect(letters.find((l) => l.source === 'mem:t/0@3')!.code).toBe('stream.empty');
    expect(await committedPositions(wh, 'mem:t')).toEqual({ '0': '7' });
  } finally {
    wh.close();
  }
});

it('commits a position that comes without a message (Kafka markers after the last record), and nothing else', async () => {
  const dataDir = makeTempDir('stream-position-only');
  const reader = new ListReader();
  const [good] = lines('p', 1);
  reader.add('0', good);
  const wh = await Warehouse.open(dataDir);
  try {
    const source = () =>
      new StreamSource('mem', reader, { name: 'mem:t', batchEvents: 100, batchMs: 60_000, untilIdleMs: 300 });
    const runtime = await Runtime.open(wh);
    await runtime.run(source());
    expect(await committedPositions(wh, 'mem:t')).toEqual({ '0': '1' });
    // Offsets 1-3 hold nothing to load, as a fetch of only an aborted transaction gives them.
    reader.messages.push({ stream: '0', position: '1', next: '4', value: undefined, positionOnly: true });
    await runtime.run(source());
    await runtime.close();
    expect(await committedPositions(wh, 'mem:t')).toEqual({ '0': '4' });
    // Its batch: the (empty) range as a unit, no event, no dead letter.
    expect(await batchSizes(wh)).toEqual([1, 0]);
    expect(existsSync(wh.deadLetterDir) ? readdirSync(wh.deadLetterDir) : []).toEqual([]);
  } finally {
    wh.close();
  }
});

it('takes a mapping like any source: seed 004’s Kafka records, zone-less New York times, as contract events', async () => {
  const dataDir = makeTempDir('stream-mapping');
  const reader = new ListReader();
  const seed004 = (id: string, timestamp: string, device: string) =>
    JSON.stringify({
      event_id: id,
      timestamp,
      user_id: 'U1',
      campaign_id: 'C003',
      ad_format: 'interstitial',
      country: 'US',
      device,
      event_type: 'impression',
      revenue: 0.25,
    });
  reader.add('0', seed004('E1', '2026-03-08T01:59:59.500000', 'Android'));
  reader.add('0', seed004('E2', '2026-03-08T03:00:00.000000', 'iOS'));
  reader.add('0', seed004('E3', '2026-03-08T02:30:00.000000', 'macOS')); // the hour New York skips
  const wh = await Warehouse.open(dataDir);
  try {
    const runtime = await Runtime.open(wh);
    await runtime.run(
      new StreamSource('mem', reader, {
        name: 'mem:t',
        batchEvents: 100,
        batchMs: 60_000,
        untilIdleMs: 300,
        mapping: 'examples/mappings/seed004.yaml',
      }),
    );
    await runtime.close();
    const rows = await wh.all<{ id: string; ts: string; device: string; app_type: string; revenue: string }>(
      `SELECT event_id AS id, strftime(ts, '%Y-%m-%dT%H:%M:%S') AS ts, device, app_type, revenue::VARCHAR AS revenue
       FROM ${await lakeRelation(wh)} ORDER BY event_id`,
    );
    expect(rows).toEqual([
      { id: 'E1', ts: '2026-03-08T06:59:59', device: 'MOBILE', app_type: 'AOS', revenue: '0.250000' },
      { id: 'E2', ts: '2026-03-08T07:00:00', device: 'MOBILE', app_type: 'IOS', revenue: '0.250000' },
    ]);
    const letters = readdirSync(wh.deadLetterDir).flatMap((f) =>
      readFileSync(path.join(wh.deadLetterDir, f), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { source: string; code: string }),
    );
    expect(letters.map((l) => [l.source, l.code])).toEqual([['mem:t/0@2', 'mapping.dst_gap']]);
  } finally {
    wh.close();
  }
});

it('loads a quiet stream’s message within a few batches while a busy stream keeps full units queued', async () => {
  const dataDir = makeTempDir('stream-fair');
  const reader = new ListReader();
  const wh = await Warehouse.open(dataDir);
  const positions = () => committedPositions(wh, 'mem:t');
  // One message of stream 'quiet' first; stream 'busy' keeps 2000 messages beyond what was loaded,
  // far more than the read-ahead (2 batches of 100): every batch finds full units of it queued.
  reader.add('quiet', lines('q', 1)[0]);
  let n = 0;
  const feed = () => {
    while (reader.messages.length - reader.acked.length < 2000)
      for (const line of lines(`b${n++}-`, 100)) reader.add('busy', line);
  };
  feed();
  const flood = setInterval(feed, 10);
  try {
    const runtime = await Runtime.open(wh);
    await runtime.start(new StreamSource('mem', reader, { name: 'mem:t', batchEvents: 100, batchMs: 200 }));
    try {
      await expect.poll(async () => (await positions()).quiet, { timeout: 10_000, interval: 50 }).toBe('1');
      // A few batches in, not after the busy stream ran dry (it never does here).
      expect(Number((await positions()).busy)).toBeLessThanOrEqual(1000);
    } finally {
      clearInterval(flood);
      await runtime.close();
    }
  } finally {
    clearInterval(flood);
    wh.close();
  }
}, 30_000);
