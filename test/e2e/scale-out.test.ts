// Issue #19's scale-out on one machine, every part real: two stateless collectors (`adpipe serve
// --publish`) → Kafka (4 partitions, keyed by event_id) → two loaders (`adpipe stream`, partitions
// 0,1 and 2,3, each its own data dir) → one ClickHouse sink. Clients send 200k events over HTTP,
// 2 % of them sent again to the *other* collector; one collector and one loader are SIGKILLed and
// restarted mid-run. At the end the ClickHouse report tables equal the truth (one data dir that
// loaded each distinct event once), the loaders' lakes together hold every accepted event exactly
// once, and each loader's `sink verify` finds its own share exact.

import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type ClickHouseClient, createClient } from '@clickhouse/client';
import { Consumer } from '@platformatic/kafka';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { lakeRelation } from '../../src/lake/lake.js';
import { loadUnits } from '../../src/loader/loader.js';
import { MICROS, parseMicros } from '../../src/money.js';
import { eventLines } from '../../src/simulator/index.js';
import { clickhouse as ch } from '../../src/sinks/clickhouse/dialect.js';
import { openSinks } from '../../src/sinks/configured.js';
import type { SqlReportSink } from '../../src/sinks/sql/sink.js';
import { columnsOf, type SinkTable, viewName } from '../../src/sinks/sql/table.js';
import { differences, embeddedRows } from '../../src/sinks/sql/verify.js';
import { discoverInputs } from '../../src/sources/files/discover.js';
import { Warehouse } from '../../src/warehouse/warehouse.js';
import { serve } from '../collector/serve.js';
import { createTopic, kafkaAdmin } from '../helpers/kafka.js';
import { describeWith, kafkaBroker, testServices } from '../helpers/services.js';
import { makeTempDir } from '../helpers/tmp.js';
import { uniquePrefix } from '../sinks/conformance.js';

const CLI = path.resolve('test/collector/cli.ts');
const EVENTS = 200_000;
const PER_REQUEST = 1000;
const SENDERS = 4;
const SOURCE = 'so';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Proc {
  child: ChildProcess;
  url?: string;
}

const exited = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });

(await describeWith('kafka', 'clickhouse'))(
  'scale-out: collectors → Kafka → loaders by partition → ClickHouse',
  () => {
    const root = makeTempDir('scale-out');
    const topic = `adpipe-scale-${randomUUID()}`;
    const prefix = uniquePrefix('so');
    const sinkUrl = testServices.clickhouseUrl;
    const admin = kafkaAdmin();
    let client: ClickHouseClient;
    const collectorConfig = path.join(root, 'collector.yaml');
    const loaders = [
      { id: 'loader-a', partitions: '0,1', dir: path.join(root, 'a'), config: path.join(root, 'a.yaml') },
      { id: 'loader-b', partitions: '2,3', dir: path.join(root, 'b'), config: path.join(root, 'b.yaml') },
    ];
    const sinkYaml = { type: 'clickhouse', url: sinkUrl, table_prefix: prefix };

    beforeAll(async () => {
      client = createClient({ url: sinkUrl });
      await createTopic(admin, topic, 4);
      writeFileSync(collectorConfig, JSON.stringify({}));
      for (const l of loaders)
        writeFileSync(l.config, JSON.stringify({ loader_id: l.id, sinks: [sinkYaml] }));
    });

    afterAll(async () => {
      const tables = (await (
        await client.query({
          query: `SELECT name FROM system.tables WHERE database = currentDatabase() AND startsWith(name, ${ch.literal(prefix)})`,
          format: 'JSONEachRow',
        })
      ).json<{ name: string }>()) as Array<{ name: string }>;
      for (const { name } of tables)
        await client.command({ query: `DROP TABLE IF EXISTS ${ch.ident(name)}` });
      await client.close();
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await admin.close();
    });

    const startCollector = (n: number) =>
      serve(path.join(root, `collector-${n}`), collectorConfig, {
        args: ['--publish', `kafka://${kafkaBroker()}/${topic}`],
      });

    const startLoader = (l: (typeof loaders)[number]): Proc => ({
      child: spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          CLI,
          '--config',
          l.config,
          '--data-dir',
          l.dir,
          'stream',
          '--from',
          `kafka://${kafkaBroker()}/${topic}?partitions=${l.partitions}`,
          '--name',
          SOURCE,
        ],
        { stdio: ['ignore', 'inherit', 'inherit'] },
      ),
    });

    /** Whether every partition's end offset is committed (the loaders commit the group after the warehouse). */
    const caughtUp = async (): Promise<boolean> => {
      const consumer = new Consumer({
        clientId: 'adpipe-test',
        groupId: `adpipe-${SOURCE}`,
        bootstrapBrokers: [kafkaBroker()],
      });
      try {
        const ends = (await consumer.listOffsets({ topics: [topic] })).get(topic)!.map(String);
        const committed = (
          await consumer.listCommittedOffsets({ topics: [{ topic, partitions: [0, 1, 2, 3] }] })
        )
          .get(topic)!
          .map(String);
        return ends.every((e, i) => e === committed[i]);
      } finally {
        await consumer.close();
      }
    };

    it('ends with ClickHouse equal to the truth and every accepted event in exactly one lake, across SIGKILLs', async () => {
      const lines: string[] = [];
      for await (const { line, id } of eventLines({ events: EVENTS, files: 1, dirty: 0, fraud: 0 })) {
        if (id !== undefined) lines.push(line);
        if (lines.length === EVENTS) break;
      }
      // Requests: the events in order, then 2 % of them again, each to the other collector than its first.
      const requests: Array<{ body: string; prefer: number }> = [];
      for (let i = 0; i < lines.length; i += PER_REQUEST)
        requests.push({ body: lines.slice(i, i + PER_REQUEST).join('\n'), prefer: (i / PER_REQUEST) % 2 });
      const again = lines.filter((_, i) => i % 50 === 7);
      for (let i = 0; i < again.length; i += PER_REQUEST) {
        const first = Math.floor((i * 50) / PER_REQUEST) % 2;
        requests.push({ body: again.slice(i, i + PER_REQUEST).join('\n'), prefer: 1 - first });
      }

      const collectors: Array<{ child: ChildProcess; url: string } | undefined> = await Promise.all([
        startCollector(0),
        startCollector(1),
      ]);
      const running: Proc[] = loaders.map(startLoader);

      let sent = 0;
      let retries = 0;
      /** One request, to its preferred collector, else the other, until one answers 200. */
      const send = async (r: (typeof requests)[number]) => {
        for (let attempt = 0; ; attempt++) {
          const c = collectors[(r.prefer + attempt) % 2];
          if (c) {
            try {
              const res = await fetch(`${c.url}/v1/events`, {
                method: 'POST',
                headers: { 'content-type': 'application/x-ndjson' },
                body: r.body,
              });
              if (res.ok) {
                const body = (await res.json()) as { rejected: number };
                expect(body.rejected).toBe(0);
                return;
              }
              await res.body?.cancel();
            } catch {
              // The collector died under this request: the other one takes it.
            }
          }
          retries++;
          if (attempt > 200) throw new Error('no collector took a request in 200 attempts');
          await sleep(100);
        }
      };
      const queue = [...requests];
      const senders = Array.from({ length: SENDERS }, async () => {
        for (let r = queue.shift(); r; r = queue.shift()) {
          await send(r);
          sent++;
        }
      });

      // Chaos: a collector, then a loader, SIGKILLed mid-run and started again.
      const killedAt: number[] = [];
      // Each on its own clock: a slow collector restart must not push the loader's kill past the sends.
      const chaos = Promise.all([
        (async () => {
          while (sent < requests.length * 0.2) await sleep(10);
          const c = collectors[0]!;
          collectors[0] = undefined;
          killedAt.push(sent);
          c.child.kill('SIGKILL');
          await exited(c.child);
          collectors[0] = await startCollector(0);
        })(),
        (async () => {
          while (sent < requests.length * 0.4) await sleep(10);
          killedAt.push(sent);
          running[0]!.child.kill('SIGKILL');
          await exited(running[0]!.child);
          running[0] = startLoader(loaders[0]!);
        })(),
      ]);
      await Promise.all([...senders, chaos]);
      expect(sent).toBe(requests.length);
      // Both kills happened while requests were still being sent.
      expect(killedAt).toHaveLength(2);
      for (const at of killedAt) expect(at).toBeLessThan(requests.length * 0.9);

      await expect.poll(caughtUp, { timeout: 120_000, interval: 500 }).toBe(true);
      // SIGTERM: each loader finishes its sink sync before it exits.
      for (const p of running) p.child.kill('SIGTERM');
      expect(await Promise.all(running.map((p) => exited(p.child)))).toEqual([0, 0]);
      for (const c of collectors) c!.child.kill('SIGTERM');
      await Promise.all(collectors.map((c) => exited(c!.child)));

      // The truth: each distinct event once, loaded by one data dir of its own.
      const truthFile = path.join(root, 'truth', 'events.jsonl');
      mkdirSync(path.dirname(truthFile), { recursive: true });
      writeFileSync(truthFile, `${lines.join('\n')}\n`);
      const truth = await Warehouse.open(path.join(root, 'truth-dir'));
      const shares: Warehouse[] = [];
      try {
        await loadUnits(truth, await discoverInputs([truthFile]));
        for (const l of loaders) shares.push(await Warehouse.open(l.dir));

        // Every accepted event in exactly one lake.
        const ids = async (wh: Warehouse) =>
          (await wh.all<{ id: string }>(`SELECT event_id AS id FROM ${await lakeRelation(wh)}`)).map(
            (r) => r.id,
          );
        const [a, b] = await Promise.all(shares.map(ids));
        expect(a!.length + b!.length).toBe(EVENTS);
        expect(new Set([...a!, ...b!]).size).toBe(EVENTS);

        // Each loader's share is exact, and ClickHouse's views (every loader summed) equal the truth.
        const sinks: SqlReportSink[] = [];
        for (const [i, l] of loaders.entries()) {
          const config = parseConfig({ loader_id: l.id, sinks: [sinkYaml] });
          const [sink] = (await openSinks(config, shares[i]!)) as SqlReportSink[];
          expect(await sink!.verify()).toEqual([]);
          sinks.push(sink!);
        }
        const tables = sinks[0]!.tables;
        const viewRows = async (t: SinkTable) => {
          const cols = columnsOf(t).map((c, k) => `toString(${ch.ident(c.name)}) AS c${k}`);
          const rs = await client.query({
            query: `SELECT ${cols.join(', ')} FROM ${ch.ident(viewName(t))}`,
            format: 'JSONEachRow',
          });
          return (await rs.json<Record<string, string>>()).map((r) => Object.values(r));
        };
        const diffs = await differences(tables, embeddedRows(truth, 'UTC'), viewRows);
        // Share measures are rounded per report row in each loader: at most 1 micro-unit off with two.
        const shareNames = new Set(
          tables.flatMap((t) => t.report.measures.filter((m) => m.kind === 'share').map((m) => m.name)),
        );
        expect(diffs.filter((d) => !shareNames.has(d.column))).toEqual([]);
        for (const d of diffs) {
          const off = parseMicros(d.embedded!) - parseMicros(d.sink!);
          expect(off === 1n || off === -1n, JSON.stringify(d)).toBe(true);
        }

        // And independently of the engine: impressions and ad revenue over the distinct events.
        let impressions = 0;
        let revenue = 0n;
        for (const line of lines) {
          const e = JSON.parse(line) as { type: string; revenue?: string };
          if (e.type === 'impression') impressions++;
          if ((e.type === 'impression' || e.type === 'click') && e.revenue) revenue += parseMicros(e.revenue);
        }
        const ad = tables.find((t) => t.report.name === 'ad')!;
        const [totals] = await (
          await client.query({
            query: `SELECT toString(sum(impressions)) AS impressions, toString(sum(revenue)) AS revenue FROM ${ch.ident(viewName(ad))}`,
            format: 'JSONEachRow',
          })
        ).json<{ impressions: string; revenue: string }>();
        expect(Number(totals!.impressions)).toBe(impressions);
        expect(parseMicros(totals!.revenue)).toBe(revenue);
        expect(revenue).toBeGreaterThan(MICROS);
        expect(retries).toBeGreaterThan(0);
      } finally {
        truth.close();
        for (const wh of shares) wh.close();
      }
    }, 600_000);
  },
);
