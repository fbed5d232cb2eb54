// `adpipe lake prune --older-than 90d`: deletes the lake's hour partitions whose whole hour is older
// than the cutoff, locally and in the S3 copy of every lake sink, never one a lake sink has not yet
// pushed (its newest batch above the sink's watermark: skipped, said why). The manifest change is one
// warehouse transaction, which also records the partitions in lake_pruned (verify leaves them out)
// and drops the activity tables, built on the premise that lake rows are never removed, so they are
// rebuilt from what is left. Rollups keep their rows: reports stay exact over pruned dates.
// Order: the S3 copies, then the manifest, then the local files; a crash in between leaves local
// orphans that removeOrphans clears, or partitions a second prune finishes.

import { rmSync } from 'node:fs';
import path from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { forgetActivity } from '../analyses/activity.js';
import { componentLogger } from '../logger.js';
import { sqlString } from '../warehouse/quote.js';
import type { Warehouse } from '../warehouse/warehouse.js';
import { deleteObject, parseS3Url } from './object-store.js';
import { listKeys, readWatermark } from './push.js';

const log = componentLogger('lake-prune');

/** A lake sink's S3 copy. */
export interface PushedCopy {
  readonly sink: string;
  readonly url: string;
}

export interface PrunedPartition {
  readonly dt: string;
  readonly hour: string;
  readonly files: number;
  readonly rows: number;
  /** Objects deleted from the S3 copies. */
  readonly objects: number;
}

export interface SkippedPartition {
  readonly dt: string;
  readonly hour: string;
  readonly reason: string;
}

export interface PruneResult {
  /** Partitions whose hour ended at or before this instant were candidates. */
  readonly cutoff: string;
  readonly pruned: PrunedPartition[];
  readonly skipped: SkippedPartition[];
}

export interface PruneOptions {
  readonly copies?: readonly PushedCopy[];
  /** The S3 client for the copies (required when there are copies). */
  readonly client?: S3Client;
  readonly dryRun?: boolean;
  /** For tests; default the clock. */
  readonly now?: Date;
}

export async function pruneLake(
  wh: Warehouse,
  olderThanMs: number,
  options: PruneOptions = {},
): Promise<PruneResult> {
  const copies = options.copies ?? [];
  const cutoff = new Date((options.now ?? new Date()).getTime() - olderThanMs);
  const watermarks = await Promise.all(
    copies.map(async (c) => ({
      ...c,
      watermark: await readWatermark(options.client!, parseS3Url(c.url), {}),
    })),
  );
  const parts = await wh.all<{ dt: string; hour: string; files: string[]; rows: string; newest: string }>(
    `SELECT dt, hour, list(path ORDER BY path) AS files, sum(rows)::VARCHAR AS rows, max(batch_id)::VARCHAR AS newest
     FROM lake_files
     WHERE strptime(dt || ' ' || hour, '%Y-%m-%d %H') + INTERVAL 1 HOUR <= $cutoff::TIMESTAMP
     GROUP BY dt, hour ORDER BY dt, hour`,
    { cutoff: cutoff.toISOString().slice(0, 19).replace('T', ' ') },
  );
  const result: PruneResult = { cutoff: cutoff.toISOString(), pruned: [], skipped: [] };
  const chosen: typeof parts = [];
  for (const p of parts) {
    const behind = watermarks.find((c) => c.watermark < Number(p.newest));
    if (behind) {
      const reason = `not yet pushed to lake sink ${behind.sink} (batch ${p.newest}, its watermark ${behind.watermark})`;
      log.warn({ dt: p.dt, hour: p.hour, reason }, 'partition kept');
      result.skipped.push({ dt: p.dt, hour: p.hour, reason });
    } else chosen.push(p);
  }
  if (options.dryRun) {
    for (const p of chosen) result.pruned.push(partitionOf(p, 0));
    return result;
  }
  for (const p of chosen) {
    let objects = 0;
    for (const c of copies) {
      const at = parseS3Url(c.url);
      for (const key of (
        await listKeys(options.client!, at.bucket, `${at.prefix}dt=${p.dt}/hour=${p.hour}/`)
      ).keys()) {
        await deleteObject(options.client!, at.bucket, key);
        objects++;
      }
    }
    result.pruned.push(partitionOf(p, objects));
  }
  if (chosen.length === 0) return result;
  const paths = chosen.flatMap((p) => p.files);
  await wh.transaction(async () => {
    await wh.run(`DELETE FROM lake_files WHERE path IN (${paths.map(sqlString).join(', ')})`);
    await wh.run(
      `INSERT INTO lake_pruned VALUES ${chosen
        .map((p) => `(${sqlString(p.dt)}, ${sqlString(p.hour)}, ${Number(p.rows)}, now())`)
        .join(', ')}`,
    );
    await forgetActivity(wh);
  });
  for (const f of paths) rmSync(path.join(wh.lakeDir, f), { force: true });
  for (const p of result.pruned) log.info({ ...p }, 'partition pruned');
  return result;
}

function partitionOf(
  p: { dt: string; hour: string; files: string[]; rows: string },
  objects: number,
): PrunedPartition {
  return { dt: p.dt, hour: p.hour, files: p.files.length, rows: Number(p.rows), objects };
}
