// The one HTTP server: collector, query API and dashboard are plugins on it (src/server/plugins.ts).

import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { AdpipeError } from '../errors.js';
import { logDestination, logger } from '../logger.js';
import type { ServerContext, ServerOptions } from './context.js';
import { pluginModules } from './plugins.js';
import { Readiness } from './readiness.js';

export async function buildServer(options: ServerOptions): Promise<FastifyInstance> {
  const ctx: ServerContext = { ...options, readiness: new Readiness() };
  const app = Fastify({
    loggerInstance: logger.child({ component: 'server' }) as unknown as FastifyBaseLogger,
    bodyLimit: ctx.config.server.body_limit,
  });
  app.setErrorHandler((err, _req, reply) => {
    if (err instanceof AdpipeError) {
      if (err.retryAfterSeconds !== undefined) reply.header('retry-after', String(err.retryAfterSeconds));
      return reply.status(err.status).send(err.toJSON());
    }
    const e = err as { statusCode?: number; message?: string };
    const status = e.statusCode ?? 500;
    if (status >= 500) app.log.error({ err }, 'request failed');
    const code =
      status === 413 ? 'ADP_ERR_TOO_LARGE' : status >= 500 ? 'ADP_ERR_INTERNAL' : 'ADP_ERR_BAD_PARAM';
    return reply.status(status).send({ error: { code, message: e.message ?? 'error' } });
  });
  // A log that cannot be written is a problem to see on /readyz (its lines are dropped meanwhile).
  const unwatch = logDestination.watch((problem) =>
    problem ? ctx.readiness.fail('log', problem) : ctx.readiness.clear('log'),
  );
  app.addHook('onClose', async () => {
    unwatch();
  });
  for (const load of pluginModules) await app.register((await load()).default, { ctx });
  return app;
}
