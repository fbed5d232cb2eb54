// Issue #19, loaders by partition: two data dirs (two loaders, ids `part-a` from adpipe.yaml and one
// generated) ingest the halves of the same traffic, split by event_id hash as a Kafka topic keyed
// by event_id would, and sync to the SAME ClickHouse 18.16 tables; a third data dir ingests
// everything and is the truth. Each loader's `sink verify` sees its own share; the views sum to the
// whole; one loader's re-sync, crash before its watermark, rebuild and model rebuild never change
// the other's share. The CLI part spawns bin/adpipe.js (needs `npx tsc -p tsconfig.json`).

import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type ClickHouseClient, createClient } from '@clickhouse/client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Config, parseConfig } from '../../src/config.js';
import { loadUnits } from '../../src/loader/loader.js';
import { parseMicros } from '../../src/money.js';
import { loadMetadata } from '../../src/pipeline/metadata.js';
import { generate } from '../../src/simulator/index.js';
import { clickhouse as ch, LOADER_COLUMN, summedSql } from '../../src/sinks/clickhouse/dialect.js';
import { openSinks } from '../../src/sinks/configured.js';
import { sinkLag } from '../../src/sinks/lag.js';
import { modelTableOf } from '../../src/sinks/sql/connection.js';
import type { SqlReportSink } from '../../src/sinks/sql/sink.js';
import { columnsOf, type SinkTable, viewName } from '../../src/sinks/sql/table.js';
import { differences, embeddedRows } from '../../src/sinks/sql/verify.js';
import { rebuildSink } from '../../src/sinks/sync.js';
import { discoverInputs } from '../../src/sources/files/discover.js';
import { latestBatch } from '../../src/warehouse/batches.js';
import { loaderId } from '../../src/warehouse/loader-id.js';
import { Warehouse } from '../../src/warehouse/warehouse.js';
import { describeWith, testServices } from '../helpers/services.js';
import { makeTempDir } from '../helpers/tmp.js';
import { runCli } from '../pipeline/fixtures.js';
import { uniquePrefix } from './conformance.js';

const url = testServices.clickhouseUrl;
const TZ = 'Asia/Seoul';
const prefix = uniquePrefix('chl');

/** One data dir: its warehouse, config and ClickHouse sink. */
interface Loader {
  dir: string;
  config: Config;
  wh: Warehouse;
  sink: SqlReportSink;
  id: string;
}

const sinkYaml = (tablePrefix: string) => ({ type: 'clickhouse', url, tz: TZ, table_prefix: tablePrefix });

(await describeWith('clickhouse'))('one ClickHouse sink shared by two loaders', () => {
  const root = makeTempDir('ch-loaders');
  const gen = path.join(root, 'gen');
  let client: ClickHouseClient;
  let a: Loader;
  let b: Loader;
  /** The truth: every event in one data dir, no sink. */
  let all: Warehouse;
  /** The loaders' halves of the late traffic, and all of it. */
  let late: { a: string[]; b: string[]; all: string[] };

  const query = async (sql: string): Promise<string[][]> =>
    (await (await client.query({ query: sql, format: 'JSONEachRow' })).json<Record<string, unknown>>()).map(
      (r) => Object.values(r).map(String),
    );

  /** Splits each file's lines by event_id hash (unparseable or id-less lines go to a), keeping their order. */
  const split = (files: string[], out: string) => {
    const halves = { a: [] as string[], b: [] as string[] };
    for (const file of files) {
      const lines: Record<'a' | 'b', string[]> = { a: [], b: [] };
      for (const line of readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l !== '')) {
        let id: unknown;
        try {
          id = JSON.parse(line).event_id;
        } catch {}
        const half = typeof id === 'string' && createHash('sha1').update(id).digest()[0]! & 1 ? 'b' : 'a';
        lines[half].push(line);
      }
      for (const half of ['a', 'b'] as const) {
        mkdirSync(path.join(out, half), { recursive: true });
        const to = path.join(out, half, path.basename(file));
        writeFileSync(to, `${lines[half].join('\n')}\n`);
        halves[half].push(to);
      }
    }
    return halves;
  };

  const open = async (name: string, yaml: Record<string, unknown>): Promise<Loader> => {
    const dir = path.join(root, name);
    const config = parseConfig({ tz: 'UTC', ...yaml });
    const wh = await Warehouse.open(dir);
    await loadMetadata(wh, path.join(gen, 'metadata'));
    const [sink] = (await openSinks(config, wh)) as SqlReportSink[];
    return { dir, config, wh, sink: sink!, id: await loaderId(wh, config.loader_id) };
  };
  /** One file per batch, so both loaders number their batches 1, 2, … alike. */
  const ingest = async (wh: Warehouse, files: string[]) =>
    loadUnits(wh, await discoverInputs(files), { batchFiles: 1 });
  const sync = async (l: Loader, hooks?: Parameters<SqlReportSink['sync']>[1]) =>
    l.sink.sync(await latestBatch(l.wh), hooks);

  /** A loader's rows as stored (every sync, every column), to see they never change. */
  const share = async (l: Loader, tables = l.sink.tables) => {
    const out: Record<string, string[][]> = {};
    for (const t of tables)
      out[t.name] = await query(
        `SELECT * FROM ${ch.ident(t.name)} FINAL WHERE ${LOADER_COLUMN} = ${ch.literal(l.id)} ORDER BY tuple(*)`,
      );
    return out;
  };
  /** A table's rows as text in column order: the view (every loader summed), or one loader's share. */
  const textRows = (loader?: string) => (t: SinkTable) => {
    const cols = columnsOf(t).map((c, i) => `toString(${ch.ident(c.name)}) AS c${i}`);
    const from = loader === undefined ? ch.ident(viewName(t)) : `(${summedSql(t, loader)})`;
    return query(`SELECT ${cols.join(', ')} FROM ${from}`);
  };
  /** Every difference between the views (all loaders summed) and the truth's reports. */
  const globalDifferences = (tables: readonly SinkTable[]) =>
    differences(tables, embeddedRows(all, TZ), textRows());
  /**
   * The views equal the truth exactly in every additive measure. Share measures are rounded per
   * report row in each loader's report, so their sum may be off the whole's rounding by up to half a
   * micro-unit per loader: at most 1 micro-unit with two loaders (media + agency stays gross exactly).
   */
  const expectGlobalExact = async (tables = a.sink.tables) => {
    const diffs = await globalDifferences(tables);
    const shares = new Set(
      tables.flatMap((t) => t.report.measures.filter((m) => m.kind === 'share').map((m) => m.name)),
    );
    expect(diffs.filter((d) => !shares.has(d.column))).toEqual([]);
    for (const d of diffs) {
      expect(d.embedded).not.toBeNull();
      expect(d.sink).not.toBeNull();
      const off = parseMicros(d.embedded!) - parseMicros(d.sink!);
      expect(off === 1n || off === -1n, JSON.stringify(d)).toBe(true);
    }
    return diffs.length;
  };

  beforeAll(async () => {
    client = createClient({ url });
    // A Seoul day and a bit, dirty: duplicates (byte-identical, so in the same half), malformed and late records.
    const manifest = await generate({
      out: gen,
      events: 4000,
      seed: 41,
      hours: 26,
      files: 4,
      dirty: 0.05,
      format: 'jsonl',
    });
    const lateGen = await generate({
      out: path.join(root, 'late-gen'),
      events: 600,
      seed: 42,
      hours: 26,
      files: 2,
      format: 'jsonl',
    });
    const files = manifest.files.map((f) => path.join(gen, 'events', f.name));
    const lateFiles = lateGen.files.map((f) => path.join(root, 'late-gen', 'events', f.name));
    const halves = split(files, path.join(root, 'split'));
    late = { ...split(lateFiles, path.join(root, 'late-split')), all: lateFiles };
    a = await open('a', { loader_id: 'part-a', sinks: [sinkYaml(prefix)] });
    b = await open('b', { sinks: [sinkYaml(prefix)] });
    all = await Warehouse.open(path.join(root, 'all'));
    await loadMetadata(all, path.join(gen, 'metadata'));
    await ingest(a.wh, halves.a);
    await ingest(b.wh, halves.b);
    await ingest(all, files);
  });

  afterAll(async () => {
    const names = await query(
      `SELECT name FROM system.tables WHERE database = currentDatabase() AND startsWith(name, ${ch.literal(prefix)})`,
    );
    for (const [name] of names) await client.command({ query: `DROP TABLE IF EXISTS ${ch.ident(name!)}` });
    await client?.close();
    for (const wh of [a?.wh, b?.wh, all]) wh?.close();
  });

  it('keeps a loader id per data dir: the configured one, else one made once and kept', async () => {
    expect(a.id).toBe('part-a');
    expect(b.id).toMatch(/^loader-[0-9a-f]{8}$/);
    expect(await loaderId(b.wh)).toBe(b.id);
    await expect(loaderId(b.wh, 'part-b')).rejects.toMatchObject({ code: 'ADP_ERR_CONFIG' });
    await expect(loaderId(b.wh, 'part-b')).rejects.toThrow(`this data dir is loader ${b.id}`);
    expect(() => parseConfig({ loader_id: 'a b' })).toThrow(/loader_id/);
  });

  it('two loaders sync their halves into the same tables: each verifies its own share, the views sum to the whole', async () => {
    // The same batch numbers on both sides: rows whose key and tag coincide must stay apart.
    expect(await latestBatch(a.wh)).toBe(4);
    expect(await latestBatch(b.wh)).toBe(4);
    expect((await sync(a)).length).toBe(a.sink.tables.length);
    expect((await sync(b)).length).toBe(b.sink.tables.length);
    expect(await a.sink.verify()).toEqual([]);
    expect(await b.sink.verify()).toEqual([]);
    const t = ch.ident(`${prefix}ad_request`);
    const [[shared]] = (await query(
      `SELECT count() FROM (SELECT date, org_id, media_id, inventory_id, device, app_type, adpipe_batch_id FROM ${t}
       GROUP BY date, org_id, media_id, inventory_id, device, app_type, adpipe_batch_id HAVING uniqExact(${LOADER_COLUMN}) = 2)`,
    )) as [string[]];
    expect(Number(shared)).toBeGreaterThan(0);
    // Neither share alone is the whole, and both summed are.
    for (const l of [a, b])
      expect(await differences(l.sink.tables, embeddedRows(all, TZ), textRows(l.id))).not.toEqual([]);
    const rounded = await expectGlobalExact();
    console.info(`share measures off the whole's rounding by 1 micro-unit: ${rounded} value(s)`);
    const media = ch.ident(`${prefix}media_v`);
    const [[rows, broken]] = (await query(
      `SELECT count(), countIf(media_revenue + agency_revenue != gross_revenue) FROM ${media}`,
    )) as [string[]];
    expect(Number(rows)).toBeGreaterThan(0);
    expect(broken).toBe('0');
    const lags = await sinkLag(a.wh, a.sink);
    expect(lags.every((l) => l.loader === 'part-a' && l.watermark === 4 && l.lag === 0)).toBe(true);
  });

  it("one loader's late data, a crash before its watermark and the retry never touch the other's share", async () => {
    const before = await share(b);
    await ingest(a.wh, late.a);
    await ingest(all, late.all);
    let crashed = 0;
    const failed = sync(a, {
      beforeCommit: async () => {
        crashed++;
        throw new Error('injected: crashed after the insert, before the watermark row');
      },
    });
    await expect(failed).rejects.toMatchObject({ code: 'ADP_ERR_SINK_FAILED' });
    expect(crashed).toBe(1);
    // The insert landed whole and its tags moved a's watermark; b's did not move.
    expect((await sinkLag(a.wh, a.sink))[0]).toMatchObject({ loader: 'part-a', watermark: 6 });
    expect((await sinkLag(b.wh, b.sink)).every((l) => l.loader === b.id && l.watermark === 4)).toBe(true);
    const retried = await sync(a);
    // The crash was in the first table's apply: its insert counted; the others' were never made.
    expect(retried.map((r) => r.table)).toEqual(a.sink.tables.slice(1).map((t) => t.name));
    expect(retried.every((r) => r.after === 4 && r.upTo === 6)).toBe(true);
    expect(await a.sink.verify()).toEqual([]);
    // b's half of the late traffic, then: a's watermarks stay where they are.
    await ingest(b.wh, late.b);
    expect(await share(b)).toEqual(before);
    expect(await sync(b)).toHaveLength(b.sink.tables.length);
    expect(await b.sink.verify()).toEqual([]);
    expect((await sinkLag(a.wh, a.sink)).every((l) => l.watermark === 6)).toBe(true);
    await expectGlobalExact();
  });

  it('rebuilding one loader deletes and refills its share only', async () => {
    const before = await share(b);
    const mine = await share(a);
    await a.sink.rebuild();
    const emptied = await share(a);
    expect(Object.values(emptied).every((rows) => rows.length === 0)).toBe(true);
    expect(await share(b)).toEqual(before);
    expect((await sinkLag(a.wh, a.sink)).every((l) => l.watermark === 0)).toBe(true);
    expect((await sinkLag(b.wh, b.sink)).map((l) => l.watermark)).toEqual(b.sink.tables.map(() => 6));
    const refilled = await sync(a);
    expect(refilled.every((r) => r.after === 0 && r.upTo === 6)).toBe(true);
    expect(await a.sink.verify()).toEqual([]);
    expect(await b.sink.verify()).toEqual([]);
    expect(await share(b)).toEqual(before);
    // One sync of every batch instead of three: other tags, the same sums.
    expect(await share(a)).not.toEqual(mine);
    await expectGlobalExact();
  });

  it('a report model change: one loader rebuilds the whole table, the other refills its share by itself', async () => {
    const t = a.sink.tables.find((x) => x.report.name === 'ad_request')!;
    const others = a.sink.tables.filter((x) => x !== t);
    const before = await share(b, others);
    // A newer adpipe recorded another model for the table (the model table keeps the latest row).
    await client.command({
      query: `INSERT INTO ${ch.ident(modelTableOf(a.sink.watermarkTable))} (table_name, fingerprint, updated_at)
              VALUES (${ch.literal(t.name)}, 'another model', now() + 60)`,
    });
    await expect(sync(a)).rejects.toMatchObject({ code: 'ADP_ERR_SINK_MODEL' });
    await expect(sync(b)).rejects.toThrow(`adpipe sink rebuild ${b.sink.name}`);
    await rebuildSink(a.sink, await latestBatch(a.wh));
    expect(await a.sink.verify()).toEqual([]);
    // b's rows of that table went with it, and its watermark: nothing else of b's moved.
    expect((await share(b, [t]))[t.name]).toEqual([]);
    const lag = await sinkLag(b.wh, b.sink);
    expect(lag.map((l) => l.watermark)).toEqual(b.sink.tables.map((x) => (x.name === t.name ? 0 : 6)));
    expect(await share(b, others)).toEqual(before);
    const refilled = await sync(b);
    expect(refilled.map((r) => [r.table, r.after])).toEqual([[t.name, 0]]);
    expect(await b.sink.verify()).toEqual([]);
    await expectGlobalExact();
  });

  it('a sink from before loaders: its tables are refused until rebuilt, its watermark table gains the loader column', async () => {
    const old = `${prefix}old_`;
    const config = parseConfig({
      loader_id: 'part-a',
      sinks: [{ ...sinkYaml(old), reports: ['ad_request'] }],
    });
    const [sink] = (await openSinks(config, a.wh)) as SqlReportSink[];
    const t = sink!.tables[0]!;
    // The tables as the single-loader sink made them: no loader column, watermarks per table.
    const wm = ch.ident(sink!.watermarkTable);
    const unlabelled = ch
      .createTable(t)[0]!
      .replace(`,\n  ${LOADER_COLUMN} String`, '')
      .replace(`(${LOADER_COLUMN}, `, '(');
    expect(unlabelled).not.toContain(LOADER_COLUMN);
    await client.command({ query: unlabelled });
    await client.command({
      query: `CREATE TABLE ${wm} (table_name String, batch_id Int64, updated_at DateTime) ENGINE = ReplacingMergeTree(batch_id) ORDER BY table_name`,
    });
    await client.command({ query: `INSERT INTO ${wm} VALUES (${ch.literal(t.name)}, 3, now())` });
    await expect(sink!.sync(await latestBatch(a.wh))).rejects.toMatchObject({ code: 'ADP_ERR_SINK_MODEL' });
    expect(await query(`SELECT table_name, loader, toString(batch_id) FROM ${wm} FINAL`)).toEqual([
      [t.name, '', '3'],
    ]);
    const rebuilt = await rebuildSink(sink!, await latestBatch(a.wh));
    expect(rebuilt.map((r) => [r.after, r.upTo])).toEqual([[0, 6]]);
    expect(await sink!.verify()).toEqual([]);
    expect(await query(`SELECT DISTINCT ${LOADER_COLUMN} FROM ${ch.ident(t.name)}`)).toEqual([['part-a']]);
  });

  it('adpipe sink status shows the loader and its watermarks; sink verify compares its share', async () => {
    const file = path.join(root, 'a.yaml');
    writeFileSync(file, JSON.stringify({ tz: 'UTC', loader_id: 'part-a', sinks: [sinkYaml(prefix)] }));
    a.wh.close();
    try {
      const status = await runCli(a.dir, ['-c', file, 'sink', 'status']);
      expect(status.code, status.stderr).toBe(0);
      const lines = status.stdout.trim().split('\n');
      expect(lines.map((l) => l.split('\t').slice(0, 4))).toEqual(
        a.sink.tables.map((t) => ['clickhouse', t.name, 'loader part-a', 'batch 6/6']),
      );
      const verify = await runCli(a.dir, ['-c', file, 'sink', 'verify', 'clickhouse']);
      expect({ code: verify.code, stdout: verify.stdout }).toEqual({
        code: 0,
        stdout: 'clickhouse: 0 difference(s)\n',
      });
    } finally {
      a.wh = await Warehouse.open(a.dir);
    }
  }, 60_000);

  it("a new data dir under a lost loader's id is refused until its rebuild replaces that share", async () => {
    const c = await open('c', { loader_id: 'part-a', sinks: [sinkYaml(prefix)] });
    try {
      const before = await share(b);
      await ingest(c.wh, late.a.slice(0, 1));
      const refused = sync(c);
      await expect(refused).rejects.toMatchObject({ code: 'ADP_ERR_SINK_AHEAD' });
      await expect(refused).rejects.toThrow(
        'holds batches up to 6 of loader part-a, but this data dir has committed only up to 1',
      );
      await rebuildSink(c.sink, await latestBatch(c.wh));
      expect(await c.sink.verify()).toEqual([]);
      expect(await share(b)).toEqual(before);
      expect(await b.sink.verify()).toEqual([]);
    } finally {
      c.wh.close();
    }
  });
});
