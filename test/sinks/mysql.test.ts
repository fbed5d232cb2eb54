import mysql2 from 'mysql2/promise';
import { mysql } from '../../src/sinks/mysql/dialect.js';
import { describeWith, testServices } from '../helpers/services.js';
import { sinkConformance } from './conformance.js';

const url = testServices.mysqlUrl;

async function raw() {
  const conn = await mysql2.createConnection({ uri: url, dateStrings: true });
  return {
    async query(sql: string) {
      const [rows] = await conn.query({ sql, rowsAsArray: true });
      return (rows as unknown[][]).map((r) => r.map((v) => (v === null ? null : String(v))) as string[]);
    },
    async kill(id: string) {
      await conn.query(`KILL CONNECTION ${Number(id)}`);
    },
    async dropPrefix(prefix: string) {
      const [rows] = await conn.query(
        'SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name LIKE ?',
        [`${prefix.replace(/_/g, '\\_')}%`],
      );
      for (const r of rows as Array<{
        table_name?: string;
        TABLE_NAME?: string;
        table_type?: string;
        TABLE_TYPE?: string;
      }>) {
        const name = r.table_name ?? r.TABLE_NAME!;
        const view = (r.table_type ?? r.TABLE_TYPE) === 'VIEW';
        await conn.query(`DROP ${view ? 'VIEW' : 'TABLE'} IF EXISTS ${mysql.ident(name)}`);
      }
    },
    close: () => conn.end(),
  };
}

(await describeWith('mariadb'))('MariaDB sink', () => {
  sinkConformance({
    type: 'mysql',
    url,
    downUrl: 'mysql://root@127.0.0.1:1/test',
    raw,
    ident: mysql.ident,
    transactional: true,
  });
});
