// The OpenAPI document at /openapi.json, generated from every route's JSON schema. Registered first
// and outside encapsulation, so its onRoute hook sees the routes of every plugin after it.

import swagger from '@fastify/swagger';
import type { FastifyPluginAsync } from 'fastify';
import type { ServerContext } from '../context.js';

const openapi: FastifyPluginAsync<{ ctx: ServerContext }> = async (app) => {
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'adpipe',
        version: '1',
        description: 'Collector, query API and dashboard of adpipe. See docs/api.md.',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'A read key for the query API' },
        },
      },
    },
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
};

// What fastify-plugin does: register into the parent scope instead of a child one.
(openapi as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;

export default openapi;
