// The one HTTP server: collector, query API and dashboard are plugins on it (src/server/plugins.ts).

import querystring from 'node:querystring';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import { AdpipeError } from '../errors.js';
import { logDestination, logger } from '../logger.js';
import { trustFunction } from './client-address.js';
import { type CollectorContext, publishing, type ServerContext, type ServerOptions } from './context.js';
import { errorReply } from './error-body.js';
import { collectorPluginModules, pluginModules } from './plugins.js';
import { Readiness } from './readiness.js';

/** A URL with the value of every `key` parameter (as the query parser decodes names) replaced. */
export function redactKeys(url: string): string {
  const q = url.indexOf('?');
  if (q < 0 || !url.includes('=', q)) return url;
  const params = url.slice(q + 1).split('&');
  for (let i = 0; i < params.length; i++) {
    const p = params[i]!;
    const eq = p.indexOf('=');
    if (eq >= 0 && querystring.unescape(p.slice(0, eq).replace(/\+/g, ' ')) === 'key')
      params[i] = `${p.slice(0, eq)}=[redacted]`;
  }
  return `${url.slice(0, q + 1)}${params.join('&')}`;
}

/** Fastify's request serializer, but keys in a URL (pixels, the live stream) never reach the logs. */
const serializers = {
  req: (req: FastifyRequest) => ({
    method: req.method,
    url: redactKeys(req.url),
    host: req.host,
    remoteAddress: req.ip,
    remotePort: req.socket?.remotePort,
  }),
};

/** The full server, or only the collector, health and metrics when it publishes to a broker. */
export async function buildServer(options: ServerOptions): Promise<FastifyInstance> {
  const ctx: CollectorContext = { ...options, readiness: new Readiness() };
  const app = Fastify({
    loggerInstance: logger.child({ component: 'server' }, { serializers }) as unknown as FastifyBaseLogger,
    bodyLimit: ctx.config.server.body_limit,
    // request.ip: the client a trusted proxy forwarded, or the socket's peer.
    trustProxy: trustFunction(ctx.config.server.trust_proxy),
  });
  app.setErrorHandler((err, req, reply) => {
    const { status, body, retryAfterSeconds } = errorReply(err, req.id);
    // The details (path, SQL, stack) only here, under the request id the body names.
    if (status >= 500) req.log.error({ err }, 'request failed');
    else if (status === 499) req.log.info('client left; its read was cancelled');
    else if (body.error.message !== (err as Error).message) req.log.warn({ err }, 'request rejected');
    if (retryAfterSeconds !== undefined) reply.header('retry-after', String(retryAfterSeconds));
    return reply.status(status).send(body);
  });
  // Fastify's own 404 logs the URL as it came, keys and all.
  // An unknown route answers in the same shape as every other error, so clients parse one shape.
  app.setNotFoundHandler((req, reply) => {
    const { status, body } = errorReply(
      new AdpipeError('ADP_ERR_HTTP_NOT_FOUND', [req.method, redactKeys(req.url)]),
      req.id,
    );
    return reply.status(status).send(body);
  });
  // A log that cannot be written is a problem to see on /readyz (its lines are dropped meanwhile).
  const unwatch = logDestination.watch((problem) =>
    problem ? ctx.readiness.fail('log', problem) : ctx.readiness.clear('log'),
  );
  app.addHook('onClose', async () => {
    unwatch();
  });
  if (publishing(ctx))
    for (const load of collectorPluginModules) await app.register((await load()).default, { ctx });
  else
    for (const load of pluginModules)
      await app.register((await load()).default, { ctx: ctx as ServerContext });
  return app;
}
