// POST /v1/query: one read-only SELECT over the lake and the reports, off unless server.query_sql.
// POST /v1/admin/query: the same for `adpipe query` beside a running server (an admin key; on
// whatever server.query_sql says, with the command's own row and time limits).

import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { AdpipeError } from '../../errors.js';
import { duckdbMemoryLimit, QuerySandbox } from '../../query/query-sandbox.js';
import { READABLE_TABLES, readableTablesOf } from '../../query/read-only-sql.js';
import type { ServerContext } from '../context.js';
import { requireAdmin } from './access.js';
import { QuerySnapshots } from './query-snapshots.js';
import type { ReaderPool } from './readers.js';

export async function sqlRoutes(app: FastifyInstance, ctx: ServerContext, readers: ReaderPool) {
  const {
    query_sql: enabled,
    query_timeout_ms: timeoutMs,
    query_max_rows: maxRows,
    query_memory_mb: memoryMb,
    query_threads: threads,
    query_max_queued: maxQueued,
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
    { timeoutMs, memoryMb, maxQueued },
    ctx.dataDir,
  );
  app.addHook('onClose', async () => {
    await sandbox.close();
    snapshots.remove();
  });
  const resultSchema = {
    type: 'object',
    properties: {
      columns: { type: 'array', items: { type: 'string' } },
      rows: { type: 'array', items: { type: 'object', additionalProperties: true } },
      truncated: { type: 'boolean' },
    },
  };
  const sql = { type: 'string', minLength: 1, maxLength: 100_000 };
  const run = (text: string, rows: number, timeout?: number) =>
    sandbox.run(
      text,
      rows,
      async () => snapshots.viewsFor(await readers.use((wh) => readableTablesOf(wh.conn, text))),
      timeout,
    );
  app.post<{ Body: { sql: string } }>(
    '/v1/query',
    {
      schema: {
        summary: `Run one read-only SELECT (tables: ${READABLE_TABLES.join(', ')}); needs server.query_sql`,
        tags: ['sql'],
        body: { type: 'object', properties: { sql }, required: ['sql'], additionalProperties: false },
        response: { 200: resultSchema },
      },
    },
    async (req) => {
      if (!enabled) throw new AdpipeError('ADP_ERR_QUERY_SQL_OFF');
      return run(req.body.sql, maxRows);
    },
  );
  app.post<{ Body: { sql: string; max_rows?: number; timeout_ms?: number } }>(
    '/v1/admin/query',
    {
      preHandler: requireAdmin(ctx),
      schema: {
        summary: 'Run one read-only SELECT as `adpipe query` does beside a server; needs an admin key',
        tags: ['admin'],
        body: {
          type: 'object',
          properties: {
            sql,
            max_rows: { type: 'integer', minimum: 1 },
            timeout_ms: { type: 'integer', minimum: 1 },
          },
          required: ['sql'],
          additionalProperties: false,
        },
        response: { 200: resultSchema },
      },
    },
    async (req) => run(req.body.sql, req.body.max_rows ?? maxRows, req.body.timeout_ms ?? timeoutMs),
  );
}
