import { createClient } from '@clickhouse/client';
import { clickhouse } from '../../src/sinks/clickhouse/dialect.js';
import { describeWith, testServices } from '../helpers/services.js';
import { sinkConformance } from './conformance.js';

const url = testServices.clickhouseUrl;

async function raw() {
  const client = createClient({ url });
  // 18.16 has no JSONCompactEachRow: read objects and keep their values in order.
  const rows = async (query: string) =>
    (await (await client.query({ query, format: 'JSONEachRow' })).json<Record<string, unknown>>()).map((r) =>
      Object.values(r),
    );
  return {
    async query(sql: string) {
      return (await rows(sql)).map((r) => r.map((v) => (v === null ? null : String(v))) as string[]);
    },
    async kill() {
      throw new Error('ClickHouse has no transaction to kill');
    },
    async dropPrefix(prefix: string) {
      const names = await rows(
        `SELECT name FROM system.tables WHERE database = currentDatabase() AND startsWith(name, ${clickhouse.literal(prefix)})`,
      );
      for (const [name] of names)
        await client.command({ query: `DROP TABLE IF EXISTS ${clickhouse.ident(String(name))}` });
    },
    close: () => client.close(),
  };
}

(await describeWith('clickhouse'))('ClickHouse sink', () => {
  sinkConformance({
    type: 'clickhouse',
    url,
    downUrl: 'http://127.0.0.1:1',
    raw,
    ident: clickhouse.ident,
    transactional: false,
  });
});
