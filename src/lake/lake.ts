// The lake: Parquet files under <data-dir>/lake/dt=YYYY-MM-DD/hour=HH/, partitioned by event time in
// UTC. Files are named after the batch that wrote them (b<batch>_<uuid>.parquet, c<batch>_… for
// compactions); the warehouse's lake_files table is the manifest that says which ones count.

import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { LAKE_COLUMNS } from '../events/contract.js';
import { sqlIdent, sqlString } from '../warehouse/quote.js';
import type { Warehouse } from '../warehouse/warehouse.js';

export interface WrittenFile {
  path: string;
  dt: string;
  hour: string;
  rows: number;
  bytes: number;
}

export const PARQUET_OPTIONS = 'FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880';
/** Ingest writes at zstd's fastest level (a sixth faster, files ~10% larger); compaction recompresses. */
const INGEST_PARQUET_OPTIONS = `${PARQUET_OPTIONS}, COMPRESSION_LEVEL 1`;

/** The lake's columns as a SELECT list over a relation of validated events. */
export const LAKE_SELECT = LAKE_COLUMNS.map(([name]) => sqlIdent(name)).join(', ');

/** An event's time as a plain UTC timestamp, which its partition (dt, hour) is taken from. */
const UTC_TS = 'make_timestamp(epoch_us(ts))';

/** Above this many hours in one write, one partitioned COPY beats a COPY per hour. */
const HOURS_PER_COPY_MAX = 24;

/**
 * Writes a relation of events into hour partitions and returns the files written, relative to the
 * lake dir. Nothing counts until the caller records them in lake_files in its transaction. Hours
 * come from plain UTC timestamps (no time zone library per row); rows are not sorted here, which
 * cost a third of the write: `adpipe compact` sorts each partition by time. A group usually spans a
 * few hours: a plain COPY per hour (the scan skips other hours by their min/max) is a third faster
 * than DuckDB's partitioned writer, which buffers every partition at once.
 */
export async function writePartitions(wh: Warehouse, source: string, prefix: string): Promise<WrittenFile[]> {
  const hours = await wh.all<{ hour: string }>(
    `SELECT DISTINCT strftime(date_trunc('hour', ${UTC_TS}), '%Y-%m-%dT%H') AS hour FROM ${source} ORDER BY 1`,
  );
  // Row order within a partition is of no use to readers, and keeping it makes the write serial.
  // Session scope: other connections (the API beside a drain) keep their order.
  await wh.run('SET SESSION preserve_insertion_order = false');
  try {
    if (hours.length > HOURS_PER_COPY_MAX) return await writePartitioned(wh, source, prefix);
    const files: string[] = [];
    for (const { hour } of hours) {
      const [dt, hh] = hour.split('T') as [string, string];
      const dir = path.join(wh.lakeDir, `dt=${dt}`, `hour=${hh}`);
      mkdirSync(dir, { recursive: true });
      const file = path.join(dir, `${prefix}_${randomUUID()}.parquet`);
      const from = `TIMESTAMPTZ ${sqlString(`${dt} ${hh}:00:00+00`)}`;
      await wh.run(
        `COPY (SELECT ${LAKE_SELECT} FROM ${source} WHERE ts >= ${from} AND ts < ${from} + INTERVAL 1 HOUR)
         TO ${sqlString(file)} (${INGEST_PARQUET_OPTIONS})`,
      );
      files.push(file);
    }
    return await describeFiles(wh, files);
  } finally {
    await wh.run('RESET SESSION preserve_insertion_order');
  }
}

async function writePartitioned(wh: Warehouse, source: string, prefix: string): Promise<WrittenFile[]> {
  const rows = await wh.all<{ Files: string[] }>(
    `COPY (
       SELECT ${LAKE_SELECT}, strftime(utc, '%Y-%m-%d') AS dt, strftime(utc, '%H') AS hour
       FROM (SELECT *, ${UTC_TS} AS utc FROM ${source})
     ) TO ${sqlString(wh.lakeDir)} (${INGEST_PARQUET_OPTIONS}, PARTITION_BY (dt, hour), APPEND,
       FILENAME_PATTERN ${sqlString(`${prefix}_{uuid}`)}, RETURN_FILES)`,
  );
  return describeFiles(wh, rows[0]?.Files ?? []);
}

/**
 * Manifest entries for Parquet files under the lake dir: partition from the path, row count from
 * the Parquet footer (no data is read), size from the file system.
 */
export async function describeFiles(wh: Warehouse, files: readonly string[]): Promise<WrittenFile[]> {
  if (files.length === 0) return [];
  const counts = await wh.all<{ file: string; rows: string }>(
    `SELECT file_name AS file, num_rows::VARCHAR AS rows FROM parquet_file_metadata([${files.map(sqlString).join(', ')}])`,
  );
  const byFile = new Map(counts.map((c) => [c.file, Number(c.rows)]));
  return files.map((f) => {
    const rel = path.relative(wh.lakeDir, f);
    const m = /dt=([^/]+)\/hour=([^/]+)\//.exec(rel);
    return {
      path: rel,
      dt: m?.[1] ?? '',
      hour: m?.[2] ?? '',
      rows: byFile.get(f) ?? 0,
      bytes: statSync(f).size,
    };
  });
}

export async function recordFiles(
  wh: Warehouse,
  batchId: number,
  files: readonly WrittenFile[],
): Promise<void> {
  if (files.length === 0) return;
  const values = files
    .map(
      (f) =>
        `(${sqlString(f.path)}, ${batchId}, ${sqlString(f.dt)}, ${sqlString(f.hour)}, ${f.rows}, ${f.bytes})`,
    )
    .join(', ');
  await wh.run(`INSERT INTO lake_files VALUES ${values}`);
}

/**
 * A relation over every committed lake file (empty-safe), with dt and hour from the path; with
 * `afterBatch`, only the files that may hold rows of later batches (a compacted file is recorded
 * under the latest batch it holds), so filter the rows on batch_id too.
 */
export async function lakeRelation(wh: Warehouse, afterBatch?: number): Promise<string> {
  const files = await wh.all<{ path: string }>(
    `SELECT path FROM lake_files ${afterBatch === undefined ? '' : `WHERE batch_id > ${afterBatch}`} ORDER BY path`,
  );
  if (files.length === 0) {
    const cols = LAKE_COLUMNS.map(([n, t]) => `NULL::${t} AS ${sqlIdent(n)}`).join(', ');
    return `(SELECT ${cols}, NULL::VARCHAR AS dt, NULL::VARCHAR AS hour WHERE false)`;
  }
  const list = files.map((f) => sqlString(path.join(wh.lakeDir, f.path))).join(', ');
  return `read_parquet([${list}], hive_partitioning=true, hive_types={'dt': VARCHAR, 'hour': VARCHAR})`;
}

/**
 * Deletes files no committed batch owns: leftovers of a run that died before its commit, or of a
 * compaction that died after its commit. Runs under the run lock, before any new work.
 */
export async function removeOrphans(wh: Warehouse): Promise<number> {
  const known = new Set((await wh.all<{ path: string }>('SELECT path FROM lake_files')).map((r) => r.path));
  let removed = 0;
  let entries: string[] = [];
  try {
    entries = readdirSync(wh.lakeDir, { recursive: true }) as string[];
  } catch {
    return 0;
  }
  for (const rel of entries) {
    if (!rel.endsWith('.parquet') || known.has(rel)) continue;
    rmSync(path.join(wh.lakeDir, rel), { force: true });
    removed++;
  }
  const committed = new Set(
    (await wh.all<{ b: string }>('SELECT batch_id::VARCHAR AS b FROM batches')).map((r) => r.b),
  );
  try {
    for (const f of readdirSync(wh.deadLetterDir)) {
      const m = /^b(\d+)\.ndjson$/.exec(f);
      if (m && !committed.has(m[1]!)) rmSync(path.join(wh.deadLetterDir, f), { force: true });
    }
  } catch {
    /* no dead letters yet */
  }
  return removed;
}
