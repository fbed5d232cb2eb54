// POST /v1/query: one read-only SELECT over the lake and the reports, off unless server.query_sql.

import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { AdpipeError } from '../../errors.js';
import { duckdbMemoryLimit, QuerySandbox } from '../../query/query-sandbox.js';
import { READABLE_TABLES, readableTablesOf } from '../../query/read-only-sql.js';
import type { ServerContext } from '../context.js';
import { QuerySnapshots } from './query-snapshots.js';
import type { ReaderPool } from './readers.js';

export async function sqlRoutes(app: FastifyInstance, ctx: ServerContext, readers: ReaderPool) {
  const {
    query_sql: enabled,
    query_timeout_ms: timeoutMs,
    query_max_rows: maxRows,
    query_memory_mb: memoryMb,
    query_threads: threads,
  } = ctx.config.server;
  const snapshots = new QuerySnapshots(ctx.dataDir, readers);
  const sandbox = new QuerySandbox(
    {
      mode: 'api',
      memoryLimit: duckdbMemoryLimit(memoryMb),
      threads,
      // Trailing separators: a sibling such as lake2/ is not inside lake/.
      allowedDirs: [snapshots.root, path.join(ctx.dataDir, 'lake')].map((d) => `${d}${path.sep}`),
    },
    { timeoutMs, memoryMb },
    ctx.dataDir,
  );
  app.addHook('onClose', async () => {
    await sandbox.close();
    snapshots.remove();
  });
  app.post<{ Body: { sql: string } }>(
    '/v1/query',
    {
      schema: {
        summary: `Run one read-only SELECT (tables: ${READABLE_TABLES.join(', ')}); needs server.query_sql`,
        tags: ['sql'],
        body: {
          type: 'object',
          properties: { sql: { type: 'string', minLength: 1, maxLength: 100_000 } },
          required: ['sql'],
          additionalProperties: false,
        },
        response: {
          200: {
            type: 'object',
            properties: {
              columns: { type: 'array', items: { type: 'string' } },
              rows: { type: 'array', items: { type: 'object', additionalProperties: true } },
              truncated: { type: 'boolean' },
            },
          },
        },
      },
    },
    async (req) => {
      if (!enabled) throw new AdpipeError('ADP_ERR_SQL_OFF');
      const { sql } = req.body;
      return sandbox.run(sql, maxRows, async () =>
        snapshots.viewsFor(await readers.use((wh) => readableTablesOf(wh.conn, sql))),
      );
    },
  );
}
