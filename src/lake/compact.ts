// `adpipe compact`: rewrites each hour partition that has several files into one, so the lake
// keeps sensible file sizes however small the ingest groups were. The manifest swap is the commit
// point: a crash before it leaves an orphan new file, a crash after it leaves orphan old files;
// removeOrphans clears either on the next run.

import { randomUUID } from 'node:crypto';
import { rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { LAKE_COLUMNS } from '../events/contract.js';
import { sqlString, type Warehouse } from '../warehouse/warehouse.js';
import { PARQUET_OPTIONS, recordFiles, type WrittenFile } from './lake.js';

export interface CompactResult {
  partitions: number;
  filesBefore: number;
  filesAfter: number;
}

export async function compactLake(wh: Warehouse, minFiles = 2): Promise<CompactResult> {
  const parts = await wh.all<{ dt: string; hour: string; files: string[]; batch: string }>(
    `SELECT dt, hour, list(path ORDER BY path) AS files, max(batch_id)::VARCHAR AS batch
     FROM lake_files GROUP BY dt, hour HAVING count(*) >= ${minFiles} ORDER BY dt, hour`,
  );
  const result: CompactResult = { partitions: 0, filesBefore: 0, filesAfter: 0 };
  const cols = LAKE_COLUMNS.map(([n]) => `"${n}"`).join(', ');
  for (const p of parts) {
    const rel = path.join(`dt=${p.dt}`, `hour=${p.hour}`, `c${p.batch}_${randomUUID()}.parquet`);
    const target = path.join(wh.lakeDir, rel);
    const sources = p.files.map((f) => sqlString(path.join(wh.lakeDir, f))).join(', ');
    await wh.run(
      `COPY (SELECT ${cols} FROM read_parquet([${sources}], hive_partitioning=false) ORDER BY ts)
       TO ${sqlString(target)} (${PARQUET_OPTIONS})`,
    );
    const rows = await wh.one<{ n: string }>(
      `SELECT count(*)::VARCHAR AS n FROM read_parquet(${sqlString(target)})`,
    );
    const written: WrittenFile = {
      path: rel,
      dt: p.dt,
      hour: p.hour,
      rows: Number(rows!.n),
      bytes: statSync(target).size,
    };
    await wh.transaction(async () => {
      await wh.run(`DELETE FROM lake_files WHERE path IN (${p.files.map(sqlString).join(', ')})`);
      await recordFiles(wh, Number(p.batch), [written]);
    });
    for (const f of p.files) rmSync(path.join(wh.lakeDir, f), { force: true });
    result.partitions++;
    result.filesBefore += p.files.length;
    result.filesAfter++;
  }
  return result;
}
