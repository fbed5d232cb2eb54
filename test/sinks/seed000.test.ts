// Seed 000 kept its reports in MySQL tables like sspapp_dmp_d_ad_request with its own column names
// (tm, orgid, mid, aid, apptype, xreq, xres, xpsb). A sink mapped onto such an existing table adds
// adpipe's deltas to it, ALL rows included, exactly.

import path from 'node:path';
import mysql2 from 'mysql2/promise';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { loadUnits } from '../../src/loader/loader.js';
import { loadMetadata } from '../../src/pipeline/metadata.js';
import { generate } from '../../src/simulator/index.js';
import { openSinks } from '../../src/sinks/configured.js';
import { mysql } from '../../src/sinks/mysql/dialect.js';
import { discoverInputs } from '../../src/sources/files/discover.js';
import { latestBatch } from '../../src/warehouse/batches.js';
import { Warehouse } from '../../src/warehouse/warehouse.js';
import { describeWith, testServices } from '../helpers/services.js';
import { makeTempDir } from '../helpers/tmp.js';
import { uniquePrefix } from './conformance.js';

(await describeWith('mariadb'))('seed 000 table mapping (MariaDB)', () => {
  const prefix = uniquePrefix('seed');
  const table = `${prefix}sspapp_dmp_d_ad_request`;
  let conn: mysql2.Connection;
  let wh: Warehouse;

  beforeAll(async () => {
    conn = await mysql2.createConnection({ uri: testServices.mysqlUrl, dateStrings: true });
    // The seed's table as it already exists, with a column adpipe does not manage.
    await conn.query(`CREATE TABLE ${mysql.ident(table)} (
      tm DATE NOT NULL, orgid VARCHAR(32) NOT NULL, mid VARCHAR(32) NOT NULL, aid VARCHAR(32) NOT NULL,
      device VARCHAR(8) NOT NULL, apptype VARCHAR(8) NOT NULL,
      xreq BIGINT NOT NULL DEFAULT 0, xres BIGINT NOT NULL DEFAULT 0, xpsb BIGINT NOT NULL DEFAULT 0,
      modified TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
      PRIMARY KEY (tm, orgid, mid, aid, device, apptype))`);
    const dir = makeTempDir('sink-seed000');
    const manifest = await generate({
      out: path.join(dir, 'gen'),
      events: 1500,
      seed: 21,
      hours: 30,
      files: 3,
    });
    wh = await Warehouse.open(path.join(dir, 'data'));
    await loadMetadata(wh, path.join(dir, 'gen', 'metadata'));
    const files = manifest.files.map((f) => path.join(dir, 'gen', 'events', f.name));
    await loadUnits(wh, await discoverInputs(files), { batchFiles: 1 });
  });

  afterAll(async () => {
    await conn?.query(`DROP VIEW IF EXISTS ${mysql.ident(`${table}_v`)}`);
    await conn?.query(`DROP TABLE IF EXISTS ${mysql.ident(table)}`);
    await conn?.query(`DROP TABLE IF EXISTS ${mysql.ident(`${prefix}adpipe_sink_watermark`)}`);
    await conn?.end();
    wh?.close();
  });

  it('upserts into the seed schema and matches the embedded report, ALL rows included', async () => {
    const config = parseConfig({
      sinks: [
        {
          type: 'mysql',
          url: testServices.mysqlUrl,
          tz: 'Asia/Seoul',
          reports: ['ad_request'],
          table_prefix: prefix,
          tables: { ad_request: table },
          columns: {
            ad_request: {
              date: 'tm',
              org_id: 'orgid',
              media_id: 'mid',
              inventory_id: 'aid',
              app_type: 'apptype',
              requests: 'xreq',
              responses: 'xres',
              passbacks: 'xpsb',
            },
          },
        },
      ],
    });
    const [sink] = await openSinks(config, wh);
    const synced = await sink!.sync(await latestBatch(wh));
    expect(synced).toMatchObject([{ table, after: 0, upTo: 3 }]);
    expect(await sink!.verify!()).toEqual([]);
    const [rows] = await conn.query(
      `SELECT apptype, CAST(sum(xreq) AS CHAR) AS xreq, CAST(sum(xres) AS CHAR) AS xres FROM ${mysql.ident(table)}
       WHERE device = 'ALL' GROUP BY apptype ORDER BY apptype`,
    );
    const byApp = rows as Array<{ apptype: string; xreq: string; xres: string }>;
    expect(byApp.map((r) => r.apptype)).toContain('ALL');
    const all = byApp.find((r) => r.apptype === 'ALL')!;
    const parts = byApp.filter((r) => r.apptype !== 'ALL');
    expect(Number(all.xreq)).toBeGreaterThan(0);
    expect(parts.reduce((s, r) => s + Number(r.xreq), 0)).toBe(Number(all.xreq));
    // The derived-metrics view follows the mapping: fill_rate = xres / xreq.
    const [view] = await conn.query(
      `SELECT CAST(xreq AS CHAR) AS xreq, CAST(xres AS CHAR) AS xres, CAST(fill_rate AS CHAR) AS fill_rate FROM ${mysql.ident(`${table}_v`)} LIMIT 20`,
    );
    for (const r of view as Array<{ xreq: string; xres: string; fill_rate: string | null }>) {
      if (Number(r.xreq) === 0) expect(r.fill_rate).toBeNull();
      else expect(Number(r.fill_rate)).toBeCloseTo(Number(r.xres) / Number(r.xreq), 6);
    }
  });
});
