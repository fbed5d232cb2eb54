// Metadata: dimension tables (orgs, media, inventory, demand, campaigns) loaded from a folder of CSV
// files, each optional. Loading replaces rows by key, so a newer CSV updates names. Media revenue
// shares are history instead (media_shares): a share is in force from its valid_from day on, and a
// changed share never reaches back to days before it.

import { existsSync } from 'node:fs';
import path from 'node:path';
import { AdpipeError } from '../errors.js';
import { componentLogger } from '../logger.js';
import { nextBatchId } from '../warehouse/batches.js';
import { sqlIdent, sqlString } from '../warehouse/quote.js';
import type { Warehouse } from '../warehouse/warehouse.js';

const log = componentLogger('metadata');

interface DimFile {
  file: string;
  table: string;
  key: string;
  /** Target columns with the SQL that reads each from the CSV row `c` (all VARCHAR). */
  columns: Record<string, string>;
  /** A date column, if the CSV has it: of several rows of one key, the latest (or undated) is kept. */
  latestBy?: string;
}

const text = (col: string) => `nullif(trim(c.${sqlIdent(col)}), '')`;

export const DIM_FILES: readonly DimFile[] = [
  {
    file: 'orgs.csv',
    table: 'dim_org',
    key: 'org_id',
    columns: { org_id: text('org_id'), name: text('name') },
  },
  {
    file: 'media.csv',
    table: 'dim_media',
    key: 'media_id',
    columns: {
      media_id: text('media_id'),
      name: text('name'),
      org_id: text('org_id'),
      media_share: `CAST(${text('media_share')} AS DECIMAL(9,6))`,
    },
    // A media.csv with valid_from lists a media's shares over time: its name is the latest row's.
    latestBy: 'valid_from',
  },
  {
    file: 'inventory.csv',
    table: 'dim_inventory',
    key: 'inventory_id',
    columns: {
      inventory_id: text('inventory_id'),
      name: text('name'),
      media_id: text('media_id'),
      ad_type: text('ad_type'),
      device: `upper(${text('device')})`,
    },
  },
  {
    file: 'demand.csv',
    table: 'dim_demand',
    key: 'demand_id',
    columns: { demand_id: text('demand_id'), name: text('name') },
  },
  {
    file: 'campaigns.csv',
    table: 'dim_campaign',
    key: 'campaign_id',
    columns: { campaign_id: text('campaign_id'), name: text('name'), advertiser: text('advertiser') },
  },
];

export interface MetadataOptions {
  /** The configured zone, whose local dates valid_from and the ingest day are. */
  tz?: string;
  /** The ingest day (local date): when an undated share change takes effect. Default: today in tz. */
  today?: string;
}

/** Loads every CSV present in dir; returns rows loaded per table. */
export async function loadMetadata(
  wh: Warehouse,
  dir: string,
  { tz = 'UTC', today }: MetadataOptions = {},
): Promise<Record<string, number>> {
  if (!existsSync(dir))
    throw new AdpipeError('ADP_ERR_SOURCE_UNREADABLE', [dir, 'metadata folder not found']);
  const loaded: Record<string, number> = {};
  await wh.transaction(async () => {
    for (const d of DIM_FILES) {
      const file = path.join(dir, d.file);
      if (!existsSync(file)) continue;
      const src = `read_csv(${sqlString(file)}, header=true, all_varchar=true)`;
      const header = await wh.all<{ column_name: string }>(
        `SELECT column_name FROM (DESCRIBE SELECT * FROM ${src})`,
      );
      const have = new Set(header.map((h) => h.column_name));
      if (!have.has(d.key))
        throw new AdpipeError('ADP_ERR_SOURCE_UNREADABLE', [file, `missing column ${d.key}`]);
      const select = Object.entries(d.columns)
        .map(([col, expr]) => (have.has(col) ? `${expr} AS ${sqlIdent(col)}` : `NULL AS ${sqlIdent(col)}`))
        .join(', ');
      try {
        const order =
          d.latestBy && have.has(d.latestBy) ? ` ORDER BY ${text(d.latestBy)} DESC NULLS FIRST` : '';
        await wh.run(
          `INSERT OR REPLACE INTO ${sqlIdent(d.table)} (${Object.keys(d.columns).map(sqlIdent).join(', ')})
           SELECT ${select} FROM ${src} c WHERE ${text(d.key)} IS NOT NULL
           QUALIFY row_number() OVER (PARTITION BY ${text(d.key)}${order}) = 1`,
        );
        if (d.table === 'dim_media' && have.has('media_share'))
          await recordShares(wh, src, have.has('valid_from'), today ?? localToday(tz));
      } catch (err) {
        throw new AdpipeError('ADP_ERR_SOURCE_UNREADABLE', [file, (err as Error).message.split('\n')[0]!], {
          cause: err,
        });
      }
      if (d.table === 'dim_media') {
        const bad = await wh.one<{ n: string }>(
          `SELECT count(*)::VARCHAR AS n FROM (SELECT media_share FROM dim_media UNION ALL SELECT media_share FROM media_shares)
           WHERE media_share < 0 OR media_share > 1`,
        );
        if (bad && bad.n !== '0')
          throw new AdpipeError('ADP_ERR_SOURCE_UNREADABLE', [file, 'media_share must be between 0 and 1']);
      }
      const n = await wh.one<{ n: string }>(`SELECT count(*)::VARCHAR AS n FROM ${d.table}`);
      loaded[d.table] = Number(n?.n ?? 0);
    }
  });
  return loaded;
}

function localToday(tz: string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: tz }).format(new Date());
}

/**
 * Adds the CSV's shares to media_shares where they change what is in force. A dated row (valid_from)
 * is in force from that day on; an undated one from the media's first share on (a new media) or, if
 * it differs from the share in force today, from today on: past days keep the share they had. The
 * new rows are versioned by the next batch, so sinks apply the change like any other delta.
 */
async function recordShares(wh: Warehouse, src: string, dated: boolean, today: string): Promise<void> {
  const batch = await nextBatchId(wh);
  await wh.run(
    `CREATE OR REPLACE TEMP TABLE share_input AS
     SELECT ${text('media_id')} AS media_id, ${dated ? `CAST(${text('valid_from')} AS DATE)` : 'NULL::DATE'} AS valid_from,
            CAST(${text('media_share')} AS DECIMAL(9,6)) AS media_share, $today::DATE AS today
     FROM ${src} c WHERE ${text('media_id')} IS NOT NULL AND ${text('media_share')} IS NOT NULL`,
    { today },
  );
  const inForce = `(SELECT media_id, valid_from, arg_max(media_share, since_batch) AS media_share
    FROM media_shares GROUP BY ALL)`;
  const changes = await wh.all<{
    media_id: string;
    valid_from: string;
    before: string | null;
    after: string;
  }>(
    `SELECT i.media_id, i.valid_from::VARCHAR AS valid_from, s.media_share::VARCHAR AS before, i.media_share::VARCHAR AS after
     FROM share_input i LEFT JOIN ${inForce} s USING (media_id, valid_from)
     WHERE i.valid_from IS NOT NULL AND s.media_share IS DISTINCT FROM i.media_share
     UNION ALL
     SELECT i.media_id,
            (CASE WHEN EXISTS (SELECT 1 FROM media_shares m WHERE m.media_id = i.media_id)
              THEN i.today ELSE DATE '1970-01-01' END)::VARCHAR,
            s.media_share::VARCHAR, i.media_share::VARCHAR
     FROM share_input i ASOF LEFT JOIN ${inForce} s ON s.media_id = i.media_id AND i.today >= s.valid_from
     WHERE i.valid_from IS NULL AND s.media_share IS DISTINCT FROM i.media_share`,
  );
  await wh.run('DROP TABLE share_input');
  if (changes.length === 0) return;
  for (const c of changes)
    if (c.before !== null && c.valid_from === today)
      log.warn(
        { media_id: c.media_id, before: c.before, after: c.after, from: today },
        'media_share changed without valid_from: it applies from today on, earlier days keep their share',
      );
  await wh.run(
    `INSERT INTO media_shares SELECT * FROM (VALUES ${changes
      .map(
        (c) =>
          `(${sqlString(c.media_id)}, DATE ${sqlString(c.valid_from)}, ${c.after}::DECIMAL(9,6), $batch::BIGINT)`,
      )
      .join(', ')}) v`,
    { batch: String(batch) },
  );
  // Reports may have been synced already: the change becomes a batch sinks sync. Before the first
  // batch, the next ingest's batch carries it.
  if (batch !== 1)
    await wh.run(
      `INSERT INTO batches VALUES ($batch::BIGINT, 'metadata', now(), now(), 0, 0, 0, 0, NULL, NULL)`,
      { batch: String(batch) },
    );
}
