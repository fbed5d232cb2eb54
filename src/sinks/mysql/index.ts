// MySQL / MariaDB through mysql2: deltas are streamed with LOAD DATA LOCAL INFILE into a temporary
// table (bench/sinks.ts compares it with the seed's row-by-row upserts).

import { createReadStream } from 'node:fs';
import mysql2 from 'mysql2/promise';
import type { SinkDriver } from '../sql/connection.js';
import { type SqlSession, transactionalSink } from '../sql/transactional.js';
import { loadCsvSql, mysql } from './dialect.js';

export async function mysqlSession(url: string): Promise<SqlSession> {
  const conn = await mysql2.createConnection({
    uri: url,
    connectTimeout: 5000,
    supportBigNumbers: true,
    bigNumberStrings: true,
    dateStrings: true,
    // Only the delta file of the statement being run is ever sent.
    infileStreamFactory: (file) => createReadStream(file),
  });
  // A killed connection emits 'error'; the pending statement rejects with it, so just keep it.
  conn.on('error', () => undefined);
  const [[row]] = (await conn.query({
    sql: 'SELECT CONNECTION_ID(), VERSION()',
    rowsAsArray: true,
  })) as unknown as [unknown[][]];
  const version = String(row![1]);
  return {
    id: String(row![0]),
    server: {
      product: /mariadb/i.test(version) ? 'mariadb' : 'mysql',
      major: Number.parseInt(version, 10),
    },
    exec: async (sql) => {
      await conn.query(sql);
    },
    rows: async (sql) => (await conn.query({ sql, rowsAsArray: true }))[0] as unknown[][],
    loadCsv: async (table, columns, file) => {
      await conn.query(loadCsvSql(file, table, columns));
    },
    close: async () => {
      await conn.end().catch(() => conn.destroy());
    },
  };
}

export const mysqlDriver: SinkDriver = {
  dialect: mysql,
  tagsDeltaRows: false,
  connect: async (url, watermarks) => transactionalSink(mysql, await mysqlSession(url), watermarks),
};
