import type { FastifyPluginAsync } from 'fastify';
import type { CollectorContext } from './context.js';

/** Liveness: the process answers. Readiness checks live with the components they concern. */
const health: FastifyPluginAsync<{ ctx: CollectorContext }> = async (app) => {
  app.get('/healthz', async () => ({ ok: true }));
};

export default health;
