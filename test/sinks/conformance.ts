// One behaviour every sink must show, against the real database: tables created, syncs exact to the
// micro-unit (`verify` finds no difference) after a first ingest, after late data, after a failure
// injected between writing and committing and its retry, and after being down during an ingest.

import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Config, parseConfig } from '../../src/config.js';
import { loadUnits } from '../../src/loader/loader.js';
import { divRound, formatMicros, MICROS, parseMicros } from '../../src/money.js';
import { loadMetadata } from '../../src/pipeline/metadata.js';
import { runReport } from '../../src/reports/query.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { generate } from '../../src/simulator/index.js';
import { openSinks } from '../../src/sinks/configured.js';
import { sinkLag } from '../../src/sinks/lag.js';
import { type ApplyHooks, modelTableOf } from '../../src/sinks/sql/connection.js';
import type { SqlReportSink } from '../../src/sinks/sql/sink.js';
import { viewName } from '../../src/sinks/sql/table.js';
import { startSinkSubscribers } from '../../src/sinks/subscriber.js';
import { rebuildSink, syncWithRetry } from '../../src/sinks/sync.js';
import { discoverInputs } from '../../src/sources/files/discover.js';
import { FilesSource } from '../../src/sources/files/source.js';
import { latestBatch } from '../../src/warehouse/batches.js';
import { Warehouse } from '../../src/warehouse/warehouse.js';
import { makeTempDir } from '../helpers/tmp.js';

/** Direct access to the database under test, for assertions and fault injection. */
export interface RawDatabase {
  /** Rows as text. */
  query(sql: string): Promise<string[][]>;
  /** Ends a sink's session from the server side (KILL CONNECTION, pg_terminate_backend). */
  kill(sessionId: string): Promise<void>;
  /** Drops every table and view whose name starts with prefix. */
  dropPrefix(prefix: string): Promise<void>;
  close(): Promise<void>;
}

export interface ConformanceOptions {
  type: 'mysql' | 'postgres' | 'clickhouse';
  url: string;
  /** Same server, a port nothing listens on. */
  downUrl: string;
  raw: () => Promise<RawDatabase>;
  ident: (name: string) => string;
  /** Whether a failure before commit leaves the sink untouched (false: no transactions). */
  transactional: boolean;
}

export const uniquePrefix = (type: string) =>
  `adp_t_${type}_${process.pid}_${Math.random().toString(36).slice(2, 8)}_`;

export function sinkConformance(o: ConformanceOptions): void {
  const prefix = uniquePrefix(o.type);
  const sinkYaml = (url: string) => ({
    type: o.type,
    url,
    tz: 'Asia/Seoul',
    table_prefix: prefix,
    // A renamed table and columns, to show the mapping applies to every statement.
    tables: { campaign: `${prefix}camp` },
    columns: { campaign: { date: 'day', campaign_id: 'cid', impressions: 'imps' } },
  });
  const config: Config = parseConfig({ tz: 'UTC', sinks: [sinkYaml(o.url)] });
  const down: Config = parseConfig({ tz: 'UTC', sinks: [sinkYaml(o.downUrl)] });
  let sink: SqlReportSink;
  let wh: Warehouse;
  let raw: RawDatabase;
  let files: string[];
  let lateFiles: string[];
  let gen: string;

  /** Loads files one per batch; with cfg, as `adpipe ingest` does: its sinks subscribe to the commits. */
  const ingest = async (paths: string[], cfg?: Config) => {
    if (!cfg) return loadUnits(wh, await discoverInputs(paths), { batchFiles: 1 });
    const runtime = await Runtime.open(wh, await startSinkSubscribers(cfg, wh));
    try {
      const source = await FilesSource.create({
        type: 'files',
        name: 'files',
        paths,
        batch_files: 1,
        reprocess: false,
      });
      return await runtime.run(source);
    } finally {
      await runtime.close();
    }
  };
  const expectExact = async () => expect(await sink.verify()).toEqual([]);
  const sqlSink = async (cfg: Config) => (await openSinks(cfg, wh))[0] as SqlReportSink;
  const syncSink = async (s: SqlReportSink, hooks?: ApplyHooks) => s.sync(await latestBatch(wh), hooks);

  beforeAll(async () => {
    const dir = makeTempDir(`sink-${o.type}`);
    gen = path.join(dir, 'gen');
    // Dirty traffic (duplicates, late and malformed records) over two Seoul days.
    const manifest = await generate({ out: gen, events: 2500, seed: 11, hours: 30, files: 6, dirty: 0.05 });
    const late = await generate({
      out: path.join(dir, 'late'),
      events: 400,
      seed: 12,
      hours: 30,
      files: 2,
      format: 'jsonl',
    });
    files = manifest.files.map((f) => path.join(gen, 'events', f.name));
    lateFiles = late.files.map((f) => path.join(dir, 'late', 'events', f.name));
    wh = await Warehouse.open(path.join(dir, 'data'));
    await loadMetadata(wh, path.join(gen, 'metadata'));
    sink = await sqlSink(config);
    raw = await o.raw();
  });

  afterAll(async () => {
    await raw?.dropPrefix(prefix);
    await raw?.close();
    wh?.close();
  });

  it('creates the tables, views and watermarks, and syncs a first ingest exactly', async () => {
    await ingest(files.slice(0, 3));
    const synced = await syncSink(sink);
    expect(synced.map((s) => s.table).sort()).toEqual(sink.tables.map((t) => t.name).sort());
    expect(synced.every((s) => s.after === 0 && s.upTo === 3 && s.rows > 0)).toBe(true);
    await expectExact();
    const status = await sinkLag(wh, sink);
    expect(status.every((s) => s.watermark === 3 && s.lag === 0)).toBe(true);
    // Nothing new: a second sync does nothing.
    expect(await syncSink(sink)).toEqual([]);
  });

  it('keeps ALL rows equal to the sum of their parts', async () => {
    const t = o.ident(`${prefix}ad_request`);
    const [[all, parts, allRows]] = (await raw.query(
      `SELECT sum(CASE WHEN device = 'ALL' AND app_type = 'ALL' THEN requests ELSE 0 END),
        sum(CASE WHEN device <> 'ALL' AND app_type <> 'ALL' THEN requests ELSE 0 END),
        sum(CASE WHEN device = 'ALL' AND app_type = 'ALL' THEN 1 ELSE 0 END) FROM ${t}`,
    )) as [string[]];
    expect(Number(allRows)).toBeGreaterThan(0);
    expect(Number(all)).toBe(Number(parts));
    expect(Number(all)).toBeGreaterThan(0);
  });

  it('exposes derived metrics in views, NULL when the denominator is 0', async () => {
    const v = o.ident(viewName(sink.tables.find((t) => t.report.name === 'campaign')!));
    const rows = await raw.query(`SELECT imps, clicks, ctr FROM ${v}`);
    expect(rows.length).toBeGreaterThan(0);
    for (const [imps, clicks, ctr] of rows) {
      if (Number(imps) === 0) expect(ctr === null || ctr === 'null' || ctr === '\\N').toBe(true);
      else expect(Number(ctr)).toBeCloseTo(Number(clicks) / Number(imps), 6);
    }
  });

  it('adds late data onto existing days exactly', async () => {
    await ingest([...files.slice(3, 5), ...lateFiles]);
    const synced = await syncSink(sink);
    expect(synced.every((s) => s.after === 3 && s.upTo === 7)).toBe(true);
    await expectExact();
  });

  it('survives a connection killed between writing and committing, and the retry counts once', async () => {
    await ingest(files.slice(5, 6));
    let killed = 0;
    const failed = syncSink(sink, {
      beforeCommit: async (sessionId) => {
        killed++;
        if (o.transactional) await raw.kill(sessionId);
        else throw new Error('injected: crashed after the insert, before acknowledging it');
      },
    });
    await expect(failed).rejects.toMatchObject({ code: 'ADP_ERR_SINK_FAILED' });
    expect(killed).toBe(1);
    const status = await sinkLag(wh, sink);
    const first = status.find((s) => s.table === sink.tables[0]!.name)!;
    // With a transaction nothing of the delta stayed; without, the insert landed whole.
    expect(first.watermark).toBe(o.transactional ? 7 : 8);
    await syncWithRetry(sink, await latestBatch(wh), { attempts: 3, backoffMs: 10 });
    await expectExact();
    expect((await sinkLag(wh, sink)).every((s) => s.lag === 0)).toBe(true);
  });

  it('never blocks ingestion while down, and catches up afterwards', async () => {
    const more = await generate({
      out: path.join(path.dirname(files[0]!), '..', 'more'),
      events: 300,
      seed: 13,
      hours: 30,
      files: 2,
      start: '2025-01-02T00:00:00Z',
    });
    const summary = await ingest(
      more.files.map((f) => path.join(path.dirname(files[0]!), '..', 'more', 'events', f.name)),
      down,
    );
    expect(summary.batches.length).toBe(2);
    await expect(syncSink(await sqlSink(down))).rejects.toMatchObject({ code: 'ADP_ERR_SINK_FAILED' });
    const behind = await sinkLag(wh, sink);
    expect(behind.every((s) => s.lag === 2 && s.ageSeconds >= 0)).toBe(true);
    expect((await sink.verify()).length).toBeGreaterThan(0);
    await syncWithRetry(sink, await latestBatch(wh));
    await expectExact();
  });

  // Media revenue per day in the sink's zone: date|media_id → [gross, media].
  const mediaByDay = async () => {
    const res = await runReport(wh, { report: 'media', tz: sink.tz, by: ['media_id'] });
    return new Map(
      res.rows.map((r) => [`${r.date}|${r.media_id}`, [String(r.gross_revenue), String(r.media_revenue)]]),
    );
  };
  /** Writes a copy of the generated metadata whose media.csv has the given lines. */
  const metadataWith = (name: string, lines: string[]) => {
    const dir = path.join(path.dirname(gen), name);
    cpSync(path.join(gen, 'metadata'), dir, { recursive: true });
    writeFileSync(path.join(dir, 'media.csv'), `${lines.join('\n')}\n`);
    return dir;
  };
  const mediaRows = () =>
    readFileSync(path.join(gen, 'metadata', 'media.csv'), 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split(','));
  const share = (gross: string, s: string) =>
    formatMicros(divRound(parseMicros(gross) * parseMicros(s), MICROS, 'half-even'));

  it('keeps past days when a share changes without valid_from, and the sink follows', async () => {
    const before = await mediaByDay();
    const rows = mediaRows();
    const raised = new Map(rows.map(([id, , , s]) => [id!, formatMicros(parseMicros(s!) + 30_000n)]));
    const dir = metadataWith('meta-undated', [
      'media_id,name,org_id,media_share',
      ...rows.map(([id, n, org]) => `${id},${n},${org},${raised.get(id!)}`),
    ]);
    await loadMetadata(wh, dir, { tz: 'UTC', today: '2025-01-02' });
    const after = await mediaByDay();
    let past = 0;
    let changed = 0;
    for (const [key, [gross, media]] of after) {
      const [date, id] = key.split('|') as [string, string];
      if (date < '2025-01-02') {
        expect(media, key).toBe(before.get(key)![1]);
        past++;
      } else if (raised.has(id)) {
        expect(media, key).toBe(share(gross!, raised.get(id)!));
        changed++;
      }
    }
    expect(past).toBeGreaterThan(0);
    expect(changed).toBeGreaterThan(0);
    // The same file again changes nothing.
    await loadMetadata(wh, dir, { tz: 'UTC', today: '2025-01-03' });
    expect(await mediaByDay()).toEqual(after);
    expect((await syncSink(sink)).length).toBeGreaterThan(0);
    await expectExact();
  });

  it('applies a dated share from its valid_from day on, and the sink follows', async () => {
    const before = await mediaByDay();
    const [first] = mediaRows();
    const [id, name, org] = first!;
    const dir = metadataWith('meta-dated', [
      'media_id,name,org_id,media_share,valid_from',
      `${id},${name},${org},0.100000,2025-01-03`,
    ]);
    await loadMetadata(wh, dir, { tz: 'UTC' });
    const after = await mediaByDay();
    let moved = 0;
    for (const [key, [gross, media]] of after) {
      if (key === `2025-01-03|${id}`) {
        expect(media).toBe(share(gross!, '0.1'));
        moved++;
      } else expect(media, key).toBe(before.get(key)![1]);
    }
    expect(moved).toBe(1);
    await syncSink(sink);
    await expectExact();
  });

  it('refuses to sync tables of another report model, and rebuilds them from the rollups', async () => {
    // A sink from before model fingerprints: filled tables, no record of what built them.
    await raw.dropPrefix(modelTableOf(sink.watermarkTable));
    await ingest(lateFiles.slice(0, 1));
    const refused = syncSink(sink);
    await expect(refused).rejects.toMatchObject({ code: 'ADP_ERR_SINK_MODEL' });
    await expect(refused).rejects.toThrow(`adpipe sink rebuild ${sink.name}`);
    const rebuilt = await rebuildSink(sink, await latestBatch(wh));
    expect(rebuilt.every((t) => t.after === 0)).toBe(true);
    await expectExact();
    expect(await syncSink(sink)).toEqual([]);
  });
}
