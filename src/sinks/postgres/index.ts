// PostgreSQL through pg: deltas are streamed with COPY FROM STDIN into a temporary table.

import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { SinkDriver } from '../sql/connection.js';
import { type SqlSession, transactionalSink } from '../sql/transactional.js';
import { copyCsvSql, postgres } from './dialect.js';

export async function postgresSession(url: string): Promise<SqlSession> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  // A terminated backend emits 'error'; the pending query rejects with it, so just keep it.
  client.on('error', () => undefined);
  await client.connect();
  // Staged deltas live in temp tables; the 8 MB default spills them to disk (set before first use).
  await client.query("SET temp_buffers = '256MB'");
  const [pid, version] = (
    await client.query<[number, string]>({
      text: "SELECT pg_backend_pid(), current_setting('server_version_num')",
      rowMode: 'array',
    })
  ).rows[0]!;
  return {
    id: String(pid),
    server: { product: 'postgres', major: Math.floor(Number(version) / 10000) },
    exec: async (sql) => {
      await client.query(sql);
    },
    rows: async (sql) => (await client.query<unknown[]>({ text: sql, rowMode: 'array' })).rows,
    loadCsv: (table, columns, file) =>
      pipeline(createReadStream(file), client.query(copyFrom(copyCsvSql(table, columns)))),
    close: async () => {
      await client.end().catch(() => undefined);
    },
  };
}

export const postgresDriver: SinkDriver = {
  dialect: postgres,
  tagsDeltaRows: false,
  connect: async (url, watermarks) => transactionalSink(postgres, await postgresSession(url), watermarks),
};
