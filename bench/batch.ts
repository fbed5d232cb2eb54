// `npm run bench -- batch [--events N] [--files K] [--batch-files B] [--dirty RATE] [--mapping FILE]`: the batch pipeline end to end
// (gzip NDJSON → validate → dedup → enrich → Parquet lake + every rollup, committed per group)
// beside a baseline measured in the same run on the same files: DuckDB alone reading them with
// read_json and computing one GROUP BY. The ratio is what the pipeline's guarantees cost. Floors,
// measured the same way, show what landing every field in Parquet costs DuckDB before any of them.
// With --mapping the same files are ingested again through that mapping (docs/events.md, "Mapping
// your data"), into a warehouse of their own: mapping_ratio is what the mapping costs (target 1.3).

import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { CANONICAL_FIELDS } from '../src/events/contract.js';
import { loadMapping } from '../src/events/mapping/index.js';
import { removeOrphans } from '../src/lake/lake.js';
import { type LoadOptions, type LoadSummary, loadUnits } from '../src/loader/loader.js';
import { loadMetadata } from '../src/pipeline/metadata.js';
import { verifyWarehouse } from '../src/pipeline/verify-warehouse.js';
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
     FROM read_json('${eventsDir}/*.jsonl.gz', format='newline_delimited', ignore_errors=true) GROUP BY type`,
  );
  const seconds = (performance.now() - started) / 1000;
  conn.closeSync();
  db.closeSync();
  return seconds;
}

/**
 * What landing every event in Parquet costs DuckDB alone, no validation, dedup or rollups: reading
 * every field and writing one Parquet file (the least any pipeline with a lake must do), and the
 * same written in hour partitions by DuckDB's partitioned writer.
 */
async function floors(eventsDir: string, outDir: string): Promise<{ single: number; partitioned: number }> {
  rmSync(outDir, { recursive: true, force: true });
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  await conn.run('SET preserve_insertion_order = false');
  const columns = `{${CANONICAL_FIELDS.map((f) => `'${f}': 'VARCHAR'`).join(', ')}}`;
  const events = `read_json('${eventsDir}/*.jsonl.gz', format='newline_delimited', columns=${columns}, ignore_errors=true)`;
  const options = 'FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1';
  const timed = async (sql: string) => {
    const started = performance.now();
    await conn.run(sql);
    return (performance.now() - started) / 1000;
  };
  const single = await timed(`COPY (SELECT * FROM ${events}) TO '${outDir}.parquet' (${options})`);
  const partitioned = await timed(
    `COPY (SELECT *, substr(ts, 1, 10) AS dt, substr(ts, 12, 2) AS hour FROM ${events})
     TO '${outDir}' (${options}, PARTITION_BY (dt, hour))`,
  );
  conn.closeSync();
  db.closeSync();
  rmSync(outDir, { recursive: true, force: true });
  rmSync(`${outDir}.parquet`, { force: true });
  return { single, partitioned };
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      events: { type: 'string', default: '10000000' },
      files: { type: 'string', default: '100' },
      'batch-files': { type: 'string', default: '10' },
      verify: { type: 'boolean', default: false },
      dirty: { type: 'string', default: '0' },
      mapping: { type: 'string' },
    },
  });
  const events = Number(values.events);
  const files = Number(values.files);
  const dirty = Number(values.dirty);
  const input = path.join(benchDir, 'data', `batch-${events}-${files}${dirty ? `-dirty${dirty}` : ''}`);
  const manifestFile = path.join(input, 'manifest.json');
  if (!existsSync(manifestFile)) {
    console.log(`generating ${events} events in ${files} files under ${input} …`);
    await generate({ out: input, events, files, seed: 42, dirty, format: 'jsonl.gz' });
  }
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as { events: number };
  const eventsDir = path.join(input, 'events');

  const baselineSeconds = await baseline(eventsDir);
  const floor = await floors(eventsDir, path.join(benchDir, 'data', 'batch-floor'));

  const batchFiles = Number(values['batch-files']);
  const {
    summary,
    seconds,
    cpuSeconds: unmappedCpu,
    verified,
  } = await timedIngest(input, 'batch-warehouse', { batchFiles }, values.verify);
  const mapped = values.mapping
    ? await timedIngest(input, 'batch-warehouse-mapped', { batchFiles, mapping: loadMapping(values.mapping) })
    : undefined;

  const eventsPerSecond = Math.round(summary.accepted / seconds);
  saveResults('batch', {
    events: manifest.events,
    files,
    dirty,
    batch_files: Number(values['batch-files']),
    accepted: summary.accepted,
    rejected: summary.rejected,
    duplicates: summary.duplicates,
    pipeline_seconds: Number(seconds.toFixed(2)),
    pipeline_events_per_second: eventsPerSecond,
    pipeline_records_per_second: Math.round(
      (summary.accepted + summary.duplicates + summary.rejected) / seconds,
    ),
    baseline_seconds: Number(baselineSeconds.toFixed(2)),
    baseline_events_per_second: Math.round(manifest.events / baselineSeconds),
    ratio_to_baseline: Number((seconds / baselineSeconds).toFixed(2)),
    floor_seconds: Number(floor.single.toFixed(2)),
    floor_events_per_second: Math.round(manifest.events / floor.single),
    floor_ratio_to_baseline: Number((floor.single / baselineSeconds).toFixed(2)),
    floor_partitioned_seconds: Number(floor.partitioned.toFixed(2)),
    ratio_to_floor: Number((seconds / floor.single).toFixed(2)),
    peak_rss_mib: peakRssMiB(),
    verified,
    ...(mapped && {
      mapping: values.mapping,
      mapped_accepted: mapped.summary.accepted,
      mapped_seconds: Number(mapped.seconds.toFixed(2)),
      mapping_ratio: Number((mapped.seconds / seconds).toFixed(2)),
      cpu_seconds: Number(unmappedCpu.toFixed(2)),
      mapped_cpu_seconds: Number(mapped.cpuSeconds.toFixed(2)),
      mapping_cpu_ratio: Number((mapped.cpuSeconds / unmappedCpu).toFixed(2)),
    }),
    targets: {
      events_per_second: 1_000_000,
      ratio_to_baseline: 2.5,
      peak_rss_mib: 2048,
      ...(mapped && { mapping_ratio: 1.3 }),
    },
  });
}

/** Ingests the bench's files into a fresh warehouse `name`, metadata included, timed. */
async function timedIngest(
  input: string,
  name: string,
  options: LoadOptions,
  verify = false,
): Promise<{ summary: LoadSummary; seconds: number; cpuSeconds: number; verified?: boolean }> {
  const dataDir = path.join(benchDir, 'data', name);
  rmSync(dataDir, { recursive: true, force: true });
  const wh = await Warehouse.open(dataDir);
  try {
    await removeOrphans(wh);
    const started = performance.now();
    const cpu = process.cpuUsage();
    await loadMetadata(wh, path.join(input, 'metadata'));
    const summary = await loadUnits(wh, await discoverInputs([path.join(input, 'events')]), options);
    const seconds = (performance.now() - started) / 1000;
    // CPU time of every thread (DuckDB's too): moves less than wall time with the machine's load.
    const { user, system } = process.cpuUsage(cpu);
    const cpuSeconds = (user + system) / 1e6;
    return { summary, seconds, cpuSeconds, verified: verify ? (await verifyWarehouse(wh)).ok : undefined };
  } finally {
    wh.close();
  }
}
