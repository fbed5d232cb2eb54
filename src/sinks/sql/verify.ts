// `adpipe sink verify` for SQL sinks: compare a sink's tables with the embedded reports (same zone,
// all dates) to the micro-unit.

import { formatMicros, MICROS, parseMicros } from '../../money.js';
import { runReport } from '../../reports/query.js';
import type { Warehouse } from '../../warehouse/warehouse.js';
import type { Difference } from '../sink.js';
import { columnsOf, type SinkTable } from './table.js';

type Rows = Map<string, bigint[]>;

function keyed(rows: string[][], keyCount: number): Rows {
  const out: Rows = new Map();
  for (const r of rows) {
    // Databases may pad a decimal's text; '1.5' and '1.500000' are the same millionths.
    const values = r.slice(keyCount).map((v) => parseMicros(v.trim()));
    // A key whose measures are all zero is no row in a report.
    if (values.some((v) => v !== 0n)) out.set(JSON.stringify(r.slice(0, keyCount)), values);
  }
  return out;
}

/** A table's report rows (day grain, every dimension, in the sink's zone) as the embedded engine has them. */
export type ReportRows = (t: SinkTable) => Promise<Record<string, unknown>[]>;

export const embeddedRows =
  (wh: Warehouse, tz: string): ReportRows =>
  async (t) =>
    (await runReport(wh, { report: t.report.name, grain: 'day', tz })).rows;

/** Every difference between the tables as `read` returns them and the report rows. */
export async function differences(
  tables: readonly SinkTable[],
  reportRows: ReportRows,
  read: (t: SinkTable) => Promise<string[][]>,
): Promise<Difference[]> {
  const diffs: Difference[] = [];
  for (const t of tables) {
    const cols = columnsOf(t);
    const embedded = keyed(
      (await reportRows(t)).map((r) => cols.map((c) => String(r[c.field]))),
      t.keys.length,
    );
    const remote = keyed(await read(t), t.keys.length);
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
}

/** A compared value as text: money with 6 decimals, a count whole. */
function shown(v: bigint, money: boolean): string {
  return money ? formatMicros(v) : (v / MICROS).toString();
}
