import pg from 'pg';
import { postgres } from '../../src/sinks/postgres/dialect.js';
import { describeWith, testServices } from '../helpers/services.js';
import { sinkConformance } from './conformance.js';

const url = testServices.pgUrl;

async function raw() {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return {
    async query(sql: string) {
      const res = await client.query<unknown[]>({ text: sql, rowMode: 'array' });
      return res.rows.map((r) => r.map((v) => (v === null ? null : String(v))) as string[]);
    },
    async kill(pid: string) {
      await client.query('SELECT pg_terminate_backend($1)', [Number(pid)]);
    },
    async dropPrefix(prefix: string) {
      const like = `${prefix.replace(/_/g, '\\_')}%`;
      const views = await client.query<{ n: string }>(
        `SELECT table_name AS n FROM information_schema.views WHERE table_schema = current_schema() AND table_name LIKE $1`,
        [like],
      );
      for (const v of views.rows) await client.query(`DROP VIEW IF EXISTS ${postgres.ident(v.n)}`);
      const tables = await client.query<{ n: string }>(
        `SELECT tablename AS n FROM pg_tables WHERE schemaname = current_schema() AND tablename LIKE $1`,
        [like],
      );
      for (const t of tables.rows) await client.query(`DROP TABLE IF EXISTS ${postgres.ident(t.n)}`);
    },
    close: () => client.end(),
  };
}

(await describeWith('postgres'))('PostgreSQL sink', () => {
  sinkConformance({
    type: 'postgres',
    url,
    downUrl: 'postgres://postgres@127.0.0.1:1/test',
    raw,
    ident: postgres.ident,
    transactional: true,
  });
});
