// A group's rollup rows, computed before its commit into temp tables (one per report) that the
// commit copies into the rollups. A data error there (money that does not fit a rollup row) must not
// stop the pipeline: the events are bisected in the engine into parts that each aggregate, every
// part writing its own rollup rows (reports sum rows, so nothing changes for readers), and an event
// that fails even alone is moved to the temp table `rejected`, to be dead-lettered with the engine's
// reason. The split runs only after a failure; the happy path aggregates the group once.

import { LAKE_COLUMNS, MONEY_FIELDS } from '../events/contract.js';
import { REPORTS, type ReportModel, rollupTable } from '../reports/model.js';
import { rollupSelectSql } from '../reports/rollup.js';
import { sqlIdent as id, sqlString } from '../warehouse/quote.js';
import type { Warehouse } from '../warehouse/warehouse.js';

/** The reject code (code@field) of an event that passed validation but could not be committed. */
export const COMMIT_REJECT = 'commit.data@record';

/**
 * DuckDB reports a value that does not fit its target (a cast, an overflow) as a Conversion or an
 * Out of Range error: the data's fault, isolated by the split. Everything else (I/O, internal,
 * memory, lock, a missing directory) is the infrastructure's: retried, never dead-lettered, since
 * no record is to blame.
 */
export function isDataError(err: unknown): boolean {
  return /^(Conversion|Out of Range) Error\b/.test(err instanceof Error ? err.message : '');
}

/** The temp table holding a report's rollup rows for the group being committed. */
export function stagedRollup(report: ReportModel): string {
  return id(`staged_${rollupTable(report)}`);
}

/** An event of staged as JSON text, for the dead letter of an event the raw text of was not kept. */
const EVENT_JSON = `to_json(struct_pack(${LAKE_COLUMNS.filter(([n]) => n !== 'source' && n !== 'batch_id')
  .map(
    ([n]) => `${id(n)} := ${(MONEY_FIELDS as readonly string[]).includes(n) ? `${id(n)}::VARCHAR` : id(n)}`,
  )
  .join(', ')}))::VARCHAR`;

/**
 * Fills the staged rollup tables from staged's events. Returns the number of events moved from
 * staged to rejected because they could not be aggregated even alone; throws any other error.
 */
export async function stageRollups(wh: Warehouse, batchId: number): Promise<number> {
  for (const report of REPORTS)
    await wh.run(
      `CREATE OR REPLACE TEMP TABLE ${stagedRollup(report)} AS SELECT * FROM ${id(rollupTable(report))} LIMIT 0`,
    );
  try {
    await addPart(wh, batchId, 'staged');
    return 0;
  } catch (err) {
    if (!isDataError(err)) throw err;
  }
  const span = await wh.one<{ lo: string; hi: string }>(
    'SELECT min(rowid)::VARCHAR AS lo, max(rowid)::VARCHAR AS hi FROM staged',
  );
  const pending: Array<[number, number]> = [[Number(span!.lo), Number(span!.hi)]];
  let poisoned = 0;
  while (pending.length > 0) {
    const [lo, hi] = pending.pop()!;
    const part = `(SELECT * FROM staged WHERE rowid BETWEEN ${lo} AND ${hi})`;
    try {
      await addPart(wh, batchId, part);
    } catch (err) {
      if (!isDataError(err)) throw err;
      const rows = await wh.all<{ row: string }>(
        `SELECT rowid::VARCHAR AS row FROM staged WHERE rowid BETWEEN ${lo} AND ${hi} LIMIT 2`,
      );
      if (rows.length === 1) {
        await poison(wh, Number(rows[0]!.row), (err as Error).message.split('\n')[0]!);
        poisoned++;
      } else if (rows.length > 1) {
        const mid = Math.floor((lo + hi) / 2);
        pending.push([mid + 1, hi], [lo, mid]);
      }
    }
  }
  return poisoned;
}

/** Aggregates a part of the group into every report's staged rollup, all or none. */
async function addPart(wh: Warehouse, batchId: number, part: string): Promise<void> {
  await wh.transaction(async () => {
    for (const report of REPORTS)
      await wh.run(`INSERT INTO ${stagedRollup(report)} ${rollupSelectSql(report, part, String(batchId))}`);
  });
}

async function poison(wh: Warehouse, row: number, reason: string): Promise<void> {
  const detail = `passed validation but could not be committed: ${reason}`;
  await wh.run(`INSERT INTO rejected SELECT file_seq, line, ${EVENT_JSON}, ${sqlString(COMMIT_REJECT)}, ${sqlString(detail)}
    FROM staged WHERE rowid = ${row}`);
  await wh.run(`DELETE FROM staged WHERE rowid = ${row}`);
}

/** Copies the staged rollup rows into the rollups (inside the commit's transaction). */
export async function commitRollups(wh: Warehouse): Promise<void> {
  for (const report of REPORTS)
    await wh.run(`INSERT INTO ${id(rollupTable(report))} SELECT * FROM ${stagedRollup(report)}`);
}

export async function dropStagedRollups(wh: Warehouse): Promise<void> {
  for (const report of REPORTS) await wh.run(`DROP TABLE IF EXISTS ${stagedRollup(report)}`);
}
