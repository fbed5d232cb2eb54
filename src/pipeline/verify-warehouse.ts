// `adpipe verify`: recomputes every rollup from the lake and compares it with the stored rollups,
// plus the bookkeeping invariants (lake rows = dedup ids = accepted events). After any sequence
// of ingests, crashes and retries there must be no difference. Hours `lake prune` deleted are left
// out of the comparison (their rollup rows stay; lake_pruned says which).

import { lakeRelation } from '../lake/lake.js';
import { REPORTS, rollupDimensions, rollupTable, storedMeasures } from '../reports/model.js';
import { rollupSelectSql, SUMMED_MONEY_TYPE } from '../reports/rollup.js';
import { sqlIdent as id } from '../warehouse/quote.js';
import type { Warehouse } from '../warehouse/warehouse.js';

export interface VerifyResult {
  ok: boolean;
  checks: Array<{ name: string; ok: boolean; detail: string }>;
}

export async function verifyWarehouse(wh: Warehouse, sampleLimit = 10): Promise<VerifyResult> {
  const lake = await lakeRelation(wh);
  const checks: VerifyResult['checks'] = [];

  const counts = await wh.one<{
    lake: string;
    ids: string;
    distinct_ids: string;
    accepted: string;
    manifest: string;
    pruned: string;
  }>(
    `SELECT (SELECT count(*) FROM ${lake})::VARCHAR AS lake,
            (SELECT count(*) FROM seen_ids)::VARCHAR AS ids,
            (SELECT count(DISTINCT event_id) FROM seen_ids)::VARCHAR AS distinct_ids,
            (SELECT coalesce(sum(accepted), 0) FROM batches)::VARCHAR AS accepted,
            (SELECT coalesce(sum(rows), 0) FROM lake_files)::VARCHAR AS manifest,
            (SELECT coalesce(sum(rows), 0) FROM lake_pruned)::VARCHAR AS pruned`,
  );
  const c = counts!;
  // Pruned partitions' rows left the lake but stay counted in the ids, the batches and the rollups.
  const kept = String(BigInt(c.accepted) - BigInt(c.pruned));
  const same =
    new Set([c.ids, c.distinct_ids, c.accepted]).size === 1 && new Set([c.lake, c.manifest, kept]).size === 1;
  checks.push({
    name: 'bookkeeping',
    ok: same,
    detail: `lake rows ${c.lake}, manifest rows ${c.manifest}, dedup ids ${c.ids} (distinct ${c.distinct_ids}), accepted ${c.accepted}, pruned ${c.pruned}`,
  });
  // Buckets of pruned hours are compared no more: the rollups keep what the lake no longer has.
  const unpruned = `NOT EXISTS (SELECT 1 FROM lake_pruned p
    WHERE p.dt = strftime(timezone('UTC', bucket), '%Y-%m-%d') AND p.hour = strftime(timezone('UTC', bucket), '%H'))`;

  for (const report of REPORTS) {
    const cols = ['bucket', ...rollupDimensions(report).map((d) => id(d.name))];
    const measures = storedMeasures(report).map((m) => id(m.name));
    const stored = `SELECT ${cols.join(', ')}, ${measures.map((m) => `sum(${m}) AS ${m}`).join(', ')}
      FROM ${id(rollupTable(report))} WHERE ${unpruned} GROUP BY ALL`;
    // All batches at once: a bucket's sum may exceed what one rollup row holds (ingest splits those).
    const fresh = `SELECT ${[...cols, ...measures].join(', ')} FROM (${rollupSelectSql(report, lake, '0', SUMMED_MONEY_TYPE)})`;
    const nonZero = measures.map((m) => `${m} <> 0`).join(' OR ');
    const diff = await wh.all(
      `SELECT 'rollup' AS side, * FROM ((${stored}) EXCEPT ALL (${fresh})) WHERE ${nonZero}
       UNION ALL
       SELECT 'lake' AS side, * FROM ((${fresh}) EXCEPT ALL (${stored})) WHERE ${nonZero}
       ORDER BY bucket LIMIT ${sampleLimit}`,
    );
    checks.push({
      name: `report ${report.name}`,
      ok: diff.length === 0,
      detail:
        diff.length === 0
          ? 'rollups equal a recomputation from the lake'
          : diff.map((d) => JSON.stringify(d)).join('\n'),
    });
  }
  return { ok: checks.every((ch) => ch.ok), checks };
}
