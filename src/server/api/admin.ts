// /v1/admin: what `adpipe verify` and `adpipe sink status|sync|verify` do, for those commands run
// beside this server (it holds the data dir, so they ask it; src/cli/remote.ts). Each runs on its
// own forked connection. An admin key is needed (a read key while none is configured), and an
// error answers with its full message: the admin is the operator, who sees the log anyway.

import type { FastifyInstance } from 'fastify';
import { sinkStatuses, syncSinks, verify, verifySinkNamed } from '../../admin/operations.js';
import { AdpipeError } from '../../errors.js';
import type { Warehouse } from '../../warehouse/warehouse.js';
import type { ServerContext } from '../context.js';
import { requireAdmin } from './access.js';

const nameParam = { name: { type: 'string', minLength: 1 } };

export async function adminRoutes(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  const forked = async <T>(fn: (wh: Warehouse) => Promise<T>): Promise<T> => {
    const wh = await ctx.warehouse.fork();
    try {
      return await fn(wh);
    } finally {
      wh.close();
    }
  };
  await app.register(async (admin) => {
    admin.addHook('preHandler', requireAdmin(ctx));
    admin.setErrorHandler((err, req, reply) => {
      if (!(err instanceof AdpipeError) || err.status < 500) throw err;
      req.log.error({ err }, 'admin request failed');
      return reply.status(err.status).send({
        error: { code: err.code, message: err.message, request_id: req.id },
      });
    });

    admin.post(
      '/v1/admin/verify',
      {
        schema: {
          summary: 'adpipe verify: recompute every report from the lake and compare',
          tags: ['admin'],
        },
      },
      async () => forked(verify),
    );
    admin.get<{ Querystring: { name?: string } }>(
      '/v1/admin/sinks',
      {
        schema: {
          summary: "adpipe sink status: each sink table's watermark, lag and age",
          tags: ['admin'],
          querystring: { type: 'object', properties: nameParam, additionalProperties: false },
        },
      },
      async (req) => forked((wh) => sinkStatuses(wh, ctx.config, req.query.name)),
    );
    admin.post<{ Querystring: { name?: string; attempts?: number } }>(
      '/v1/admin/sinks/sync',
      {
        schema: {
          summary: 'adpipe sink sync: apply every batch a sink has not seen',
          tags: ['admin'],
          querystring: {
            type: 'object',
            properties: { ...nameParam, attempts: { type: 'integer', minimum: 1, maximum: 10 } },
            additionalProperties: false,
          },
        },
      },
      async (req) => forked((wh) => syncSinks(wh, ctx.config, req.query.name, req.query.attempts ?? 4)),
    );
    admin.post<{ Querystring: { name: string } }>(
      '/v1/admin/sinks/verify',
      {
        schema: {
          summary: 'adpipe sink verify: compare a sink with the embedded reports',
          tags: ['admin'],
          querystring: {
            type: 'object',
            properties: nameParam,
            required: ['name'],
            additionalProperties: false,
          },
        },
      },
      async (req) => forked((wh) => verifySinkNamed(wh, ctx.config, req.query.name)),
    );
  });
}
