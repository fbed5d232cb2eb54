// Metadata: dimension tables (orgs, media, inventory, demand, campaigns) loaded from a folder of CSV
// files, each optional. Loading replaces rows by key, so a newer CSV updates names and shares.

import { existsSync } from 'node:fs';
import path from 'node:path';
import { AdpipeError } from '../errors.js';
import { sqlString, type Warehouse } from '../warehouse/warehouse.js';

interface DimFile {
  file: string;
  table: string;
  key: string;
  /** Target columns with the SQL that reads each from the CSV row `c` (all VARCHAR). */
  columns: Record<string, string>;
}

const text = (col: string) => `nullif(trim(c."${col}"), '')`;

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

/** Loads every CSV present in dir; returns rows loaded per table. */
export async function loadMetadata(wh: Warehouse, dir: string): Promise<Record<string, number>> {
  if (!existsSync(dir)) throw new AdpipeError('ADP_ERR_INPUT', [dir, 'metadata folder not found']);
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
      if (!have.has(d.key)) throw new AdpipeError('ADP_ERR_INPUT', [file, `missing column ${d.key}`]);
      const select = Object.entries(d.columns)
        .map(([col, expr]) => (have.has(col) ? `${expr} AS ${col}` : `NULL AS ${col}`))
        .join(', ');
      try {
        await wh.run(
          `INSERT OR REPLACE INTO ${d.table} (${Object.keys(d.columns).join(', ')})
           SELECT ${select} FROM ${src} c WHERE ${text(d.key)} IS NOT NULL
           QUALIFY row_number() OVER (PARTITION BY ${text(d.key)}) = 1`,
        );
      } catch (err) {
        throw new AdpipeError('ADP_ERR_INPUT', [file, (err as Error).message.split('\n')[0]!], {
          cause: err,
        });
      }
      if (d.table === 'dim_media') {
        const bad = await wh.one<{ n: string }>(
          'SELECT count(*)::VARCHAR AS n FROM dim_media WHERE media_share < 0 OR media_share > 1',
        );
        if (bad && bad.n !== '0')
          throw new AdpipeError('ADP_ERR_INPUT', [file, 'media_share must be between 0 and 1']);
      }
      const n = await wh.one<{ n: string }>(`SELECT count(*)::VARCHAR AS n FROM ${d.table}`);
      loaded[d.table] = Number(n?.n ?? 0);
    }
  });
  return loaded;
}
