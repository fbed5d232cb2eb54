// `npm run bench -- batch [--events N] [--files K] [--batch-files B]`: the batch pipeline end to end
// (gzip NDJSON → validate → dedup → enrich → Parquet lake + every rollup, committed per group)
// beside a baseline measured in the same run on the same files: DuckDB alone reading them with
// read_json and computing one GROUP BY. The ratio is what the pipeline's guarantees cost. A floor,
// measured the same way, shows what landing every field in Parquet costs DuckDB before any of them.

import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { CANONICAL_FIELDS } from '../src/events/contract.js';
import { removeOrphans } from '../src/lake/lake.js';
import { ingestFiles } from '../src/pipeline/ingest.js';
import { loadMetadata } from '../src/pipeline/metadata.js';
import { verifyWarehouse } from '../src/pipeline/verify.js';
import { generate } from '../src/simulator/index.js';
import { discoverInputs } from '../src/sources/files/discover.js';
import { Warehouse } from '../src/warehouse/warehouse.js';
import { benchDir, peakRssMiB, saveResults } from './util.js';

async function baseline(eventsDir: string): Promise<number> {
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  const started = performance.now();
  await conn.run(
    `SELECT type, count(*), sum(TRY_CAST(revenue AS DECIMAL(18,6)))
     FROM read_json('${eventsDir}/*.jsonl.gz', format='newline_delimited') GROUP BY type`,
  );
  const seconds = (performance.now() - started) / 1000;
  conn.closeSync();
  db.closeSync();
  return seconds;
}

/**
 * The least any pipeline that lands every event in the lake must do, by DuckDB alone: read every
 * field of every event and write hour-partitioned Parquet; no validation, dedup or rollups. If this
 * is far above the baseline, so is every such pipeline.
 */
async function floor(eventsDir: string, outDir: string): Promise<number> {
  rmSync(outDir, { recursive: true, force: true });
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  await conn.run('SET preserve_insertion_order = false');
  const columns = `{${CANONICAL_FIELDS.map((f) => `'${f}': 'VARCHAR'`).join(', ')}}`;
  const started = performance.now();
  await conn.run(
    `COPY (SELECT *, substr(ts, 1, 10) AS dt, substr(ts, 12, 2) AS hour
       FROM read_json('${eventsDir}/*.jsonl.gz', format='newline_delimited', columns=${columns}))
     TO '${outDir}' (FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1, PARTITION_BY (dt, hour))`,
  );
  const seconds = (performance.now() - started) / 1000;
  conn.closeSync();
  db.closeSync();
  rmSync(outDir, { recursive: true, force: true });
  return seconds;
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      events: { type: 'string', default: '10000000' },
      files: { type: 'string', default: '100' },
      'batch-files': { type: 'string', default: '10' },
      verify: { type: 'boolean', default: false },
    },
  });
  const events = Number(values.events);
  const files = Number(values.files);
  const input = path.join(benchDir, 'data', `batch-${events}-${files}`);
  const manifestFile = path.join(input, 'manifest.json');
  if (!existsSync(manifestFile)) {
    console.log(`generating ${events} events in ${files} files under ${input} …`);
    await generate({ out: input, events, files, seed: 42, format: 'jsonl.gz' });
  }
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as { events: number };
  const eventsDir = path.join(input, 'events');

  const baselineSeconds = await baseline(eventsDir);
  const floorSeconds = await floor(eventsDir, path.join(benchDir, 'data', 'batch-floor'));

  const dataDir = path.join(benchDir, 'data', 'batch-warehouse');
  rmSync(dataDir, { recursive: true, force: true });
  const wh = await Warehouse.open(dataDir);
  await removeOrphans(wh);
  const started = performance.now();
  await loadMetadata(wh, path.join(input, 'metadata'));
  const summary = await ingestFiles(wh, await discoverInputs([eventsDir]), {
    batchFiles: Number(values['batch-files']),
  });
  const seconds = (performance.now() - started) / 1000;
  const verified = values.verify ? (await verifyWarehouse(wh)).ok : undefined;
  wh.close();

  const eventsPerSecond = Math.round(summary.accepted / seconds);
  saveResults('batch', {
    events: manifest.events,
    files,
    batch_files: Number(values['batch-files']),
    accepted: summary.accepted,
    rejected: summary.rejected,
    duplicates: summary.duplicates,
    pipeline_seconds: Number(seconds.toFixed(2)),
    pipeline_events_per_second: eventsPerSecond,
    baseline_seconds: Number(baselineSeconds.toFixed(2)),
    baseline_events_per_second: Math.round(manifest.events / baselineSeconds),
    ratio_to_baseline: Number((seconds / baselineSeconds).toFixed(2)),
    floor_seconds: Number(floorSeconds.toFixed(2)),
    floor_ratio_to_baseline: Number((floorSeconds / baselineSeconds).toFixed(2)),
    ratio_to_floor: Number((seconds / floorSeconds).toFixed(2)),
    peak_rss_mib: peakRssMiB(),
    verified,
    targets: { events_per_second: 1_000_000, ratio_to_baseline: 2.5, peak_rss_mib: 2048 },
  });
}
