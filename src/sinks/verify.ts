// `adpipe sink verify` and `adpipe sink status`: compare a sink's tables with the embedded reports
// (same zone, all dates) to the micro-unit, and show how far behind each table is.

import { formatMicros, MICROS } from '../money.js';
import { runReport } from '../reports/query.js';
import { columnsOf } from '../sql/table.js';
import type { Warehouse } from '../warehouse/warehouse.js';
import { latestBatch } from './delta.js';
import type { ConfiguredSink } from './sink.js';
import { withSink } from './sync.js';

export interface Difference {
  table: string;
  /** date, then the dimensions, as in the sink. */
  key: string[];
  column: string;
  embedded: string | null;
  sink: string | null;
}

/** A count or a decimal as an exact integer of millionths, so '1.5' and '1.500000' compare equal. */
export function micros(value: string): bigint {
  const m = /^(-?)(\d*)(?:\.(\d{0,6})(\d*))?$/.exec(value.trim());
  if (!m || /[1-9]/.test(m[4] ?? '')) throw new Error(`not a number with at most 6 decimals: ${value}`);
  const units = BigInt(m[2] || '0') * 1_000_000n + BigInt((m[3] ?? '').padEnd(6, '0'));
  return m[1] ? -units : units;
}

type Rows = Map<string, bigint[]>;

function keyed(rows: string[][], keyCount: number): Rows {
  const out: Rows = new Map();
  for (const r of rows) {
    const values = r.slice(keyCount).map(micros);
    // A key whose measures are all zero is no row in a report.
    if (values.some((v) => v !== 0n)) out.set(JSON.stringify(r.slice(0, keyCount)), values);
  }
  return out;
}

export async function verifySink(wh: Warehouse, sink: ConfiguredSink): Promise<Difference[]> {
  return withSink(sink, async (conn) => {
    const diffs: Difference[] = [];
    for (const t of sink.tables) {
      const cols = columnsOf(t);
      const report = await runReport(wh, { report: t.report.name, grain: 'day', tz: sink.tz });
      const embedded = keyed(
        report.rows.map((r) => cols.map((c) => String(r[c.field]))),
        t.keys.length,
      );
      const remote = keyed(await conn.read(t), t.keys.length);
      for (const key of new Set([...embedded.keys(), ...remote.keys()])) {
        const e = embedded.get(key);
        const s = remote.get(key);
        t.measures.forEach((m, i) => {
          const ev = e?.[i] ?? 0n;
          const sv = s?.[i] ?? 0n;
          if (ev !== sv || !e !== !s)
            diffs.push({
              table: t.name,
              key: JSON.parse(key),
              column: m.name,
              embedded: e ? shown(ev, m.role === 'money') : null,
              sink: s ? shown(sv, m.role === 'money') : null,
            });
        });
      }
    }
    return diffs;
  });
}

/** A compared value as text: money with 6 decimals, a count whole. */
function shown(v: bigint, money: boolean): string {
  return money ? formatMicros(v) : (v / MICROS).toString();
}

export interface TableStatus {
  sink: string;
  table: string;
  watermark: number;
  latest: number;
  /** Batches committed in the warehouse but not yet in the sink. */
  lag: number;
  /** Seconds since the oldest batch the sink lacks was committed; 0 when up to date. */
  ageSeconds: number;
  updatedAt?: string;
}

export async function sinkStatus(wh: Warehouse, sink: ConfiguredSink): Promise<TableStatus[]> {
  const latest = await latestBatch(wh);
  return withSink(sink, async (conn) => {
    const out: TableStatus[] = [];
    for (const t of sink.tables) {
      const w = await conn.watermark(t);
      const oldest = await wh.one<{ age: number | null }>(
        `SELECT epoch(now() - min(committed_at))::DOUBLE AS age FROM batches WHERE batch_id > ${w.batchId}`,
      );
      out.push({
        sink: sink.name,
        table: t.name,
        watermark: w.batchId,
        latest,
        lag: Math.max(0, latest - w.batchId),
        ageSeconds: Math.round(oldest?.age ?? 0),
        updatedAt: w.updatedAt,
      });
    }
    return out;
  });
}
