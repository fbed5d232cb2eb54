// The NATS JetStream source against the real nats-server (2.9 here) that scripts/services.sh starts:
// the source conformance suite with `adpipe stream --until-idle`, then what is JetStream's own: a
// durable consumer recreated after the committed sequence (a restart loads only what is new, a
// delivery left unacknowledged by a SIGKILL is loaded once), poison messages under their address,
// no pending acknowledgement at the end, and reports equal to an independent oracle.

import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection, nanos } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lakeRelation } from '../../src/lake/lake.js';
import { committedPositions } from '../../src/loader/loader.js';
import { loadMetadata } from '../../src/pipeline/metadata.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { natsBroker } from '../../src/sources/nats/broker.js';
import { deleteConsumer } from '../../src/sources/nats/jetstream.js';
import type { Source } from '../../src/sources/source.js';
import { parseStreamUrl } from '../../src/sources/stream/brokers.js';
import { createStreamSource } from '../../src/sources/stream/config.js';
import { Warehouse } from '../../src/warehouse/warehouse.js';
import { describeWith, testServices } from '../helpers/services.js';
import { makeTempDir } from '../helpers/tmp.js';
import { deadLetters } from '../pipeline/fixtures.js';
import { events, sourceConformance } from './conformance.js';
import { expectOracleReports, publishedTraffic } from './stream-oracle.js';

const CLI = path.resolve('test/collector/cli.ts');
/** Lines per message when a unit is offered: a small unit is one message, a big one several. */
const LINES_PER_MESSAGE = 500;

let nc: NatsConnection;
let jsm: JetStreamManager;
let js: JetStreamClient;
/** Streams made by this file, deleted at its end. */
const made = new Set<string>();
let serial = 0;

/** A subject no other test (or earlier run) uses. */
const freshSubject = (tag: string) => `adpipe.test.${tag}.${process.pid}.${Date.now()}.${serial++}`;
const urlOf = (subject: string, params = '') => `${testServices.natsUrl}/${subject}${params}`;

/** The stream the tests publish a subject's messages into. */
const testStream = (subject: string) => `TEST_${subject.replace(/\./g, '_')}`;

/**
 * Publishes each payload as one message, into a stream of the test's own (which the reader finds by
 * the subject); the stream and sequence of each.
 */
async function publish(subject: string, payloads: ReadonlyArray<string | Buffer>) {
  const name = testStream(subject);
  if (!made.has(name)) {
    await jsm.streams.add({ name, subjects: [subject] });
    made.add(name);
  }
  const acks: Array<{ stream: string; seq: number }> = [];
  for (const p of payloads) {
    const ack = await js.publish(subject, p);
    acks.push({ stream: ack.stream, seq: ack.seq });
  }
  return acks;
}

/** The lines of an NDJSON unit (bytes kept as they are), grouped into messages. */
function messagesOf(data: string | Buffer, perMessage: number): Buffer[] {
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data);
  const lines: Buffer[] = [];
  for (let at = 0; at < buf.length; ) {
    const end = buf.indexOf(0x0a, at);
    const stop = end === -1 ? buf.length : end + 1;
    lines.push(buf.subarray(at, stop));
    at = stop;
  }
  const out: Buffer[] = [];
  for (let i = 0; i < lines.length; i += perMessage) out.push(Buffer.concat(lines.slice(i, i + perMessage)));
  return out;
}

const address = (subject: string, at: { stream: string; seq: number }) =>
  `nats:${subject}/${at.stream}@${at.seq}`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function consumerState(stream: string, durable: string) {
  const info = await jsm.consumers.info(stream, durable);
  return { ackPending: info.num_ack_pending, pending: info.num_pending, ackFloor: info.ack_floor.stream_seq };
}

/** The consumer has acknowledged everything up to seq, and nothing is pending or undelivered. */
async function expectAllAcked(stream: string, durable: string, seq: number): Promise<void> {
  expect(await consumerState(stream, durable)).toEqual({ ackPending: 0, pending: 0, ackFloor: seq });
}

async function lastSeq(stream: string): Promise<number> {
  return (await jsm.streams.info(stream)).state.last_seq;
}

const unitKeys = async (wh: Warehouse) =>
  (await wh.all<{ path: string }>('SELECT path FROM ledger ORDER BY batch_id, path')).map((r) => r.path);

/** The sequences of the units loaded, in order: every one in exactly one unit. */
const loadedSeqs = async (wh: Warehouse) =>
  (await unitKeys(wh)).flatMap((k) => {
    const [a, b] = k
      .slice(k.lastIndexOf('@') + 1)
      .split('-')
      .map(Number);
    return Array.from({ length: b! - a! + 1 }, (_, i) => a! + i);
  });

/** Loads what the subject holds with a finite source in this process. */
async function loadOnce(dataDir: string, url: string, wrap: (s: Source) => Source = (x) => x) {
  const runtime = await Runtime.open(await Warehouse.open(dataDir));
  try {
    return await runtime.run(
      wrap(
        createStreamSource({
          type: 'nats',
          url,
          name: 'nats',
          batch_events: 100_000,
          batch_ms: 200,
          until_idle: '1s',
        }),
      ),
    );
  } finally {
    await runtime.close();
  }
}

async function lakeCount(dataDir: string): Promise<{ events: number; distinct: number }> {
  const wh = await Warehouse.open(dataDir);
  try {
    const row = await wh.one<{ events: string; distinct: string }>(
      `SELECT count(*)::VARCHAR AS events, count(DISTINCT event_id)::VARCHAR AS distinct FROM ${await lakeRelation(wh)}`,
    );
    return { events: Number(row!.events), distinct: Number(row!.distinct) };
  } finally {
    wh.close();
  }
}

function run(args: string[]): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
}

const exited = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });

(await describeWith('nats'))('NATS JetStream source', () => {
  beforeAll(async () => {
    nc = await connect({ servers: new URL(testServices.natsUrl).host });
    jsm = await jetstreamManager(nc);
    js = jetstream(nc);
  });
  afterAll(async () => {
    for (const stream of made) await jsm.streams.delete(stream).catch(() => undefined);
    await nc?.close();
  });

  /** Each conformance test's own subject, by its input dir (a data dir and an input dir go together). */
  const subjects = new Map<string, string>();
  const inputOf = new Map<string, string>();
  const subjectOf = (inputDir: string) => {
    let subject = subjects.get(inputDir);
    if (subject === undefined) {
      subject = freshSubject('conformance');
      subjects.set(inputDir, subject);
    }
    return subject;
  };
  const offer = async (dataDir: string, inputDir: string, _name: string, data: string | Buffer) => {
    inputOf.set(dataDir, inputDir);
    const subject = subjectOf(inputDir);
    const acks = await publish(subject, messagesOf(data, LINES_PER_MESSAGE));
    return address(subject, acks[0]!);
  };
  const source = { type: 'nats', name: 'nats', batch_events: 40, batch_ms: 200 } as const;
  const unreadable = { code: 'stream.not_utf8', message: /^message: not UTF-8 text$/ };

  describe('conformance, finite: adpipe stream --until-idle', () => {
    sourceConformance({
      offer,
      create: async (_dataDir, inputDir) =>
        createStreamSource({ ...source, url: urlOf(subjectOf(inputDir)), until_idle: '1s' }),
      command: (inputDir) => [
        'stream',
        '--from',
        urlOf(subjectOf(inputDir)),
        '--name',
        'nats',
        '--batch-events',
        '40',
        '--batch-ms',
        '200',
        '--until-idle',
        '3s',
      ],
      finite: true,
      idle: () => true,
      unreadable,
    });
  });

  describe('conformance, continuous: adpipe serve with a configured nats source', () => {
    /**
     * Whether the subject's consumer has delivered everything and has nothing unacknowledged (acks
     * come only after commits), as last seen: idle() must answer at once, so it asks in the
     * background. An offer makes its subject busy until a check started after it says otherwise.
     */
    const idle = new Map<string, { idle: boolean; offers: number; checking: boolean }>();
    const stateOf = (subject: string) => {
      let state = idle.get(subject);
      if (!state) {
        state = { idle: false, offers: 0, checking: false };
        idle.set(subject, state);
      }
      return state;
    };
    const check = async (subject: string) => {
      const state = stateOf(subject);
      const offers = state.offers;
      state.checking = true;
      try {
        const now = await consumerState(testStream(subject), 'nats');
        if (state.offers === offers) state.idle = now.pending === 0 && now.ackPending === 0;
      } catch {
        state.idle = false; // no consumer (yet, or being recreated)
      } finally {
        state.checking = false;
      }
    };
    sourceConformance({
      offer: async (dataDir, inputDir, name, data) => {
        const state = stateOf(subjectOf(inputDir));
        state.offers++;
        state.idle = false;
        return offer(dataDir, inputDir, name, data);
      },
      create: async (_dataDir, inputDir) =>
        createStreamSource({ ...source, url: urlOf(subjectOf(inputDir)) }),
      command: (inputDir) => {
        const config = path.join(inputDir, 'adpipe.yaml');
        writeFileSync(config, JSON.stringify({ sources: [{ ...source, url: urlOf(subjectOf(inputDir)) }] }));
        return ['--config', config, 'serve', '--port', '0'];
      },
      finite: false,
      idle: (dataDir) => {
        const subject = subjectOf(inputOf.get(dataDir) ?? '');
        const state = stateOf(subject);
        if (!state.checking) void check(subject);
        return state.idle;
      },
      unreadable,
    });
  });

  it('restarts after the committed sequence: only new messages load, and nothing stays pending', async () => {
    const dataDir = makeTempDir('nats-restart');
    const subject = freshSubject('restart');
    const first = await publish(subject, [events('r1', 30), events('r2', 30)]);
    const stream = first[0]!.stream;
    await loadOnce(dataDir, urlOf(subject));
    await expectAllAcked(stream, 'nats', first[1]!.seq);

    // Nothing new: no batch. Then three new messages: loaded from the first new sequence on.
    expect((await loadOnce(dataDir, urlOf(subject))).batches).toHaveLength(0);
    const later = await publish(subject, [events('r3', 5), events('r4', 5), events('r5', 5)]);
    const summary = await loadOnce(dataDir, urlOf(subject));
    expect(summary.accepted).toBe(15);
    const wh = await Warehouse.open(dataDir);
    try {
      // Each message in exactly one unit of this stream, in order. Not one unit per run: a pull's
      // deliveries may come in separate socket reads, and when the source sees them batch_ms apart (a
      // loaded machine stalls the event loop) it cuts a batch by age in between, as it promises.
      for (const key of await unitKeys(wh)) expect(key.startsWith(`nats:${subject}/${stream}@`)).toBe(true);
      expect(await loadedSeqs(wh)).toEqual([...first, ...later].map((a) => a.seq));
      expect(await committedPositions(wh, 'nats')).toEqual({ [stream]: String(later[2]!.seq) });
    } finally {
      wh.close();
    }
    await expectAllAcked(stream, 'nats', later[2]!.seq);
  }, 30_000);

  it('loads once what a SIGKILLed loader had received but not acknowledged', async () => {
    const dataDir = makeTempDir('nats-kill');
    const subject = freshSubject('kill');
    const messages = 300;
    const perMessage = 100;
    const payloads = Array.from({ length: messages }, (_, i) => events(`x${i}`, perMessage));
    const acks = await publish(subject, payloads);
    const stream = acks[0]!.stream;
    const url = urlOf(subject, '?durable=loader');
    const args = ['--data-dir', dataDir, 'stream', '--from', url, '--name', 'nats'];

    const child = run([...args, '--batch-events', '10', '--batch-ms', '100']);
    // Killed while some batches are acknowledged and later deliveries are not.
    let atKill = { ackPending: 0, pending: 0, ackFloor: 0 };
    await expect
      .poll(
        async () => {
          atKill = await consumerState(stream, 'loader').catch(() => atKill);
          return atKill.ackFloor > 0 && atKill.ackPending > 0;
        },
        { timeout: 60_000, interval: 20 },
      )
      .toBe(true);
    child.kill('SIGKILL');
    await exited(child);
    expect(atKill.ackFloor).toBeLessThan(acks[messages - 1]!.seq);

    const last = run([...args, '--until-idle', '2s']);
    expect(await exited(last)).toBe(0);
    expect(await lakeCount(dataDir)).toEqual({
      events: messages * perMessage,
      distinct: messages * perMessage,
    });
    await expectAllAcked(stream, 'loader', acks[messages - 1]!.seq);
  }, 120_000);

  it('dead-letters a non-JSON and an empty message under their own address; the rest loads', async () => {
    const dataDir = makeTempDir('nats-poison');
    const subject = freshSubject('poison');
    const acks = await publish(subject, [events('ok1', 2), 'not json at all', '', ' \n\n', events('ok2', 3)]);
    const summary = await loadOnce(dataDir, urlOf(subject));
    expect(summary.accepted).toBe(5);
    const letters = deadLetters(dataDir).map((d) => `${d.source}|${d.line}|${d.code}`);
    expect(letters.sort()).toEqual(
      [
        `${address(subject, acks[1]!)}|1|record.invalid_json`,
        `${address(subject, acks[2]!)}|1|stream.empty`,
        `${address(subject, acks[3]!)}|1|stream.empty`,
      ].sort(),
    );
    await expectAllAcked(acks[0]!.stream, 'nats', acks[4]!.seq);
  }, 30_000);

  it('reports equal an independent computation of what was published', async () => {
    const root = makeTempDir('nats-reports');
    // Repeated ids with other values (the first wins) and bad records among them.
    const traffic = await publishedTraffic(root, {
      count: 2500,
      prefix: 'nt',
      repeats: 60,
      bad: [
        [10, 'not json at all'],
        [900, { event_id: 'neg', type: 'impression', ts: '2024-03-10T12:00:00Z', revenue: '-2' }],
      ],
    });
    // The lines as messages of 1 to 9 lines each, in order.
    const { lines, rng } = traffic;
    const payloads: string[] = [];
    for (let i = 0; i < lines.length; ) {
      const n = 1 + Math.floor(rng() * 9);
      payloads.push(`${lines.slice(i, i + n).join('\n')}\n`);
      i += n;
    }
    const subject = freshSubject('reports');
    await publish(subject, payloads);

    const dataDir = path.join(root, 'data');
    const wh = await Warehouse.open(dataDir);
    await loadMetadata(wh, traffic.metadata);
    wh.close();
    const summary = await loadOnce(dataDir, urlOf(subject));

    const counts = (r: { accepted: number; duplicates: number; rejected: number }) => [
      r.accepted,
      r.duplicates,
      r.rejected,
    ];
    expect(counts(summary)).toEqual(counts(traffic.oracle));
    await expectOracleReports(dataDir, traffic);
  }, 60_000);

  /** Wraps a source so that fn runs before its first batch is acknowledged (after its commit). */
  const beforeFirstAck =
    (fn: () => Promise<void>) =>
    (source: Source): Source => {
      const ack = source.ack.bind(source);
      let first = true;
      source.ack = async (batch, outcome) => {
        if (first) {
          first = false;
          await fn();
        }
        return ack(batch, outcome);
      };
      return source;
    };

  type Loading = {
    committedUpTo(): Promise<number>;
    loadedSeqs(): Promise<number[]>;
  };

  /** Runs body while a continuous source loads the subject in a runtime of its own, then stops both. */
  async function whileLoading(
    dataDir: string,
    subject: string,
    body: (run: Loading) => Promise<void>,
    wrap: (s: Source) => Source = (x) => x,
  ): Promise<void> {
    const wh = await Warehouse.open(dataDir);
    const runtime = await Runtime.open(wh);
    const source = createStreamSource({
      type: 'nats',
      url: urlOf(subject),
      name: 'nats',
      batch_events: 100,
      batch_ms: 100,
    });
    await runtime.start(wrap(source));
    const committedUpTo = async () =>
      Number((await committedPositions(wh, 'nats'))[testStream(subject)] ?? 0);
    try {
      await body({ committedUpTo, loadedSeqs: () => loadedSeqs(wh) });
    } finally {
      await runtime.close();
    }
  }

  it('skips the redeliveries of messages it returned already (a batch held past ack_wait)', async () => {
    const dataDir = makeTempDir('nats-redeliver');
    const subject = freshSubject('redeliver');
    const first = await publish(subject, [events('h1', 3), events('h2', 3), events('h3', 3)]);
    let redelivered = 0;
    // The first batch's acknowledgement waits 3 s with an ack_wait of 1 s: the server redelivers.
    const holdFirstAck = beforeFirstAck(async () => {
      await jsm.consumers.update(testStream(subject), 'nats', { ack_wait: nanos(1000) });
      await sleep(3000);
      redelivered = (await jsm.consumers.info(testStream(subject), 'nats')).num_redelivered;
    });
    await whileLoading(
      dataDir,
      subject,
      async (run) => {
        await expect.poll(run.committedUpTo, { timeout: 20_000 }).toBe(first[2]!.seq);
        await expect.poll(() => redelivered, { timeout: 20_000 }).toBeGreaterThan(0);
        const later = await publish(subject, [events('h4', 3), events('h5', 3)]);
        await expect.poll(run.committedUpTo, { timeout: 20_000 }).toBe(later[1]!.seq);
        // Each once: the redeliveries were skipped (units as the messages came, see the restart test).
        expect(await run.loadedSeqs()).toEqual([...first, ...later].map((a) => a.seq));
      },
      holdFirstAck,
    );
    expect(await lakeCount(dataDir)).toEqual({ events: 15, distinct: 15 });
    expect(await consumerState(testStream(subject), 'nats')).toMatchObject({ ackPending: 0, pending: 0 });
  }, 60_000);

  it.each(['finite', 'continuous'] as const)(
    '%s: a consumer deleted while a batch loads is recreated; nothing lost, doubled or left pending',
    async (mode) => {
      const dataDir = makeTempDir(`nats-deleted-${mode}`);
      const subject = freshSubject(`deleted${mode}`);
      const first = await publish(
        subject,
        Array.from({ length: 6 }, (_, i) => events(`d${i}`, 4)),
      );
      const later: Array<{ seq: number }> = [];
      // Deleted between the first batch's commit and its acknowledgement, which then names a
      // delivery of the old consumer: the new one must not take it as its own.
      const deleteBeforeFirstAck = beforeFirstAck(async () => {
        await deleteConsumer(jsm, testStream(subject), 'nats');
        later.push(...(await publish(subject, [events('d7', 4), events('d8', 4)])));
        await sleep(2500);
      });
      if (mode === 'finite') await loadOnce(dataDir, urlOf(subject), deleteBeforeFirstAck);
      else
        await whileLoading(
          dataDir,
          subject,
          async (run) => {
            await expect
              .poll(async () => (await run.committedUpTo()) === later[1]?.seq, { timeout: 20_000 })
              .toBe(true);
          },
          deleteBeforeFirstAck,
        );
      const wh = await Warehouse.open(dataDir);
      try {
        expect(await loadedSeqs(wh)).toEqual([...first, ...later].map((a) => a.seq));
      } finally {
        wh.close();
      }
      expect(await lakeCount(dataDir)).toEqual({ events: 32, distinct: 32 });
      expect(await consumerState(testStream(subject), 'nats')).toMatchObject({ ackPending: 0, pending: 0 });
    },
    60_000,
  );

  it('loads a delivery that never reached it (another client pulled it from its consumer)', async () => {
    const dataDir = makeTempDir('nats-stolen');
    const subject = freshSubject('stolen');
    await publish(subject, []);
    await whileLoading(dataDir, subject, async (run) => {
      // A second client pulling on the loader's durable takes a few deliveries away from it.
      let stolen = 0;
      let publishing = true;
      const thief = (async () => {
        while (publishing && stolen < 3) {
          try {
            const consumer = await js.consumers.get(testStream(subject), 'nats');
            for await (const _ of await consumer.fetch({ max_messages: 1, expires: 1000 })) stolen++;
          } catch {
            // The loader recreated the consumer under this pull.
          }
        }
      })();
      const acks: Array<{ seq: number }> = [];
      for (let i = 0; i < 40; i++) {
        acks.push(...(await publish(subject, [events(`s${i}`, 2)])));
        await sleep(25);
      }
      publishing = false;
      await thief;
      expect(stolen).toBeGreaterThan(0);
      await expect.poll(run.committedUpTo, { timeout: 20_000 }).toBe(acks[39]!.seq);
      expect(await run.loadedSeqs()).toEqual(acks.map((a) => a.seq));
    });
    expect(await lakeCount(dataDir)).toEqual({ events: 80, distinct: 80 });
    await expectAllAcked(testStream(subject), 'nats', await lastSeq(testStream(subject)));
  }, 60_000);

  it('refuses to read a stream recreated behind the committed sequence', async () => {
    const dataDir = makeTempDir('nats-recreated');
    const subject = freshSubject('recreated');
    const [at] = await publish(subject, [events('a', 3), events('b', 3)]);
    await loadOnce(dataDir, urlOf(subject));
    await jsm.streams.delete(at!.stream);
    await jsm.streams.add({ name: at!.stream, subjects: [subject] });
    await publish(subject, [events('c', 3)]);
    await expect(loadOnce(dataDir, urlOf(subject))).rejects.toThrow(
      /ends at sequence 1 .* committed up to 2/,
    );
  }, 30_000);

  it('publishes records durably, a repeated event id stored once, into the stream the reader finds', async () => {
    const subject = freshSubject('publish');
    const url = parseStreamUrl(urlOf(subject), natsBroker, ['stream']);
    const publisher = await natsBroker.publisher(url);
    const stream = `ADPIPE_${subject.replace(/\./g, '_')}`;
    made.add(stream);
    // Two calls at once, each more than one window of PubAcks; 2,000 records repeat an event id.
    const records = (from: number) =>
      Array.from({ length: 10_000 }, (_, i) => {
        const id = `p-${(from + i) % 18_000}`;
        return { key: id, value: events(id, 1) };
      });
    try {
      await Promise.all([publisher.publish(records(0)), publisher.publish(records(10_000))]);
      expect((await jsm.streams.info(stream)).state.messages).toBe(18_000);
      // A message no stream stores is refused, not counted as published.
      await jsm.streams.delete(stream);
      await expect(publisher.publish(records(0).slice(0, 10))).rejects.toThrow(/JetStream refused.*503/);
    } finally {
      await publisher.close();
    }
    const dataDir = makeTempDir('nats-publish');
    const again = await natsBroker.publisher(url);
    try {
      await again.publish(records(0).slice(0, 500));
    } finally {
      await again.close();
    }
    expect((await loadOnce(dataDir, urlOf(subject))).accepted).toBe(500);
    expect(await lastSeq(stream)).toBe(500);
  }, 60_000);
});
