// The one HTTP server: collector, query API and dashboard are plugins on it (src/server/plugins.ts).

import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { logger } from '../logger.js';
import type { ServerContext, ServerOptions } from './context.js';
import { errorReply } from './error-body.js';
import { pluginModules } from './plugins.js';
import { Readiness } from './readiness.js';

export async function buildServer(options: ServerOptions): Promise<FastifyInstance> {
  const ctx: ServerContext = { ...options, readiness: new Readiness() };
  const app = Fastify({
    loggerInstance: logger.child({ component: 'server' }) as unknown as FastifyBaseLogger,
    bodyLimit: ctx.config.server.body_limit,
  });
  app.setErrorHandler((err, req, reply) => {
    const { status, body } = errorReply(err, req.id);
    // The details (path, SQL, stack) only here, under the request id the body names.
    if (status >= 500) req.log.error({ err }, 'request failed');
    else if (status === 499) req.log.info('client left; its read was cancelled');
    else if (body.error.message !== (err as Error).message) req.log.warn({ err }, 'request rejected');
    return reply.status(status).send(body);
  });
  for (const load of pluginModules) await app.register((await load()).default, { ctx });
  return app;
}
