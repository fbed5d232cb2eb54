// The warehouse's tables. Idempotent: every command runs it on open.

import { createHash } from 'node:crypto';
import { AdpipeError } from '../errors.js';
import { lakeRelation } from '../lake/lake.js';
import { componentLogger } from '../logger.js';
import { REPORTS, type ReportModel, rollupTable } from '../reports/model.js';
import { rollupDdl, rollupSelectSql } from '../reports/rollup.js';
import { LOADER_TABLE } from './loader-id.js';
import { sqlIdent as id } from './quote.js';
import type { Warehouse } from './warehouse.js';

const log = componentLogger('warehouse');

const TABLES = [
  `CREATE TABLE IF NOT EXISTS batches (
    batch_id BIGINT PRIMARY KEY,
    kind VARCHAR NOT NULL,
    started_at TIMESTAMPTZ NOT NULL,
    committed_at TIMESTAMPTZ NOT NULL,
    files INTEGER NOT NULL,
    accepted BIGINT NOT NULL,
    duplicates BIGINT NOT NULL,
    rejected BIGINT NOT NULL,
    min_ts TIMESTAMPTZ,
    max_ts TIMESTAMPTZ
  )`,
  // One row per input unit (a file, a spool segment): what makes ingest exactly-once.
  `CREATE TABLE IF NOT EXISTS ledger (
    path VARCHAR PRIMARY KEY,
    size BIGINT NOT NULL,
    hash VARCHAR NOT NULL,
    batch_id BIGINT NOT NULL,
    records BIGINT NOT NULL,
    accepted BIGINT NOT NULL,
    duplicates BIGINT NOT NULL,
    rejected BIGINT NOT NULL,
    ingested_at TIMESTAMPTZ NOT NULL
  )`,
  // Where each stream-like source resumes (a Kafka partition's next offset, a Redis stream id, a feed
  // cursor), written in the transaction of the batch that holds the events before it. File-like
  // sources (files, S3, spool segments) use the ledger instead: key + hash is their position.
  `CREATE TABLE IF NOT EXISTS source_positions (
    source VARCHAR NOT NULL,
    stream VARCHAR NOT NULL,
    position VARCHAR NOT NULL,
    batch_id BIGINT,
    committed_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, stream)
  )`,
  // The lake's manifest: readers use it, so files of uncommitted or compacted-away batches never count.
  `CREATE TABLE IF NOT EXISTS lake_files (
    path VARCHAR PRIMARY KEY,
    batch_id BIGINT NOT NULL,
    dt VARCHAR NOT NULL,
    hour VARCHAR NOT NULL,
    rows BIGINT NOT NULL,
    bytes BIGINT NOT NULL
  )`,
  // Hour partitions `adpipe lake prune` deleted: their rows stay in the rollups (and seen_ids), so
  // verify compares the lake with the rollups outside them only.
  `CREATE TABLE IF NOT EXISTS lake_pruned (
    dt VARCHAR NOT NULL,
    hour VARCHAR NOT NULL,
    rows BIGINT NOT NULL,
    pruned_at TIMESTAMPTZ NOT NULL
  )`,
  // Every event id ever accepted, for dedup across all of history.
  'CREATE TABLE IF NOT EXISTS seen_ids (event_id VARCHAR NOT NULL)',
  'CREATE TABLE IF NOT EXISTS dim_org (org_id VARCHAR PRIMARY KEY, name VARCHAR)',
  `CREATE TABLE IF NOT EXISTS dim_media (
    media_id VARCHAR PRIMARY KEY, name VARCHAR, org_id VARCHAR, media_share DECIMAL(9,6)
  )`,
  `CREATE TABLE IF NOT EXISTS dim_inventory (
    inventory_id VARCHAR PRIMARY KEY, name VARCHAR, media_id VARCHAR, ad_type VARCHAR, device VARCHAR
  )`,
  // Media revenue shares over time: each in force from valid_from (a local date) until the media's
  // next one. since_batch versions the history: the reports of batches up to N use the rows with
  // since_batch <= N, latest first, which is what sinks synced up to N have.
  `CREATE TABLE IF NOT EXISTS media_shares (
    media_id VARCHAR NOT NULL, valid_from DATE NOT NULL, media_share DECIMAL(9,6) NOT NULL, since_batch BIGINT NOT NULL
  )`,
  'CREATE TABLE IF NOT EXISTS dim_demand (demand_id VARCHAR PRIMARY KEY, name VARCHAR)',
  'CREATE TABLE IF NOT EXISTS dim_campaign (campaign_id VARCHAR PRIMARY KEY, name VARCHAR, advertiser VARCHAR)',
  // The definition each rollup was built with, so a changed report model rebuilds it.
  'CREATE TABLE IF NOT EXISTS rollup_fingerprints (report VARCHAR PRIMARY KEY, fingerprint VARCHAR NOT NULL)',
  LOADER_TABLE,
];

export async function migrate(wh: Warehouse): Promise<void> {
  for (const ddl of TABLES) await wh.run(ddl);
  // A data dir from before dated shares: its one share per media was in force all along.
  await wh.run(
    `INSERT INTO media_shares SELECT media_id, DATE '1970-01-01', media_share, 0 FROM dim_media
     WHERE media_share IS NOT NULL AND NOT EXISTS (SELECT 1 FROM media_shares)`,
  );
  for (const report of REPORTS) await ensureRollup(wh, report);
}

/**
 * For read-only opens, which cannot rebuild: fails with ADP_ERR_WAREHOUSE_ROLLUP_MODEL naming the reports
 * whose rollup was built by another definition (or before fingerprints).
 */
export async function checkRollups(wh: Warehouse): Promise<void> {
  const tables = await wh.all<{ name: string }>('SELECT table_name AS name FROM duckdb_tables()');
  const have = new Set(tables.map((t) => t.name));
  if (!have.has('rollup_fingerprints') && !REPORTS.some((r) => have.has(rollupTable(r)))) return;
  const recorded = have.has('rollup_fingerprints')
    ? new Map(
        (await wh.all<{ report: string; fingerprint: string }>('SELECT * FROM rollup_fingerprints')).map(
          (r) => [r.report, r.fingerprint],
        ),
      )
    : new Map<string, string>();
  const stale = REPORTS.filter((r) => recorded.get(r.name) !== rollupFingerprint(r)).map((r) => r.name);
  if (stale.length > 0) throw new AdpipeError('ADP_ERR_WAREHOUSE_ROLLUP_MODEL', [stale.join(', ')]);
}

/** A rollup's definition: its columns and what each measure aggregates. */
export function rollupFingerprint(report: ReportModel): string {
  return createHash('sha256')
    .update(`${rollupDdl(report)}\n${rollupSelectSql(report, 'lake', 'batch_id')}`)
    .digest('hex');
}

/**
 * Rollups are derived data: one built by another definition (an older adpipe, or a data dir from
 * before fingerprints) is rebuilt from the lake. Lake rows keep their batch_id, so the rebuilt rows
 * carry the same batches and sink watermarks stay meaningful.
 */
async function ensureRollup(wh: Warehouse, report: ReportModel): Promise<void> {
  const fingerprint = rollupFingerprint(report);
  const stored = await wh.one<{ fingerprint: string }>(
    'SELECT fingerprint FROM rollup_fingerprints WHERE report = $report',
    { report: report.name },
  );
  if (stored?.fingerprint === fingerprint) return;
  const table = id(rollupTable(report));
  const lake = await lakeRelation(wh);
  await wh.transaction(async () => {
    await wh.run(`DROP TABLE IF EXISTS ${table}`);
    await wh.run(rollupDdl(report));
    await wh.run(`INSERT INTO ${table} ${rollupSelectSql(report, lake, 'batch_id')}`);
    await wh.run('INSERT OR REPLACE INTO rollup_fingerprints VALUES ($report, $fingerprint)', {
      report: report.name,
      fingerprint,
    });
  });
  const files = await wh.one<{ n: string }>('SELECT count(*)::VARCHAR AS n FROM lake_files');
  if (files?.n !== '0')
    log.warn({ report: report.name }, 'report definition changed: rollup rebuilt from the lake');
}
