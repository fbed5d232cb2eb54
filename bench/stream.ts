// `npm run bench -- stream [--events N] [--brokers kafka,redis,nats] [--rounds R] [--batch-events B]
// [--fresh-rate E] [--fresh-seconds S (0: none)]`: events/s from each broker into the lake and rollups
// (`adpipe stream`'s source and runtime, in process), beside the broker client's own consume loop
// doing nothing with the messages, measured alternately in the same run; then end-to-end freshness:
// `adpipe serve` with the stream as a source, events produced at E/s, each send's time to being
// counted by GET /v1/reports/ad (p50/p95).

import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect as natsConnect } from '@nats-io/transport-node';
import { Admin, Consumer } from '@platformatic/kafka';
import { createClient, RESP_TYPES } from 'redis';
import { Runtime } from '../src/runtime/runtime.js';
import { eventLines } from '../src/simulator/index.js';
import type { PublishRecord } from '../src/sources/stream/broker.js';
import { openPublisher } from '../src/sources/stream/brokers.js';
import { createStreamSource } from '../src/sources/stream/config.js';
import { Warehouse } from '../src/warehouse/warehouse.js';
import {
  nearestRank,
  numberArg,
  peakRssMiB,
  saveResults,
  serveArgs,
  startServer,
  statCpuSeconds,
} from './util.js';

const KAFKA = process.env.ADPIPE_TEST_KAFKA ?? '127.0.0.1:9092';
const REDIS = process.env.ADPIPE_TEST_REDIS ?? '127.0.0.1:6379';
const NATS = process.env.ADPIPE_TEST_NATS ?? '127.0.0.1:4222';
const PARTITIONS = 4;
/** How each broker's server process is found on this machine, to count its CPU beside ours. */
const BROKER_PROCESS: Record<string, string> = {
  kafka: 'kafka\\.Kafka',
  redis: 'redis-server',
  nats: 'nats-server',
};

/**
 * CPU seconds so far of this process (every thread: the reader, DuckDB) plus the broker's server
 * when it runs here; undefined when it does not (a remote broker's CPU cannot be counted).
 */
function cpuMeter(broker: string): (() => number) | undefined {
  let pid: string;
  try {
    pid = execFileSync('pgrep', ['-o', '-f', BROKER_PROCESS[broker]!], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
  return () => {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1e6 + statCpuSeconds(`/proc/${pid}/stat`);
  };
}

interface Target {
  broker: string;
  /** The source URL (the publisher takes it too). */
  url: string;
  /**
   * The broker client's own consume loop over the first n messages, doing nothing with them but
   * what the broker needs (Redis: XACK); returns when the first arrived (Kafka's group join before
   * it is not consuming).
   */
  bare(n: number): Promise<number>;
  drop(): Promise<void>;
}

async function kafkaTarget(): Promise<Target> {
  const topic = `bench-${randomUUID()}`;
  const admin = new Admin({ clientId: 'adpipe-bench', bootstrapBrokers: [KAFKA] });
  await admin.createTopics({ topics: [topic], partitions: PARTITIONS, replicas: 1 });
  for (let led = 0; led < PARTITIONS; await new Promise((r) => setTimeout(r, 100))) {
    const meta = await admin.metadata({ topics: [topic], forceUpdate: true });
    led = meta.topics.get(topic)?.partitions.filter((p) => p.leader >= 0).length ?? 0;
  }
  return {
    broker: 'kafka',
    url: `kafka://${KAFKA}/${topic}`,
    async bare(n) {
      let first = performance.now();
      const consumer = new Consumer({
        clientId: 'adpipe-bench',
        groupId: `bench-${randomUUID()}`,
        bootstrapBrokers: [KAFKA],
      });
      const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: false });
      let seen = 0;
      for await (const _ of stream) {
        // The group join before the first message is not consuming: the clock starts here.
        if (seen === 0) first = performance.now();
        if (++seen === n) break;
      }
      await stream.close();
      await consumer.close(true);
      return first;
    },
    async drop() {
      await admin.deleteTopics({ topics: [topic] });
      await admin.close();
    },
  };
}

async function redisTarget(): Promise<Target> {
  const key = `bench-${randomUUID()}`;
  const client = createClient({ url: `redis://${REDIS}`, RESP: 2 }).withTypeMapping({
    [RESP_TYPES.BLOB_STRING]: Buffer,
  });
  await client.connect();
  return {
    broker: 'redis',
    url: `redis://${REDIS}/${key}`,
    async bare(n) {
      const group = `bench-${randomUUID()}`;
      await client.sendCommand(['XGROUP', 'CREATE', key, group, '0']);
      const started = performance.now();
      let seen = 0;
      const acks: Promise<unknown>[] = [];
      while (seen < n) {
        const reply = (await client.sendCommand([
          'XREADGROUP',
          'GROUP',
          group,
          'bench',
          'COUNT',
          '10000',
          'STREAMS',
          key,
          '>',
        ])) as Array<[Buffer, Array<[Buffer, unknown]>]> | null;
        const entries = reply?.[0]?.[1] ?? [];
        seen += entries.length;
        // A group's consumer acknowledges what it read (else its pending list only grows): sent
        // without waiting, so it travels with the next read.
        if (entries.length > 0)
          acks.push(client.sendCommand(['XACK', key, group, ...entries.map((e) => e[0])]));
      }
      await Promise.all(acks);
      await client.sendCommand(['XGROUP', 'DESTROY', key, group]);
      return started;
    },
    async drop() {
      await client.del(key);
      await client.close();
    },
  };
}

async function natsTarget(): Promise<Target> {
  const subject = `bench.${randomUUID().replaceAll('-', '')}`;
  const nc = await natsConnect({ servers: NATS });
  const jsm = await jetstreamManager(nc);
  const stream = `BENCH_${subject.slice(6)}`;
  await jsm.streams.add({ name: stream, subjects: [subject] });
  return {
    broker: 'nats',
    url: `nats://${NATS}/${subject}?stream=${stream}`,
    async bare(n) {
      const name = `bench-${randomUUID()}`;
      await jsm.consumers.add(stream, { durable_name: name, ack_policy: 'none' as never });
      const consumer = await jetstream(nc).consumers.get(stream, name);
      const started = performance.now();
      let seen = 0;
      while (seen < n) {
        const batch = await consumer.fetch({ max_messages: 10_000, expires: 1000 });
        for await (const _ of batch) seen++;
      }
      await jsm.consumers.delete(stream, name);
      return started;
    },
    async drop() {
      await jsm.streams.delete(stream);
      await nc.close();
    },
  };
}

const TARGETS: Record<string, () => Promise<Target>> = {
  kafka: kafkaTarget,
  redis: redisTarget,
  nats: natsTarget,
};

/** Publishes the simulator's first n events (one per message, keyed by event_id); returns events/s. */
async function produce(url: string, n: number): Promise<number> {
  const { publisher } = await openPublisher(url);
  const started = performance.now();
  let batch: PublishRecord[] = [];
  let sent = 0;
  try {
    for await (const { line, id } of eventLines({ events: n, files: 1, dirty: 0, fraud: 0 })) {
      if (id === undefined) continue;
      batch.push({ key: id, value: line });
      if (batch.length === 5000) {
        await publisher.publish(batch);
        sent += batch.length;
        batch = [];
      }
      if (sent + batch.length >= n) break;
    }
    if (batch.length) await publisher.publish(batch);
    sent += batch.length;
  } finally {
    await publisher.close();
  }
  if (sent !== n) throw new Error(`published ${sent} of ${n}`);
  return n / ((performance.now() - started) / 1000);
}

/** `adpipe stream`'s source and runtime into a fresh data dir; seconds from start to the last commit. */
async function load(url: string, n: number, batchEvents: number): Promise<number> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'adpipe-bench-stream-'));
  const wh = await Warehouse.open(dataDir);
  try {
    let accepted = 0;
    let lastCommit = 0;
    const counter = {
      name: 'bench',
      committed(b: { accepted: number }) {
        accepted += b.accepted;
        lastCommit = performance.now();
      },
      status: () => ({ name: 'bench', state: 'ok' }),
      close: async () => undefined,
    };
    const runtime = await Runtime.open(wh, [counter as never]);
    const type = url.slice(0, url.indexOf('://'));
    const source = createStreamSource({
      type,
      // Redis: a group of its own, else the next round's consumer finds the group's entries delivered.
      url: type === 'redis' ? `${url}?group=bench-${randomUUID()}` : url,
      name: `bench-${randomUUID()}`,
      batch_events: batchEvents,
      batch_ms: 1000,
      until_idle: '2s',
    });
    const started = performance.now();
    await runtime.run(source);
    await runtime.close();
    if (accepted !== n) throw new Error(`loaded ${accepted} of ${n}`);
    return (lastCommit - started) / 1000;
  } finally {
    wh.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Freshness: `adpipe serve` reading the stream; sends of 100 events at `rate`/s for `seconds`. */
async function freshness(target: Target, rate: number, seconds: number) {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'adpipe-bench-fresh-'));
  const config = path.join(dataDir, 'adpipe.yaml');
  writeFileSync(
    config,
    JSON.stringify({ sources: [{ type: target.broker, url: target.url, name: 'fresh' }] }),
  );
  const server = await startServer(['bin/adpipe.js', ...serveArgs(config, dataDir)]);
  try {
    const base = server.url;
    const counted = async () => {
      const res = await fetch(`${base}/v1/reports/ad?by=&metrics=`);
      const body = (await res.json()) as { totals?: { impressions?: number | string } };
      return Number(body.totals?.impressions ?? 0);
    };
    const { publisher } = await openPublisher(target.url);
    const sends: Array<{ total: number; at: number }> = [];
    const per = 100;
    const started = performance.now();
    let total = 0;
    let produced = false;
    const producing = (async () => {
      for (let i = 0; i < (rate * seconds) / per; i++) {
        const wait = started + (i * per * 1000) / rate - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const ts = new Date().toISOString();
        const records = Array.from({ length: per }, () => {
          const id = randomUUID();
          return {
            key: id,
            value: JSON.stringify({
              event_id: id,
              type: 'impression',
              ts,
              media_id: 'bench-fresh',
              revenue: '0.001',
            }),
          };
        });
        await publisher.publish(records);
        total += per;
        sends.push({ total, at: performance.now() });
      }
      produced = true;
    })();
    const latencies: number[] = [];
    let next = 0;
    for (let done = false; !done; ) {
      const seen = await counted();
      const now = performance.now();
      while (next < sends.length && sends[next]!.total <= seen) latencies.push(now - sends[next++]!.at);
      done = produced && next === sends.length;
      await new Promise((r) => setTimeout(r, 20));
    }
    await producing;
    await publisher.close();
    latencies.sort((a, b) => a - b);
    return {
      rate,
      seconds,
      sends: sends.length,
      p50_ms: Math.round(nearestRank(latencies, 0.5)),
      p95_ms: Math.round(nearestRank(latencies, 0.95)),
      max_ms: Math.round(latencies[latencies.length - 1]!),
    };
  } finally {
    server.child.kill('SIGTERM');
    await new Promise((r) => server.child.once('exit', r));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function run(args: string[]): Promise<void> {
  const n = numberArg(args, 'events', 1_000_000);
  const rounds = numberArg(args, 'rounds', 2);
  const batchEvents = numberArg(args, 'batch-events', 250_000);
  const freshRate = numberArg(args, 'fresh-rate', 10_000);
  const freshSeconds = numberArg(args, 'fresh-seconds', 20);
  const i = args.indexOf('--brokers');
  const brokers = i >= 0 ? args[i + 1]!.split(',') : Object.keys(TARGETS);
  const results: Record<string, unknown> = {};
  for (const name of brokers) {
    const target = await TARGETS[name]!();
    try {
      const produced = await produce(target.url, n);
      console.log(`${name}: produced ${n} events at ${Math.round(produced)}/s`);
      const bare: number[] = [];
      const loaded: number[] = [];
      // What the load costs in CPU (ours and the broker's) bounds its rate on this machine's cores,
      // however well reading and loading overlap: the ceiling beside each round's bare rate.
      const cpu = cpuMeter(name);
      const loadCpu: number[] = [];
      const cores = availableParallelism();
      const ceiling = (k: number) => (cores * n) / loadCpu[k]!;
      for (let r = 0; r < rounds; r++) {
        const first = await target.bare(n);
        bare.push(n / ((performance.now() - first) / 1000));
        const cpuBefore = cpu?.();
        loaded.push(n / (await load(target.url, n, batchEvents)));
        if (cpu) loadCpu.push(cpu() - cpuBefore!);
        const bound = cpu
          ? `; ${loadCpu[r]!.toFixed(1)} CPU s with the broker's: at most ${Math.round(ceiling(r))}/s on ${cores} cores (${(ceiling(r) / bare[r]!).toFixed(2)}× bare)`
          : '';
        console.log(
          `${name} round ${r + 1}: bare consume ${Math.round(bare[r]!)}/s, adpipe stream into lake ${Math.round(loaded[r]!)}/s (${(loaded[r]! / bare[r]!).toFixed(2)}× bare)${bound}`,
        );
      }
      // On a stream of its own: this one holds the throughput run's events.
      const freshTarget = freshSeconds > 0 ? await TARGETS[name]!() : undefined;
      const fresh = freshTarget
        ? await freshness(freshTarget, freshRate, freshSeconds).finally(() => freshTarget.drop())
        : undefined;
      if (fresh)
        console.log(`${name} freshness at ${freshRate}/s: p50 ${fresh.p50_ms} ms, p95 ${fresh.p95_ms} ms`);
      results[name] = {
        events: n,
        batch_events: batchEvents,
        produce_per_s: Math.round(produced),
        bare_per_s: bare.map(Math.round),
        stream_per_s: loaded.map(Math.round),
        ratio: loaded.map((l, k) => Number((l / bare[k]!).toFixed(2))),
        load_cpu_s: cpu ? loadCpu.map((c) => Number(c.toFixed(2))) : undefined,
        cpu_ceiling_per_s: cpu ? loadCpu.map((_, k) => Math.round(ceiling(k))) : undefined,
        cpu_ceiling_ratio: cpu
          ? loadCpu.map((_, k) => Number((ceiling(k) / bare[k]!).toFixed(2)))
          : undefined,
        freshness: fresh,
        peak_rss_mib: peakRssMiB(),
      };
    } finally {
      await target.drop();
    }
  }
  saveResults('stream', results);
}
