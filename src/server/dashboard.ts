// The dashboard: the single-page app built into web/dist, served at / so it works offline. The
// bundle holds no data (the API behind it checks keys), so it is served without a key.

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync } from 'fastify';
import type { ServerContext } from './context.js';

/** web/dist from both src/server (tests) and dist/server (the built package). */
export const WEB_DIST = fileURLToPath(new URL('../../web/dist/', import.meta.url));

const dashboard: FastifyPluginAsync<{ ctx: ServerContext }> = async (app) => {
  if (!existsSync(WEB_DIST)) {
    app.get('/', { schema: { hide: true } }, async (_req, reply) =>
      reply
        .status(503)
        .type('text/plain')
        .send('The dashboard is not built: run `npm run build:web` (the API is at /v1, see /openapi.json).'),
    );
    return;
  }
  await app.register(fastifyStatic, { root: WEB_DIST, prefix: '/', schemaHide: true });
};

export default dashboard;
