// Every way a transactional sink adds a delta must give the same table: PostgreSQL's MERGE (15+) and
// its ON CONFLICT fallback (older servers), MariaDB's Aria staging and MySQL's InnoDB staging. The
// real servers run one of each; the other is forced through the session's server info.

import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { mysql } from '../../src/sinks/mysql/dialect.js';
import { mysqlSession } from '../../src/sinks/mysql/index.js';
import { postgres } from '../../src/sinks/postgres/dialect.js';
import { postgresSession } from '../../src/sinks/postgres/index.js';
import { sqlSinkSchema } from '../../src/sinks/sql/config.js';
import type { MergeDialect, ServerInfo } from '../../src/sinks/sql/dialect.js';
import { sinkTables } from '../../src/sinks/sql/table.js';
import { type SqlSession, transactionalSink } from '../../src/sinks/sql/transactional.js';
import { describeWith, testServices } from '../helpers/services.js';
import { makeTempDir } from '../helpers/tmp.js';

const dir = makeTempDir('sink-merge');

// ad report columns: date, org_id, media_id, inventory_id, ad_id, demand_id, impressions, clicks,
// conversions, revenue, cost.
const FIRST = [
  '2025-01-01,1,m,i,a,d,10,1,0,1.000001,0.500000',
  '2025-01-01,1,m,i,"a,""quoted""",d,5,0,0,0.000001,0.000000',
  '2025-01-02,1,m,i,a,d,7,2,1,2.250000,1.000000',
];
const SECOND = [
  '2025-01-01,1,m,i,a,d,1,1,1,0.000009,0.000001',
  '2025-01-03,1,m,i,a,d,3,0,0,0.300000,0.000000',
];
const EXPECTED = [
  ['2025-01-01', '1', 'm', 'i', 'a', 'd', '11', '2', '1', '1.000010', '0.500001'],
  ['2025-01-01', '1', 'm', 'i', 'a,"quoted"', 'd', '5', '0', '0', '0.000001', '0.000000'],
  ['2025-01-02', '1', 'm', 'i', 'a', 'd', '7', '2', '1', '2.250000', '1.000000'],
  ['2025-01-03', '1', 'm', 'i', 'a', 'd', '3', '0', '0', '0.300000', '0.000000'],
];

function file(name: string, lines: string[]): string {
  const f = path.join(dir, name);
  writeFileSync(f, `${lines.join('\n')}\n`);
  return f;
}

function addsExactly(d: MergeDialect, open: () => Promise<SqlSession>, server: ServerInfo) {
  it(`${d.name}: ${server.product} ${server.major} adds deltas exactly`, async () => {
    const session = { ...(await open()), server };
    const prefix = `adp_merge_${process.pid}_${Math.random().toString(36).slice(2, 8)}_`;
    const cfg = sqlSinkSchema(d.name).parse({
      type: d.name,
      url: 'x',
      reports: ['ad'],
      table_prefix: prefix,
    });
    const t = sinkTables(cfg)[0]!;
    const sink = transactionalSink(d, session, `${prefix}watermark`);
    try {
      await sink.init([t]);
      await sink.apply(t, { file: file(`${prefix}1.csv`, FIRST), rows: FIRST.length, after: 0, upTo: 1 });
      await sink.apply(t, { file: file(`${prefix}2.csv`, SECOND), rows: SECOND.length, after: 1, upTo: 2 });
      const byKey = (a: string[], b: string[]) => a.join('\0').localeCompare(b.join('\0'));
      expect((await sink.read(t)).sort(byKey)).toEqual([...EXPECTED].sort(byKey));
      expect((await sink.watermark(t)).batchId).toBe(2);
    } finally {
      await session.exec(`DROP VIEW IF EXISTS ${d.ident(`${t.name}_v`)}`);
      await session.exec(`DROP TABLE IF EXISTS ${d.ident(t.name)}`);
      await session.exec(`DROP TABLE IF EXISTS ${d.ident(`${prefix}watermark`)}`);
      await sink.close();
    }
  });
}

(await describeWith('postgres'))('PostgreSQL merge paths', () => {
  const open = () => postgresSession(testServices.pgUrl);
  addsExactly(postgres, open, { product: 'postgres', major: 15 });
  addsExactly(postgres, open, { product: 'postgres', major: 14 });
});

(await describeWith('mariadb'))('MariaDB merge paths', () => {
  const open = () => mysqlSession(testServices.mysqlUrl);
  addsExactly(mysql, open, { product: 'mariadb', major: 10 });
  addsExactly(mysql, open, { product: 'mysql', major: 8 });
});

describe('merge statements', () => {
  const cfg = sqlSinkSchema('postgres').parse({ type: 'postgres', url: 'x', reports: ['ad'] });
  const t = sinkTables(cfg)[0]!;
  it('postgres: MERGE from 15, ON CONFLICT before', () => {
    expect(postgres.mergeFromStaging(t, 's', { product: 'postgres', major: 15 }).join('\n')).toMatch(
      /^MERGE INTO/m,
    );
    expect(postgres.mergeFromStaging(t, 's', { product: 'postgres', major: 14 }).join('\n')).toMatch(
      /ON CONFLICT/,
    );
  });
  it('mysql: Aria staging on MariaDB only', () => {
    expect(mysql.createStaging(t, 's', { product: 'mariadb', major: 10 }).join('\n')).toMatch(/ENGINE=Aria/);
    expect(mysql.createStaging(t, 's', { product: 'mysql', major: 8 }).join('\n')).not.toMatch(/Aria/);
  });
});
