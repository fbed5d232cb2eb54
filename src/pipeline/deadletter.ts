// Reading the dead-letter store: the NDJSON files ingest writes per committed batch
// (<data-dir>/deadletter/b<batch>.ndjson), read by DuckDB. Shared by the API and `adpipe deadletter`.

import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { globLiteral, sqlString } from '../warehouse/quote.js';
import type { Warehouse } from '../warehouse/warehouse.js';

const COLUMNS = `{batch_id: 'BIGINT', source: 'VARCHAR', line: 'BIGINT', text: 'VARCHAR',
  code: 'VARCHAR', field: 'VARCHAR', message: 'VARCHAR'}`;

export interface DeadLetterFilter {
  /** Only this rejection code, e.g. money.negative. */
  code?: string;
  /** Only these batches. */
  batches?: readonly number[];
}

export interface RejectionCount {
  code: string;
  count: number;
  example: string;
}

export interface DeadLetter {
  batch_id: number;
  source: string;
  line: number | null;
  text: string | null;
  code: string;
  field: string;
  message: string;
}

export function deadLetterFile(wh: Warehouse, batchId: number): string {
  return path.join(wh.deadLetterDir, `b${batchId}.ndjson`);
}

/** A relation over the dead-letter files of the filter's batches (all by default), or undefined when there are none. */
function relation(wh: Warehouse, batches?: readonly number[]): string | undefined {
  const dir = wh.deadLetterDir;
  const files = batches
    ? batches.map((b) => deadLetterFile(wh, b)).filter((f) => existsSync(f))
    : existsSync(dir) && readdirSync(dir).some((f) => f.endsWith('.ndjson'))
      ? [path.join(globLiteral(dir), '*.ndjson')]
      : [];
  if (files.length === 0) return undefined;
  return `read_json([${files.map(sqlString).join(', ')}], format = 'newline_delimited', columns = ${COLUMNS})`;
}

const WHERE = 'WHERE ($code IS NULL OR code = $code)';

/** Rejections by code, most frequent first, each with one example message. */
export async function rejectionCounts(
  wh: Warehouse,
  filter: DeadLetterFilter = {},
): Promise<RejectionCount[]> {
  const dl = relation(wh, filter.batches);
  if (!dl) return [];
  const rows = await wh.all<{ code: string; count: string; example: string }>(
    `SELECT code, count(*)::BIGINT AS count, any_value(message) AS example FROM ${dl} ${WHERE}
     GROUP BY code ORDER BY count DESC, code`,
    { code: filter.code ?? null },
  );
  return rows.map((r) => ({ ...r, count: Number(r.count) }));
}

/** Rejected records, newest batch first, in source and line order. */
export async function deadLetters(
  wh: Warehouse,
  filter: DeadLetterFilter & { limit: number },
): Promise<DeadLetter[]> {
  const dl = relation(wh, filter.batches);
  if (!dl) return [];
  const rows = await wh.all<Record<string, string | null>>(
    `SELECT * FROM ${dl} ${WHERE} ORDER BY batch_id DESC, source, line LIMIT $limit`,
    { code: filter.code ?? null, limit: filter.limit },
  );
  return rows.map((r) => ({
    ...(r as unknown as DeadLetter),
    batch_id: Number(r.batch_id),
    line: r.line === null ? null : Number(r.line),
  }));
}
