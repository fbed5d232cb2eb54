// `adpipe sink verify` for SQL sinks: compare a sink's tables with the embedded reports (same zone,
// all dates) to the micro-unit.

import { runReport } from '../../reports/query.js';
import type { Warehouse } from '../../warehouse/warehouse.js';
import type { Difference } from '../sink.js';
import { columnsOf, type SinkTable } from './table.js';

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
            embedded: e ? formatMicros(ev, m.role === 'money') : null,
            sink: s ? formatMicros(sv, m.role === 'money') : null,
          });
      });
    }
  }
  return diffs;
}

function formatMicros(v: bigint, money: boolean): string {
  if (!money) return (v / 1_000_000n).toString();
  const abs = v < 0n ? -v : v;
  return `${v < 0n ? '-' : ''}${abs / 1_000_000n}.${(abs % 1_000_000n).toString().padStart(6, '0')}`;
}
