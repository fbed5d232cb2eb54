// How far behind the warehouse each part of a sink is, for `adpipe sink status`.

import { latestBatch } from '../warehouse/batches.js';
import type { Warehouse } from '../warehouse/warehouse.js';
import type { Sink } from './sink.js';

export interface PartLag {
  sink: string;
  table: string;
  /** The loader whose share the watermark is, for a sink several loaders share. */
  loader?: string;
  watermark: number;
  latest: number;
  /** Batches committed in the warehouse but not yet in the sink. */
  lag: number;
  /** Seconds since the oldest batch the sink lacks was committed; 0 when up to date. */
  ageSeconds: number;
  updatedAt?: string;
}

export async function sinkLag(wh: Warehouse, sink: Sink): Promise<PartLag[]> {
  const latest = await latestBatch(wh);
  const { parts, loader } = await sink.status();
  const out: PartLag[] = [];
  for (const p of parts) {
    const oldest = await wh.one<{ age: number | null }>(
      `SELECT epoch(now() - min(committed_at))::DOUBLE AS age FROM batches WHERE batch_id > ${p.watermark}`,
    );
    out.push({
      sink: sink.name,
      table: p.name,
      loader,
      watermark: p.watermark,
      latest,
      lag: Math.max(0, latest - p.watermark),
      ageSeconds: Math.round(oldest?.age ?? 0),
      updatedAt: p.updatedAt,
    });
  }
  return out;
}
