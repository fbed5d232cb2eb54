// `adpipe compact`: rewrites each hour partition that has several files into one, so the lake
// keeps sensible file sizes however small the ingest groups were. The manifest swap is the commit
// point: a crash before it leaves an orphan new file, a crash after it leaves orphan old files;
// removeOrphans clears either on the next run.

import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { sqlString } from '../warehouse/quote.js';
import type { Warehouse } from '../warehouse/warehouse.js';
import { describeFiles, LAKE_SELECT, PARQUET_OPTIONS, recordFiles } from './lake.js';

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
  for (const p of parts) {
    const target = path.join(
      wh.lakeDir,
      `dt=${p.dt}`,
      `hour=${p.hour}`,
      `c${p.batch}_${randomUUID()}.parquet`,
    );
    const sources = p.files.map((f) => sqlString(path.join(wh.lakeDir, f))).join(', ');
    await wh.run(
      `COPY (SELECT ${LAKE_SELECT} FROM read_parquet([${sources}], hive_partitioning=false) ORDER BY ts)
       TO ${sqlString(target)} (${PARQUET_OPTIONS})`,
    );
    const written = await describeFiles(wh, [target]);
    await wh.transaction(async () => {
      await wh.run(`DELETE FROM lake_files WHERE path IN (${p.files.map(sqlString).join(', ')})`);
      await recordFiles(wh, Number(p.batch), written);
    });
    for (const f of p.files) rmSync(path.join(wh.lakeDir, f), { force: true });
    result.partitions++;
    result.filesBefore += p.files.length;
    result.filesAfter++;
  }
  return result;
}
