// The warehouse's tables. Idempotent: every command runs it on open.

import { REPORTS } from '../reports/model.js';
import { rollupDdl } from '../reports/rollup.js';
import type { Warehouse } from './warehouse.js';

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
  // The lake's manifest: readers use it, so files of uncommitted or compacted-away batches never count.
  `CREATE TABLE IF NOT EXISTS lake_files (
    path VARCHAR PRIMARY KEY,
    batch_id BIGINT NOT NULL,
    dt VARCHAR NOT NULL,
    hour VARCHAR NOT NULL,
    rows BIGINT NOT NULL,
    bytes BIGINT NOT NULL
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
  'CREATE TABLE IF NOT EXISTS dim_demand (demand_id VARCHAR PRIMARY KEY, name VARCHAR)',
  'CREATE TABLE IF NOT EXISTS dim_campaign (campaign_id VARCHAR PRIMARY KEY, name VARCHAR, advertiser VARCHAR)',
];

export async function migrate(wh: Warehouse): Promise<void> {
  for (const ddl of TABLES) await wh.run(ddl);
  for (const report of REPORTS) await wh.run(rollupDdl(report));
}
